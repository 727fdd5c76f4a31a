"""Detect and render on a Dask cluster (`pip install 'twophase[dask]'`).

Assign stays one local process: it is the only holder of the key. Workers must see the
input, workdir and output paths (a shared file system), since tasks carry paths, not
documents; but they carry the --allow/--deny lists, and render's results carry the
original spans (receipts) back to the client: use `dask+tls://` on any real network.
Invariant: the same tasks as the local pool, so the same bytes come out.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from twophase.errors import UsageError

T = TypeVar("T")
R = TypeVar("R")


def _distributed() -> Any:
    return importlib.import_module("distributed")


class DaskExecutor:
    def __init__(self, spec: str, workers: int | None) -> None:
        try:
            dist = _distributed()
        except ImportError as exc:
            raise UsageError("Dask is not installed: pip install 'twophase[dask]'") from exc
        self._cluster: Any = None
        if spec == "dask-local":
            self._cluster = dist.LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self._client: Any = dist.Client(self._cluster)
        else:
            # Tasks and results cross the network (render's receipts carry original spans):
            # dask+tls:// encrypts it, with the certificates of Dask's own configuration.
            scheme, _, where = spec.partition("://")
            address = ("tls://" if scheme == "dask+tls" else "tcp://") + where
            try:
                self._client = dist.Client(address, timeout=30)
            except OSError as exc:
                raise UsageError(f"cannot reach the Dask scheduler at {address}") from exc
        self.workers = max(1, len(self._client.scheduler_info()["workers"]))

    def preload_model(self, model: str) -> None:
        """A worker plugin: each Dask worker loads the model once, now and on restart."""
        plugin_base: Any = importlib.import_module("distributed.diagnostics.plugin").WorkerPlugin

        class LoadModel(plugin_base):  # type: ignore[misc]
            name = f"twophase-model-{model}"

            def setup(self, worker: Any) -> None:
                from twophase.detection.worker import preload

                preload(model)

        self._client.register_plugin(LoadModel())

    def start(self) -> None:
        """Dask workers are started with the cluster."""

    def inherits(self) -> bool:
        return False  # other processes, maybe other machines

    def map_unordered(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        futures = self._client.map(fn, list(items), pure=False)
        try:
            for future in _distributed().as_completed(futures):
                yield future.result()
        except BaseException:  # the rest would run on the cluster for nobody
            self._client.cancel(futures)
            raise

    def terminate(self) -> None:
        """map_unordered cancels its own futures; nothing else is queued here."""

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
