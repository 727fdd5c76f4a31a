"""Render at scale: the plan of a large assign, against documents that match its sidecars.

Render's cost per document is measured by bench/scaling.py on a few hundred documents;
what it does not show is the cost that grows with the plan: every render worker looks for
every known surface of the batch (the plan's variants, ~3.3 million at a million entities),
so the plan is read and its automaton built before the first document is written.

This bench takes a workdir that `bench/assign_scale.py --workdir DIR` filled (sidecars and
plan.msgpack), writes each document's text as its sidecar describes it (its mentions at
their offsets, 40 characters of prose between), copies the plan with each document's real
hash, then runs `twophase render` in a child process with 1 and N workers and prints wall
time, CPU of the process tree, peak memory (PSS counts pages shared by fork once), and a
plain copy of the same files. The documents and the plan copy are made once per workdir.

Run: .venv/bin/python bench/assign_scale.py --docs 20000 --entities 200000 --workdir /tmp/as200k-all
     .venv/bin/python bench/render_scale.py --workdir /tmp/as200k-all
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import time
from pathlib import Path

import measure
import msgpack

from twophase.corpus import Source
from twophase.files import sha256_hex
from twophase.sidecar import PLAN_SCHEMA, iter_sidecar_rows, read_manifest, write_manifest

# What sits between two mentions: assign_scale.py places them 40 characters apart.
_PROSE = " " + ("dossier suivi et transmis ce jour par " * 2)[:38] + " "
_STAMP = "render-stamp"


def prepare(workdir: Path, render_dir: Path) -> tuple[int, int]:
    """Documents under render_dir/docs and a workdir at render_dir/work whose plan names
    their hashes; (documents, bytes). Reused when made from this very plan."""
    plan_path = workdir / "plan.msgpack"
    stamp = f"{plan_path.stat().st_size}:{plan_path.stat().st_mtime_ns}"
    if (render_dir / _STAMP).exists() and (render_dir / _STAMP).read_text() == stamp:
        docs = sorted((render_dir / "docs").rglob("*.txt"))
        return len(docs), sum(p.stat().st_size for p in docs)
    shutil.rmtree(render_dir, ignore_errors=True)
    docs_dir, work = render_dir / "docs", render_dir / "work"
    sources = read_manifest(workdir)
    hashes: dict[str, str] = {}
    written = 0
    new_sources = []
    for source, rows in zip(sources, iter_sidecar_rows(workdir, sources), strict=True):
        if rows is None:
            continue
        parts, pos = [], 0
        for start, _, _, text in rows.spans:
            parts.append(_PROSE[: start - pos] if start > pos else "")
            parts.append(text)
            pos = start + len(text)
        data = ("".join(parts) + ".\n").encode()
        path = docs_dir / source.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written += len(data)
        hashes[source.rel] = sha256_hex(data)
        new_sources.append(Source(source.rel, str(docs_dir), str(path)))
    work.mkdir(parents=True)
    write_manifest(work, new_sources)
    plan = msgpack.unpackb(plan_path.read_bytes(), raw=False)
    assert plan["schema"] == PLAN_SCHEMA
    plan["documents"] = [[rel, hashes[rel], reps] for rel, _, reps in plan["documents"]]
    (work / "plan.msgpack").write_bytes(msgpack.packb(plan, use_bin_type=True))
    (render_dir / _STAMP).write_text(stamp)
    return len(new_sources), written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--workdir", type=Path, required=True, help="an assign_scale.py workdir")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args(argv)

    print(f"# twophase render-at-scale bench — {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {measure.machine()}")
    render_dir = args.workdir / "render"
    started = time.perf_counter()
    count, size = prepare(args.workdir, render_dir)
    plan = render_dir / "work" / "plan.msgpack"
    made = time.perf_counter() - started
    print(
        f"{count:,} documents, {size / measure.MiB:,.1f} MiB; plan "
        f"{plan.stat().st_size / measure.MiB:,.0f} MiB (made in {made:.0f} s, not timed below)"
    )
    twophase = Path(sys.executable).parent / "twophase"
    for workers in args.workers:
        out = render_dir / "out"
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(render_dir / "work" / "rendered", ignore_errors=True)  # done-markers
        load = measure.load()
        command = [twophase, "render", "--workdir", render_dir / "work", "--out", out]
        run = measure.run([*command, "--workers", str(workers)])
        print(
            f"render, {workers} worker(s): {run.seconds:.1f} s wall, {run.cpu:.1f} s CPU, "
            f"{size / measure.MiB / run.seconds:.1f} MiB/s, {run.memory()}; load {load}"
        )
    out = render_dir / "copy"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    for path in sorted((render_dir / "docs").rglob("*.txt")):
        target = out / path.relative_to(render_dir / "docs")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    seconds = time.perf_counter() - started
    print(f"plain copy of the same files: {seconds:.1f} s")
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
