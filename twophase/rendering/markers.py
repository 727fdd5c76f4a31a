"""Render's done-markers: which outputs an earlier run of the same plan wrote whole.

Invariant: a marker is renamed before the outputs it vouches for, and vouches for an output
only while the output's bytes hash to its receipt's `output_sha256`; so a resumed render
redoes no finished output and trusts no missing or changed one.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgpack

from twophase.files import sha256_hex, sweep_folder
from twophase.rendering.receipt import Done, Receipt

# Done-markers live in the private workdir (receipts hold original surfaces): one per
# flushed batch of outputs, naming the plan and the folder they were rendered for, with
# each output's receipt, which holds its hash. One per batch, not per output: a file
# created costs ~100 us of system time here, and a marker per output was ~45% of render's
# time for small documents (docs/performance.md, "render at scale").
_MARKER = "twophase.rendered/2"
_MARKERS = "rendered"


def folder(workdir: Path) -> Path:
    return workdir / _MARKERS


def marker_path(workdir: Path, out: Path, plan_sha256: str, documents: list[str]) -> Path:
    """The same batch of the same plan into the same folder: the same marker, replaced."""
    key = "\0".join([plan_sha256, str(out), *documents]).encode("utf-8", "surrogatepass")
    return folder(workdir) / f"{sha256_hex(key)}.msgpack"


def marker_record(out: Path, plan_sha256: str, done: list[Done]) -> bytes:
    record = {
        "schema": _MARKER,
        "plan": plan_sha256,
        "out": str(out),
        "documents": [
            [[getattr(r, f) for f in Receipt.__dataclass_fields__], size, leaks]
            for r, size, leaks in done
        ],
    }
    return bytes(msgpack.packb(record, use_bin_type=True))


def previous_results(workdir: Path, out: Path, plan_sha256: str) -> dict[str, list[Done]]:
    """What earlier runs of this plan wrote into `out`, by document, from the done-markers.

    Markers of another plan or an older schema are removed: no run can use them again, and
    they hold original surfaces. So are the temporaries of markers whose writer is gone.
    """
    markers = folder(workdir)
    found: dict[str, list[Done]] = {}
    sweep_folder(markers)
    try:
        entries = list(os.scandir(markers))
    except OSError:
        return found
    for entry in entries:
        if entry.name.startswith(".") or not entry.name.endswith(".msgpack"):
            continue
        try:
            record = msgpack.unpackb(Path(entry.path).read_bytes(), raw=False)
            if record["schema"] != _MARKER or record["plan"] != plan_sha256:
                os.unlink(entry.path)
                continue
            if record["out"] != str(out):
                continue
            for fields, size, leaks in record["documents"]:
                doc, sha, reps, originals, source, encoding, bom = fields
                receipt = Receipt(
                    doc,
                    sha,
                    tuple(tuple(r) for r in reps),
                    tuple(originals),
                    source,
                    encoding,
                    bytes(bom),
                )
                found.setdefault(doc, []).append((receipt, int(size), int(leaks)))
        except (OSError, ValueError, TypeError, KeyError, msgpack.UnpackException):
            continue  # unreadable: its documents are rendered again
    return found


def reuse(out: Path, rel: str, previous: tuple[Done, ...]) -> Done | None:
    """A stored result of `rel` whose output is still there, whole (its hash is in the
    receipt), else None."""
    if not previous:
        return None
    try:
        digest = sha256_hex((out / rel).read_bytes())
    except OSError:
        return None
    return next((d for d in previous if d[0].output_sha256 == digest), None)
