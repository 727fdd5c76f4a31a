"""Wall time and peak memory of a process tree, for the benchmarks.

A thread polls the process and all its descendants every ~50 ms and keeps the peak of the
summed RSS and of the summed PSS (proportional set size: shared pages, such as a model
inherited by fork, are counted once across the tree). Invariant: measuring never changes
what is measured beyond the cost of reading /proc.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    peak_rss: int
    peak_pss: int
    peak_processes: int
    returncode: int
    stdout: str
    stderr: str

    def memory(self) -> str:
        return f"peak PSS {self.peak_pss / MiB:,.0f} MiB, RSS {self.peak_rss / MiB:,.0f} MiB"


class TreeSampler:
    """Peak RSS and PSS of `pid` and its descendants, polled in a thread."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        rss = pss = 0
        for proc in procs:
            try:
                info = proc.memory_full_info()
            except psutil.Error:  # exited between listing and reading
                continue
            rss += info.rss
            pss += info.pss
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_processes = max(self.peak_processes, len(procs))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)


def run(
    argv: Sequence[str | Path], *, env: dict[str, str] | None = None, check: bool = True
) -> Run:
    """Run `argv`, timing it and sampling its process tree's memory."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(a) for a in argv],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with TreeSampler(proc.pid) as sampler:
        stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - started
    if check and proc.returncode != 0:
        sys.stderr.write(stderr)
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(map(str, argv))}")
    return Run(
        seconds,
        sampler.peak_rss,
        sampler.peak_pss,
        sampler.peak_processes,
        proc.returncode,
        stdout,
        stderr,
    )


def load() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` shows them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} CPUs ({cpu}), {mem:.1f} GiB RAM, Python {sys.version.split()[0]}"
