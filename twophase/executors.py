"""Where detect and render run their per-document work: in-process, a local process pool,
or (optional extra) a Dask cluster.

Invariant: an executor only runs pure per-chunk functions whose results are returned to
the caller; no executor ever sees a key or the vault.
"""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.pool
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

from twophase.errors import UsageError

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    workers: int

    def preload_model(self, model: str) -> None:
        """Have every worker hold the detection model before the first task."""
        ...

    def start(self) -> None: ...

    def inherits(self) -> bool:
        """Whether work submitted from now on runs in this process or in workers forked
        from it later, and so sees what this process holds in memory then."""
        ...

    def map_unordered(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """Results as they come; stopping early (an exception, Ctrl-C) cancels the rest."""
        ...

    def terminate(self) -> None:
        """Stop now, dropping work not done yet (a run that failed or was interrupted)."""
        ...

    def close(self) -> None: ...


class LocalExecutor:
    """A fork-based process pool, started once per run after the parent loaded the model.

    Measured: fork-after-load starts a worker in 0.02 s instead of ~3 s and shares the
    model's pages between workers. `all` starts the pool before the vault is opened, so no
    worker's memory ever held a key.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool: multiprocessing.pool.Pool | None = None

    @property
    def started(self) -> bool:
        return self._pool is not None or self.workers == 1

    def preload_model(self, model: str) -> None:
        """Load in this process before the fork, so the workers share the model's pages.

        With one worker the work runs in-process and loads the model on first use.
        """
        if self.workers > 1 and not self.started:
            from twophase.detection.worker import preload

            preload(model)

    def inherits(self) -> bool:
        return self._pool is None  # one worker runs in this process; else not forked yet

    def start(self) -> None:
        if not self.started:
            # What the workers inherit (a model, render's matcher: millions of objects)
            # is frozen first, so their collector never walks it: walking writes to every
            # object's header, which copies the pages the fork shared (measured: render
            # with 2 workers used 1.9 times the CPU of 1, docs/performance.md).
            gc.freeze()
            try:
                context = multiprocessing.get_context("fork")
                self._pool = context.Pool(self.workers, initializer=_leave_signals_to_parent)
            finally:
                gc.unfreeze()

    def map_unordered(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        if self.workers == 1 or len(items) <= 1:
            yield from map(fn, items)
            return
        self.start()
        assert self._pool is not None
        try:
            yield from self._pool.imap_unordered(fn, items)
        except BaseException:  # Ctrl-C, SIGTERM (cli.py), a failure, or the caller gave up
            # close() would wait for every task still queued, run by fresh workers if these
            # died (measured: a Ctrl-C'd `all` went on detecting); stop them now.
            self.terminate()
            raise

    def terminate(self) -> None:
        """Stop the workers now, dropping queued tasks (idempotent)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self.terminate()
        self.close()


def _leave_signals_to_parent() -> None:
    """Pool workers ignore Ctrl-C, which the terminal sends to the whole process group:
    the parent alone stops the run, and terminates the pool. A worker killed mid-task would
    be replaced and its result never come. SIGTERM kills a worker outright, whatever handler
    the parent installed before the fork."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def make_executor(spec: str | None, workers: int | None) -> Executor:
    """`local` (default), `dask-local`, `dask://HOST:PORT`, or `dask+tls://HOST:PORT`."""
    if spec in (None, "", "local"):
        return LocalExecutor(workers)
    if spec == "dask-local" or spec.startswith(("dask://", "dask+tls://")):
        from twophase.dask_executor import DaskExecutor

        executor: Executor = DaskExecutor(spec, workers)
        return executor
    raise UsageError(
        f"unknown executor {spec!r}: use local, dask-local, dask://HOST:PORT or "
        "dask+tls://HOST:PORT"
    )


# Guided chunks: no chunk above the larger bound, so progress moves and a crash
# loses little; none below the smaller one unless the batch is that small, so dispatch
# costs nothing beside the model (~25 KB of text a second per core with fr_core_news_md).
LARGEST_CHUNK = 4 * 1024 * 1024
SMALLEST_CHUNK = 32 * 1024


def guided_chunks(
    sizes: Sequence[int],
    workers: int,
    *,
    smallest: int = SMALLEST_CHUNK,
    largest: int = LARGEST_CHUNK,
) -> list[list[int]]:
    """Indices in chunks that shrink as the batch drains, largest documents first.

    Guided self-scheduling: each chunk takes about 1/(2 × workers) of the bytes still
    left, within [smallest, largest]. Workers pull chunks as they free up, so they finish
    within one small chunk of each other; with equal chunks (4 per worker, before), the
    last one could be an eighth of the batch, which one core then ran alone.
    """
    order = sorted(range(len(sizes)), key=lambda i: (-sizes[i], i))
    left = sum(max(1, sizes[i]) for i in order)
    share = 2 * max(1, workers)
    chunks: list[list[int]] = []
    chunk: list[int] = []
    load = 0
    target = min(largest, max(smallest, left // share))
    for i in order:
        chunk.append(i)
        load += max(1, sizes[i])
        if load >= target:
            chunks.append(chunk)
            left -= load
            chunk, load = [], 0
            target = min(largest, max(smallest, left // share))
    if chunk:
        chunks.append(chunk)
    return chunks
