"""Load recipe (issue 7): a batch of many small documents runs to the end with bounded memory.

Generates N small documents (default 20,000 of ~60 words, bench/synth.py), runs
`twophase all` on them, and samples every process of the run once a second. It prints the
workers' RSS at each tenth of the detect phase: flat means no growth per document (what
grows with the batch is the parent's list of per-document results and assign's index,
both by design). Run on a quiet machine: `.venv/bin/python bench/load.py`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import write_corpus

MiB = 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--words", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--model", default="fr_core_news_sm")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="twophase-load-") as tmp:
        root = Path(tmp)
        words = write_corpus(root / "corpus", args.docs, args.words)
        env = {**os.environ, "TWOPHASE_PASSPHRASE": "load"}
        cmd = [
            sys.executable,
            "-m",
            "twophase.cli",
            "all",
            str(root / "corpus"),
            "--out",
            str(root / "out"),
            "--vault",
            str(root / "v.db"),
            "--workers",
            str(args.workers),
            "--model",
            args.model,
        ]
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
        samples: list[tuple[float, int, list[int]]] = []  # (t, parent RSS, worker RSS)
        stop = threading.Event()

        def sample() -> None:
            parent = psutil.Process(proc.pid)
            while not stop.is_set():
                try:
                    children = parent.children(recursive=True)
                    rss = [c.memory_info().rss for c in children]
                    samples.append((time.perf_counter() - started, parent.memory_info().rss, rss))
                except psutil.Error:
                    pass
                stop.wait(1.0)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        _, stderr = proc.communicate()
        stop.set()
        thread.join()
        seconds = time.perf_counter() - started
        outputs = sum(1 for p in (root / "out").rglob("*.txt"))
    print(
        f"{args.docs} documents, {words} words, {args.workers} workers, {args.model}: "
        f"exit {proc.returncode}, {outputs} outputs, {seconds:.0f} s "
        f"({words / seconds:,.0f} words/s)"
    )
    print(stderr.strip().splitlines()[-1] if stderr.strip() else "")
    busy = [s for s in samples if len(s[2]) >= args.workers]
    if busy:
        print("t (s)   parent RSS   worker RSS (MiB)")
        for k in range(10):
            t, parent, workers = busy[min(len(busy) - 1, k * len(busy) // 10)]
            print(
                f"{t:6.0f}   {parent / MiB:8.0f}   " + "  ".join(f"{w / MiB:6.0f}" for w in workers)
            )
        # From a quarter in (the model is warm) to three quarters: inside detect, before
        # render's workers load the plan's propagation automaton.
        first = busy[len(busy) // 4][2]
        last = busy[3 * len(busy) // 4][2]
        growth = max(b - a for a, b in zip(first, last, strict=False)) / MiB
        print(f"worker RSS growth from 25% to 75% of the run: {growth:+.1f} MiB")
    peak = max((p + sum(w) for _, p, w in samples), default=0)
    print(f"peak RSS of the process tree: {peak / MiB:,.0f} MiB")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
