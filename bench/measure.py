"""Wall time and peak memory of a process tree, for the benchmarks.

A thread polls the process and all its descendants and keeps the peak of the summed RSS
(every ~50 ms) and of the summed PSS (proportional set size: shared pages, such as a model
inherited by fork, are counted once across the tree). PSS comes from /proc/PID/smaps_rollup,
whose cost grows with the mapped memory (tens of ms for a process of several GB), so it is
read as often as keeps the sampler under ~5% of one core, at least every 50 ms when cheap.
Invariant: on a 2-core machine the measuring thread must not steal a worker's core.
"""

from __future__ import annotations

import os
import resource
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
    cpu: float  # user + system seconds of the whole tree (every reaped descendant)
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

    def sample(self, pss: bool = True) -> None:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        rss_sum = pss_sum = 0
        for proc in procs:
            try:
                if pss:
                    info = proc.memory_full_info()
                    pss_sum += info.pss
                else:
                    info = proc.memory_info()
            except psutil.Error:  # exited between listing and reading
                continue
            rss_sum += info.rss
        self.peak_rss = max(self.peak_rss, rss_sum)
        self.peak_pss = max(self.peak_pss, pss_sum)
        self.peak_processes = max(self.peak_processes, len(procs))

    def _run(self) -> None:
        next_pss = 0.0
        while not self._stop.is_set():
            now = time.perf_counter()
            if now >= next_pss:
                self.sample(pss=True)
                cost = time.perf_counter() - now
                next_pss = now + max(self.interval, 20 * cost)  # <= ~5% of a core
            else:
                self.sample(pss=False)
            self._stop.wait(self.interval)


def run(
    argv: Sequence[str | Path], *, env: dict[str, str] | None = None, check: bool = True
) -> Run:
    """Run `argv`, timing it and sampling its process tree's memory."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if check and proc.returncode != 0:
        sys.stderr.write(stderr)
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(map(str, argv))}")
    return Run(
        seconds,
        cpu,
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
