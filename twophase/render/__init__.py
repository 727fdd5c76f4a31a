"""Phase 3: rewrite every document from the plan, in parallel.

Invariant: a document is written only if its bytes are exactly those detect saw (else it
is refused, the rest go on), and each output appears whole or not at all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from twophase.corpus import Failure, Source
from twophase.errors import DocumentChanged, UsageError, reason_of
from twophase.executors import Executor, LocalExecutor, balanced_chunks
from twophase.files import sha256_hex, write_atomic
from twophase.formats import Edit, format_for
from twophase.sidecar import DocumentPlan, read_manifest, read_plan

__all__ = ["RenderResult", "render"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Receipt:
    """What render did to one document, in output coordinates (for `reverse`)."""

    document: str
    output_sha256: str
    replacements: tuple[tuple[int, int, int], ...]  # (start, end, entity) in the output


@dataclass(frozen=True, slots=True)
class RenderResult:
    documents: int
    rendered: int
    bytes: int
    seconds: float
    receipts: list[Receipt] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Task:
    out: str
    items: tuple[tuple[Source, DocumentPlan], ...]


def render(
    workdir: Path,
    out: Path,
    *,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> RenderResult:
    """Write the pseudonymized copy of every planned document under `out`."""
    started = time.perf_counter()
    own = executor is None
    executor = executor or LocalExecutor()
    plan = read_plan(workdir)
    sources = {s.rel: s for s in read_manifest(workdir)}
    out = out.resolve()
    if any(Path(s.root) == out for s in sources.values()):
        raise UsageError("the output folder is an input folder; choose another --out")
    items = [(sources[d.document], d) for d in plan.documents if d.document in sources]
    sizes = [_size(s.path) for s, _ in items]
    groups = balanced_chunks(sizes, executor.workers * 4)
    tasks = [_Task(str(out), tuple(items[i] for i in g)) for g in groups]
    receipts: list[Receipt] = []
    failures: list[Failure] = []
    written = 0
    try:
        for batch in executor.map_unordered(_render_task, tasks):
            for result in batch:
                if isinstance(result, Failure):
                    failures.append(result)
                else:
                    receipts.append(result[0])
                    written += result[1]
            if progress:
                progress(len(receipts) + len(failures), len(items))
    finally:
        if own:
            executor.close()
    receipts.sort(key=lambda r: r.document)
    return RenderResult(
        documents=len(items),
        rendered=len(receipts),
        bytes=written,
        seconds=time.perf_counter() - started,
        receipts=receipts,
        failures=sorted(failures, key=lambda f: f.document),
    )


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _render_task(task: _Task) -> list[tuple[Receipt, int] | Failure]:
    results: list[tuple[Receipt, int] | Failure] = []
    for source, doc in task.items:
        try:
            results.append(_render_one(Path(task.out), source, doc))
        except Exception as exc:  # one bad document never sinks the batch
            results.append(Failure(source.rel, reason_of(exc)))
    return results


def _render_one(out: Path, source: Source, doc: DocumentPlan) -> tuple[Receipt, int]:
    data = Path(source.path).read_bytes()
    if sha256_hex(data) != doc.sha256:
        raise DocumentChanged("changed since detect; run detect and assign again")
    edits = [Edit(r.start, r.end, r.text) for r in doc.replacements]
    output = format_for(source.rel).rebuild(data, edits)
    target = out / doc.document
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, output, mode=0o666 & ~_umask())
    shifted: list[tuple[int, int, int]] = []
    delta = 0
    for r in sorted(doc.replacements, key=lambda r: r.start):
        start = r.start + delta
        shifted.append((start, start + len(r.text), r.entity))
        delta += len(r.text) - (r.end - r.start)
    return Receipt(doc.document, sha256_hex(output), tuple(shifted)), len(output)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
