"""Phase 1: find the entities of every document, in parallel, one sidecar per document.

Invariant: a document whose sidecar matches its bytes and the detector fingerprint is not
detected again, so an interrupted or repeated run only does what is missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from twophase.corpus import Failure, Source, discover
from twophase.detection.lists import read_lists
from twophase.detection.pipeline import DEFAULT_MODEL, fingerprint
from twophase.detection.worker import Outcome, Task, run_task
from twophase.errors import SidecarMismatch
from twophase.executors import Executor, LocalExecutor, guided_chunks
from twophase.files import private_workdir, sha256_hex, sweep_temporaries
from twophase.sidecar import read_sidecar, sidecar_path, write_manifest

__all__ = ["DEFAULT_MODEL", "DetectResult", "detect"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class DetectResult:
    documents: int
    detected: int
    cached: int
    words: int
    seconds: float
    failures: list[Failure] = field(default_factory=list)


def detect(
    inputs: list[Path],
    workdir: Path,
    *,
    model: str = DEFAULT_MODEL,
    executor: Executor | None = None,
    progress: Progress | None = None,
    allow: Path | None = None,
    deny: Path | None = None,
) -> DetectResult:
    """Detect entities in every document under `inputs`, writing sidecars to `workdir`.

    `allow` and `deny` are list files (detection/lists.py): surfaces never and always treated
    as entities; their content is part of the detector fingerprint.
    """
    started = time.perf_counter()
    lists = read_lists(allow, deny)  # a bad list stops the run before any work
    own = executor is None
    executor = executor or LocalExecutor()
    sources, failures = discover(inputs)
    expected = fingerprint(model, lists)  # a model not installed: before anything is written
    private_workdir(workdir)
    write_manifest(workdir, sources)
    pending: list[tuple[Source, int]] = []
    cached = 0
    for source in sources:
        try:
            data = Path(source.path).read_bytes()
        except OSError as exc:
            failures.append(Failure(source.rel, exc.strerror or type(exc).__name__))
            continue
        if _is_current(workdir, source.rel, sha256_hex(data), expected):
            cached += 1
        else:
            pending.append((source, len(data)))
    outcomes: list[Outcome] = []
    sweep_temporaries(sidecar_path(workdir, source.rel) for source, _ in pending)
    if pending:
        executor.preload_model(model)
        groups = guided_chunks([size for _, size in pending], executor.workers)
        tasks = [Task(str(workdir), model, tuple(pending[i][0] for i in g), lists) for g in groups]
        try:
            for batch in executor.map_unordered(run_task, tasks):
                outcomes.extend(batch)
                if progress:
                    progress(len(outcomes), len(pending))
        finally:
            if own:
                executor.close()
    failures.extend(o.failure for o in outcomes if o.failure)
    return DetectResult(
        documents=len(sources),
        detected=sum(1 for o in outcomes if not o.failure),
        cached=cached,
        words=sum(o.words for o in outcomes),
        seconds=time.perf_counter() - started,
        failures=sorted(failures, key=lambda f: f.document),
    )


def _is_current(workdir: Path, rel: str, sha256: str, detector: str) -> bool:
    try:
        sidecar = read_sidecar(workdir, rel)
    except (FileNotFoundError, SidecarMismatch):
        return False
    return sidecar.sha256 == sha256 and sidecar.detector == detector
