"""Worker scaling of twophase against plain spaCy, on one synthetic French corpus, in one run.

Prints words/s of each phase and of `all` with 1 and N workers, the speedup over 1 worker,
the ratio of `all` with N workers to plain single-process `nlp.pipe` (full default pipeline,
and the reduced pipeline detect uses) on the same texts, peak memory (RSS and PSS) of each
run's whole process tree, render against a plain copy of the same files, and fork-after-load
against a pool whose initializer loads the model. Every figure docs/performance.md records
comes out of this script, with the load average at the time.

Run: .venv/bin/python bench/scaling.py            (200 documents of ~2,000 words, ~9 min
                                                   on 2 cores with fr_core_news_md)
     .venv/bin/python bench/scaling.py --docs 20 --words 500 --model fr_core_news_sm  (smoke)
     .venv/bin/python bench/scaling.py --corpus DIR  (your own .txt/.md documents)
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import multiprocessing.synchronize
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import measure
import psutil
import synth

PASSPHRASE = "bench passphrase, not a secret"
CLI = [sys.executable, "-m", "twophase.cli"]
HERE = Path(__file__).resolve()
STARTUP_MODES = (
    "fork-after-load",
    "fork-after-load-freeze",
    "fork-initializer",
    "spawn-initializer",
)


@dataclass(frozen=True, slots=True)
class Row:
    step: str
    workers: int | str
    seconds: float
    words: int
    run: measure.Run | None
    load: str
    note: str = ""

    @property
    def rate(self) -> float:
        return self.words / self.seconds if self.seconds else float("inf")


def corpus_texts(root: Path) -> list[str]:
    """The texts detect sees (decoded by twophase's own formats), in a fixed order."""
    from twophase.corpus import discover
    from twophase.formats import format_for

    sources, _ = discover([root])
    return [format_for(s.rel).extract(Path(s.path).read_bytes()) for s in sources]


# --- child processes: plain spaCy, and worker start-up modes ------------------------------------


def baseline(corpus: Path, model: str, pipeline: str) -> dict[str, Any]:
    """Plain single-process `nlp.pipe` on the corpus texts: the yardstick."""
    import spacy

    from twophase.detection.pipeline import components

    # "full" is the package's whole default pipeline whatever the profile ("MODEL:fast");
    # "reduced" is what detect runs with that profile.
    package, excluded = components(model)
    texts = corpus_texts(corpus)
    started = time.perf_counter()
    nlp = spacy.load(package, exclude=[] if pipeline == "full" else list(excluded))
    loaded = time.perf_counter()
    entities = sum(len(doc.ents) for doc in nlp.pipe(texts))
    done = time.perf_counter()
    return {
        "load": loaded - started,
        "pipe": done - loaded,
        "entities": entities,
        "pipes": nlp.pipe_names,
    }


_BARRIER: multiprocessing.synchronize.Barrier | None = None


def _init(barrier: multiprocessing.synchronize.Barrier, model: str | None) -> None:
    global _BARRIER
    _BARRIER = barrier
    if model is not None:
        from twophase.detection.worker import preload

        preload(model)


def _ready(_: int) -> int:
    # Every worker blocks here until all have arrived: the map returns once all are up.
    assert _BARRIER is not None
    _BARRIER.wait(timeout=600)
    return os.getpid()


def _detect_text(args: tuple[str, str]) -> int:
    from twophase.detection.worker import detector_for

    model, text = args
    (spans,) = detector_for(model).detect([text])
    return len(spans)


def startup(corpus: Path, model: str, mode: str, workers: int, docs: int) -> dict[str, Any]:
    """Start a pool of `workers` in `mode`, then detect `docs` documents on it.

    fork-after-load: the parent loads the model, then forks (what LocalExecutor does);
    fork-after-load-freeze: the same with gc.freeze() before the fork, so the workers' garbage
        collections never write to the pages of the inherited objects;
    fork-initializer: a fork pool whose initializer loads the model in each worker;
    spawn-initializer: the same with spawn (fresh interpreters, as Dask's nanny or Windows).
    """
    texts = corpus_texts(corpus)[:docs]
    me = psutil.Process()
    # No sampler thread here (forking with a thread holding a lock can hang the child):
    # the parent samples this whole tree.
    started = time.perf_counter()
    if mode.startswith("fork-after-load"):
        from twophase.detection.worker import preload

        preload(model)
        if mode.endswith("freeze"):
            gc.freeze()
    loaded = time.perf_counter()
    ctx = multiprocessing.get_context("spawn" if mode.startswith("spawn") else "fork")
    barrier = ctx.Barrier(workers)
    init_model = None if mode.startswith("fork-after-load") else model
    with ctx.Pool(workers, initializer=_init, initargs=(barrier, init_model)) as pool:
        pids = set(pool.map(_ready, range(workers), chunksize=1))
        ready = time.perf_counter()
        spans = sum(pool.map(_detect_text, [(model, t) for t in texts], chunksize=1))
        worked = time.perf_counter()
        children = [c for c in me.children() if c.pid in pids]
        worker_pss = [c.memory_full_info().pss for c in children]
        worker_uss = [c.memory_full_info().uss for c in children]
        parent_pss = me.memory_full_info().pss
    return {
        "parent_load": loaded - started,
        "workers_ready": ready - loaded,
        "to_ready": ready - started,
        "detect": worked - ready,
        "spans": spans,
        "worker_pss": worker_pss,
        "worker_uss": worker_uss,
        "parent_pss": parent_pss,
    }


# --- the run ---------------------------------------------------------------------------------


def _seconds(pattern: str, text: str) -> float:
    m = re.search(pattern, text)
    return float(m.group(1)) if m else float("nan")


def _copy(sources: list[tuple[Path, Path]], durable: str = "") -> float:
    """A copy of the same files: plain, or as durable as twophase writes.

    `durable`: "fsync" is the old `write_atomic` per file (temp file, fsync, rename);
    "batch" goes through `files.AtomicBatch` in batches of render's size, as render does.
    """
    from twophase.files import AtomicBatch

    started = time.perf_counter()
    batch = AtomicBatch()
    for src, dst in sources:
        data = src.read_bytes()
        dst.parent.mkdir(parents=True, exist_ok=True)
        if durable == "fsync":
            tmp = dst.with_name(f".{dst.name}.tmp")
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, dst)
        elif durable == "batch":
            batch.stage((dst, data, 0o644, True))
            if batch.full():
                assert not any(batch.commit())
        else:
            dst.write_bytes(data)
    assert not any(batch.commit())
    return time.perf_counter() - started


COPIES = {"copy": "", "copy_fsync": "fsync", "copy_batch": "batch"}


def render_vs_copy(work: Path, base: Path, repeats: int) -> dict[str, float]:
    """Best of `repeats` of each, interleaved: render (1 worker, in-process) and copies.

    Every render is a first render: the done-markers of the previous one are removed
    (otherwise each document would first read a marker that names another output folder).
    """
    from twophase.executors import LocalExecutor
    from twophase.rendering import render
    from twophase.sidecar import read_manifest

    sources = read_manifest(work)
    best = {"render": float("inf"), **{kind: float("inf") for kind in COPIES}}
    size = 0
    for i in range(repeats):
        for kind in best:
            out = base / f"{kind}-{i}"
            if kind == "render":
                shutil.rmtree(work / "rendered", ignore_errors=True)
                with LocalExecutor(1) as executor:
                    t = time.perf_counter()
                    result = render(work, out, executor=executor)
                    seconds = time.perf_counter() - t
                size = result.bytes
            else:
                pairs = [(Path(s.path), out / s.rel) for s in sources]
                seconds = _copy(pairs, COPIES[kind])
            best[kind] = min(best[kind], seconds)
            shutil.rmtree(out)
    return {**best, "bytes": float(size)}


def _print_render_vs_copy(rc: dict[str, float], repeats: int, load: str) -> None:
    mb = rc["bytes"] / 1e6
    print(
        f"  render vs plain copy, in-process, best of {repeats} (load {load}): "
        f"render {rc['render'] * 1e3:.0f} ms ({mb / rc['render']:.1f} MB/s), "
        f"copy {rc['copy'] * 1e3:.0f} ms ({mb / rc['copy']:.0f} MB/s), "
        f"copy+fsync+rename {rc['copy_fsync'] * 1e3:.0f} ms, "
        f"copy as durable as render {rc['copy_batch'] * 1e3:.0f} ms\n"
        f"  -> render/copy = {rc['render'] / rc['copy']:.2f} (target <= 2), "
        f"render/(copy+fsync) = {rc['render'] / rc['copy_fsync']:.2f}, "
        f"render/(copy as durable) = {rc['render'] / rc['copy_batch']:.2f}",
        flush=True,
    )


def _render_only(args: argparse.Namespace) -> int:
    work = args.render_workdir.resolve()
    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {measure.machine()}")
    with tempfile.TemporaryDirectory(prefix="twophase-bench-") as tmp:
        load = measure.load()
        rc = render_vs_copy(work, Path(tmp), args.render_repeats)
        _print_render_vs_copy(rc, args.render_repeats, load)
        print(f"  load after: {measure.load()}")
    if args.json:
        args.json.write_text(json.dumps({"render_vs_copy": rc}, indent=1))
    return 0


def _child(*args: str) -> list[str]:
    return [sys.executable, str(HERE), *args]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--docs", type=int, default=200, help="synthetic documents (default 200)")
    ap.add_argument("--words", type=int, default=2000, help="words per document (default 2000)")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--corpus", type=Path, help="use these documents instead of synthetic ones")
    ap.add_argument("--model", default="fr_core_news_md")
    ap.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 1))
    ap.add_argument("--startup-docs", type=int, default=8, help="documents per start-up mode")
    ap.add_argument(
        "--startup-modes",
        default="fork-after-load,fork-initializer,spawn-initializer",
        help=f"comma list of: {','.join(STARTUP_MODES)}",
    )
    ap.add_argument("--render-repeats", type=int, default=5)
    ap.add_argument(
        "--repeat", type=int, default=1, help="alternate the 1/N-worker runs R times, keep best"
    )
    ap.add_argument("--skip", default="", help="comma list of: baseline,phases,all,startup")
    ap.add_argument("--keep", type=Path, help="keep the corpus and outputs in this folder")
    ap.add_argument("--json", type=Path, help="also write every figure here")
    ap.add_argument(
        "--render-workdir",
        type=Path,
        help="only render against a plain copy, on this workdir (detect and assign done)",
    )
    # Internal: the measured child processes.
    ap.add_argument("--child", choices=("baseline", "startup"), help=argparse.SUPPRESS)
    ap.add_argument("--pipeline", default="full", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="fork-after-load", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child == "baseline":
        print(json.dumps(baseline(args.corpus, args.model, args.pipeline)))
        return 0
    if args.child == "startup":
        result = startup(args.corpus, args.model, args.mode, args.workers, args.startup_docs)
        print(json.dumps(result))
        return 0

    if args.render_workdir:
        return _render_only(args)
    skip = set(filter(None, args.skip.split(",")))
    base = args.keep or Path(tempfile.mkdtemp(prefix="twophase-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        return _run(args, base, skip)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


def _run(args: argparse.Namespace, base: Path, skip: set[str]) -> int:
    n = args.workers
    model = args.model
    print(f"# twophase scaling bench — {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {measure.machine()}")
    print(f"uptime load average at start: {measure.load()}")
    if args.corpus:
        corpus = args.corpus.resolve()
    else:
        corpus = base / "corpus"
        if not corpus.exists():
            synth.write_corpus(corpus, args.docs, args.words, args.seed)
    texts = corpus_texts(corpus)
    words = sum(len(t.split()) for t in texts)
    nbytes = sum(len(t.encode()) for t in texts)
    print(
        f"corpus: {corpus if args.corpus else 'synthetic'}, {len(texts)} documents, "
        f"{words:,} words, {nbytes / 1e6:.1f} MB; model {model}; N = {n} workers\n"
    )
    env = {"TWOPHASE_PASSPHRASE": PASSPHRASE}
    rows: list[Row] = []
    extra: dict[str, Any] = {}

    def record(row: Row) -> Row:
        rows.append(row)
        mem = row.run.memory() if row.run else ""
        cores = row.run.cpu / row.run.seconds if row.run else 0
        cpu = f"CPU {row.run.cpu:6.1f} s ({cores:.2f} cores)" if row.run else ""
        print(
            f"  {row.step:<16} w={row.workers!s:<2} {row.seconds:6.1f} s {row.rate:8,.0f} words/s"
            f"  {cpu}  {mem}  load {row.load}  {row.note}",
            flush=True,
        )
        return row

    # 1. Plain spaCy, one process: the yardstick.
    if "baseline" not in skip:
        print("plain spaCy nlp.pipe, one process (pipe time; load time in the note):")
        for pipeline in ("full", "reduced"):
            load = measure.load()
            r = measure.run(
                [
                    *_child("--child", "baseline", "--corpus", str(corpus), "--model", model),
                    *("--pipeline", pipeline),
                ]
            )
            b = json.loads(r.stdout)
            extra[f"baseline_{pipeline}"] = b
            note = f"load {b['load']:.1f} s, {b['entities']} ents, pipes {','.join(b['pipes'])}"
            record(Row(f"nlp.pipe {pipeline}", 1, b["pipe"], words, r, load, note))

    # 2. Each phase, 1 and N workers, through the CLI (wall time of the whole command).
    # With --repeat R, the 1- and N-worker runs alternate R times and the best of each
    # counts: a neighbour's burst of load then hits both sides, not one.
    work = {1: base / "work1", n: base / f"work{n}"}
    if "phases" not in skip:
        print("\nphases, `twophase CMD` wall time (process start and model load included):")
        for _ in range(args.repeat):
            for k in (1, n):
                shutil.rmtree(work[k], ignore_errors=True)
                load = measure.load()
                r = measure.run(
                    [
                        *(*CLI, "detect", corpus, "--workdir", work[k]),
                        *("--workers", str(k), "--model", model),
                    ],
                    env=env,
                )
                inner = _seconds(r"words in ([\d.]+) s", r.stderr)
                record(Row("detect", k, r.seconds, words, r, load, f"(library {inner:.1f} s)"))
        load = measure.load()
        vault = base / "vault-phases.db"
        r = measure.run([*CLI, "assign", "--workdir", work[1], "--vault", vault], env=env)
        inner = _seconds(r"entities in ([\d.]+) s", r.stderr)
        record(Row("assign", 1, r.seconds, words, r, load, f"(library {inner:.2f} s)"))
        shutil.copy(work[1] / "plan.msgpack", work[n] / "plan.msgpack")
        for k in (1, n):
            load = measure.load()
            r = measure.run(
                [
                    *(*CLI, "render", "--workdir", work[k]),
                    *("--out", base / f"out{k}", "--workers", str(k)),
                ],
                env=env,
            )
            inner = _seconds(r"written in ([\d.]+) s", r.stderr)
            record(Row("render", k, r.seconds, words, r, load, f"(library {inner:.2f} s)"))
        same = _tree(base / "out1") == _tree(base / f"out{n}")
        print(f"  render outputs with 1 and {n} workers byte-identical: {same}")
        load = measure.load()
        rc = render_vs_copy(work[1], base / "copies", args.render_repeats)
        extra["render_vs_copy"] = rc
        _print_render_vs_copy(rc, args.render_repeats, load)

    # 3. `all`, 1 and N workers, fresh vault each.
    if "all" not in skip:
        print("\n`twophase all`, wall time (process start, model load, KDF, 3 phases):")
        for _ in range(args.repeat):
            for k in (1, n):
                out = base / f"all-out{k}"
                shutil.rmtree(out, ignore_errors=True)
                (base / f"all-{k}.db").unlink(missing_ok=True)
                load = measure.load()
                r = measure.run(
                    [
                        *(*CLI, "all", corpus, "--out", out, "--vault", base / f"all-{k}.db"),
                        *("--workers", str(k), "--model", model),
                    ],
                    env=env,
                )
                d = _seconds(r"detect ([\d.]+) s", r.stderr)
                a = _seconds(r"assign ([\d.]+) s", r.stderr)
                s = _seconds(r"render ([\d.]+) s", r.stderr)
                note = f"(detect {d:.1f} s, assign {a:.2f} s, render {s:.2f} s)"
                record(Row("all", k, r.seconds, words, r, load, note))

    # 4. Worker start-up: fork after loading against an initializer that loads.
    if "startup" not in skip:
        print(f"\nworker start-up, {n} workers, then {args.startup_docs} documents detected:")
        for mode in args.startup_modes.split(","):
            load = measure.load()
            r = measure.run(
                [
                    *_child("--child", "startup", "--corpus", str(corpus), "--model", model),
                    *("--mode", mode, "--workers", str(n)),
                    *("--startup-docs", str(args.startup_docs)),
                ]
            )
            s = json.loads(r.stdout)
            extra[f"startup_{mode}"] = s
            mib = measure.MiB
            print(
                f"  {mode:<22} parent load {s['parent_load']:5.2f} s, workers ready "
                f"{s['workers_ready']:5.2f} s (total {s['to_ready']:5.2f} s), "
                f"detect {s['detect']:5.2f} s; PSS per worker "
                f"{'/'.join(f'{p / mib:.0f}' for p in s['worker_pss'])} MiB, parent "
                f"{s['parent_pss'] / mib:.0f} MiB, tree peak PSS {r.peak_pss / mib:.0f}"
                f" MiB (RSS {r.peak_rss / mib:.0f}); USS per worker "
                f"{'/'.join(f'{p / mib:.0f}' for p in s['worker_uss'])} MiB; load {load}",
                flush=True,
            )

    _summary(rows, extra, n)
    print(f"\nuptime load average at end: {measure.load()}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rows": [
                        {
                            "step": r.step,
                            "workers": r.workers,
                            "seconds": r.seconds,
                            "words": r.words,
                            "peak_pss": r.run.peak_pss if r.run else None,
                            "peak_rss": r.run.peak_rss if r.run else None,
                            "load": r.load,
                            "note": r.note,
                        }
                        for r in rows
                    ],
                    **extra,
                },
                indent=1,
            )
        )
    return 0


def _summary(rows: list[Row], extra: dict[str, Any], n: int) -> None:
    def get(step: str, workers: int | str) -> Row | None:
        """The best (shortest) run of `step` with `workers`."""
        runs = [r for r in rows if r.step == step and r.workers == workers]
        return min(runs, key=lambda r: r.seconds) if runs else None

    print("\nsummary (ratios within this run):")
    targets: list[tuple[str, Callable[[float], bool], float | None]] = []
    for step in ("detect", "render", "all"):
        one, many = get(step, 1), get(step, n)
        if one and many:
            speedup = one.seconds / many.seconds
            print(f"  {step}: speedup with {n} workers over 1 = {speedup:.2f}")
            if step == "detect":
                targets.append(("detect N/1 >= 1.85", lambda v: v >= 1.85, speedup))
            if one.run and many.run:
                print(
                    f"  {step}: CPU seconds with {n} workers / with 1 = "
                    f"{many.run.cpu / one.run.cpu:.2f} (the work parallelism adds); "
                    f"cores used {one.run.cpu / one.run.seconds:.2f} and "
                    f"{many.run.cpu / many.run.seconds:.2f} (of {n}: less means a busy machine)"
                )
                mem = many.run.peak_pss / one.run.peak_pss
                print(f"  {step}: peak PSS with {n} workers / with 1 = {mem:.2f}")
                if step in ("detect", "all"):
                    targets.append((f"{step} peak PSS N/1 < 1.5", lambda v: v < 1.5, mem))
    all_n = get("all", n)
    for pipeline in ("full", "reduced"):
        b = get(f"nlp.pipe {pipeline}", 1)
        if all_n and b:
            ratio = b.seconds / all_n.seconds
            load = extra[f"baseline_{pipeline}"]["load"]
            print(
                f"  all (N={n}, end to end) vs plain nlp.pipe {pipeline}: {ratio:.2f}x "
                f"(vs nlp.pipe + its model load: {(b.seconds + load) / all_n.seconds:.2f}x)"
            )
            if pipeline == "full":
                targets.append(("all N vs nlp.pipe full >= 2.2", lambda v: v >= 2.2, ratio))
    rc = extra.get("render_vs_copy")
    if rc:
        ratio = rc["render"] / rc["copy"]
        targets.append(("render <= 2 x plain copy", lambda v: v <= 2, ratio))
    if targets:
        print("\ntargets (issue 6):")
        for name, ok, value in targets:
            if value is not None:
                print(f"  {'MET ' if ok(value) else 'MISS'}  {name}: {value:.2f}")


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


if __name__ == "__main__":
    sys.exit(main())
