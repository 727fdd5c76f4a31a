"""Where detect with N workers loses time against N times one: a timeline of one run.

Prints the parent's serial start in parts (import spaCy, load the model, warm the context
lexicons), then, for each worker, when it started its first task and ended its last, and
how long it was busy, timed with the system-wide monotonic clock inside the workers. The
idle core-seconds that remain are the serial start and the tail; the rest of what N
workers lose is CPU (compare `bench/scaling.py`'s "CPU seconds with N workers / with 1").
docs/performance.md ("Session 7" under "Scaling") quotes a run of it.

Run: .venv/bin/python bench/detect_timeline.py                (200 synthetic documents of
                                                                ~2,000 words, as scaling.py)
     .venv/bin/python bench/detect_timeline.py --corpus DIR --workers 2 --model NAME:fast
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import synth

_ORIGIN = 0.0  # when the serial start begins; forked workers inherit it
_LOG = ""  # the per-task log; forked workers inherit it


def _timed(task: Any) -> Any:
    from twophase.detection import worker

    started = time.monotonic()
    outcomes = worker.run_task(task)
    ended = time.monotonic()
    # One short line per task, appended with O_APPEND: whole lines, whatever the workers.
    line = f"{os.getpid()} {started - _ORIGIN:.3f} {ended - _ORIGIN:.3f} {len(task.sources)}\n"
    with open(_LOG, "a") as log:
        log.write(line)
    return outcomes


def main() -> int:
    global _LOG, _ORIGIN
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, help="documents to detect (default: synthetic)")
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--words", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--model", default="fr_core_news_md")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="twophase-timeline-"))
    try:
        corpus = args.corpus
        if corpus is None:
            corpus = base / "corpus"
            synth.write_corpus(corpus, args.docs, args.words, args.seed)
        _LOG = str(base / "tasks.log")
        import twophase.detection as detection
        from twophase.detection import worker
        from twophase.executors import LocalExecutor

        # From here on, what `twophase detect` does in its parent before the fork.
        imported = _ORIGIN = time.monotonic()
        import spacy  # noqa: F401  (timed apart: part of every start)

        spacy_imported = time.monotonic()
        executor = LocalExecutor(args.workers)
        worker.preload(args.model)  # what executor.preload_model does before a fork
        loaded = time.monotonic()
        detection.run_task = _timed
        result = detection.detect([corpus], base / "work", model=args.model, executor=executor)
        ended = time.monotonic()
    finally:
        rows = Path(_LOG).read_text().splitlines() if _LOG and Path(_LOG).exists() else []
        shutil.rmtree(base, ignore_errors=True)
    print(f"# detect timeline, {args.workers} workers, {args.model}, {time.strftime('%H:%M')}")
    print(f"command: {Path(sys.executable).name} {' '.join(sys.argv)}")
    print(f"documents {result.documents}, words {result.words}, failures {len(result.failures)}")
    print(
        f"serial start (time 0 below): import spaCy {spacy_imported - imported:.2f} s, "
        f"model and lexicons {loaded - spacy_imported:.2f} s (twophase was imported before)"
    )
    tasks: dict[str, list[tuple[float, float, int]]] = {}
    for row in rows:
        pid, start, end, docs = row.split()
        tasks.setdefault(pid, []).append((float(start), float(end), int(docs)))
    busy_all = 0.0
    for pid, spans in sorted(tasks.items()):
        spans.sort()
        busy = sum(end - start for start, end, _ in spans)
        busy_all += busy
        print(
            f"  worker {pid}: first task at {spans[0][0]:.2f} s, last ended at "
            f"{spans[-1][1]:.2f} s, busy {busy:.2f} s, {len(spans)} tasks, "
            f"{sum(d for *_, d in spans)} documents"
        )
    total = ended - _ORIGIN
    idle = args.workers * total - busy_all
    print(f"end at {total:.2f} s; idle core-seconds {idle:.2f} of {args.workers * total:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
