"""Which documents make up a batch, and under which relative name each is known.

A document is named by its path relative to the input root it was found under (a file
given directly is named by its file name); that name is its identity in sidecars, the plan
and the output tree. Invariant: the listing is sorted and never leaves an input root, so
a symlink pointing outside is reported, not followed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from twophase.errors import UsageError
from twophase.formats import SUFFIXES


@dataclass(frozen=True, slots=True, order=True)
class Source:
    """One input document: where it is, and the name it is known by."""

    rel: str
    root: str
    path: str


@dataclass(frozen=True, slots=True)
class Failure:
    """A document that could not be processed: path and reason, never content."""

    document: str
    reason: str


def discover(inputs: list[Path]) -> tuple[list[Source], list[Failure]]:
    """List the supported documents under `inputs`, sorted by relative name."""
    found: dict[str, Source] = {}
    failures: list[Failure] = []
    for given in inputs:
        if not given.exists() and not given.is_symlink():
            raise UsageError(f"input not found: {given}")
        try:
            root = given.resolve()
        except (OSError, RuntimeError) as exc:  # a symbolic link loop
            raise UsageError(f"input cannot be resolved (a link loop?): {given}") from exc
        if root.is_file():
            if (refused := _not_utf8(given.name)) is not None:
                failures.append(refused)
            else:
                _add(found, Source(given.name, str(root.parent), str(root)))
            continue
        if not root.is_dir():  # a FIFO or a device given by name: never opened
            failures.append(Failure(given.name, "not a regular file"))
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath, name)
                if path.suffix.lower() not in SUFFIXES:
                    continue
                rel = path.relative_to(root).as_posix()
                if (refused := _not_utf8(rel)) is not None:
                    failures.append(refused)
                    continue
                try:
                    target = path.resolve()
                except (OSError, RuntimeError):  # a link loop: one document, not the batch
                    failures.append(Failure(rel, "symbolic link loop"))
                    continue
                if path.is_symlink() and not target.is_relative_to(root):
                    failures.append(Failure(rel, "symbolic link leaving the input folder"))
                    continue
                if path.exists() and not path.is_file():
                    # A FIFO or device named *.txt would block or never end: never opened.
                    failures.append(Failure(rel, "not a regular file"))
                    continue
                _add(found, Source(rel, str(root), str(path)))
    return sorted(found.values()), failures


def _not_utf8(rel: str) -> Failure | None:
    """Sidecars, the plan and receipts name documents in UTF-8: a name that is not (bytes
    kept by surrogateescape) is one failed document, shown with those bytes escaped."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(rel).decode("utf-8", "backslashreplace")
        return Failure(shown, "file name is not UTF-8: rename it")
    return None


def _add(found: dict[str, Source], source: Source) -> None:
    if source.rel in found and found[source.rel].path != source.path:
        raise UsageError(
            f"two inputs both contain a document named {source.rel!r}; "
            "give them as separate runs or under one common folder"
        )
    found[source.rel] = source
