"""Phase 3: rewrite every document from the plan, in parallel.

Besides the planned replacements, known surfaces the detector missed are replaced too
(rendering/propagate.py), and every output is checked for what is still readable
(rendering/leaks.py).

Invariant: a document is written only if its bytes are exactly those detect saw (else it
is refused, the rest go on), and each output appears whole or not at all. A rerun of the
same plan skips every output already written whole (resumable after a crash).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from twophase.corpus import Failure, Source
from twophase.errors import DocumentChanged, UsageError, reason_of
from twophase.executors import Executor, LocalExecutor, guided_chunks
from twophase.files import (
    PRIVATE_FILE,
    AtomicBatch,
    a_folder,
    private_dir,
    sha256_hex,
    sweep_temporaries,
)
from twophase.formats import decode, encode, format_for
from twophase.rendering import leaks, markers, propagate
from twophase.rendering.leaks import LeakFinding
from twophase.rendering.receipt import Done, Receipt
from twophase.sidecar import (
    DocumentRow,
    read_document_rows,
    read_manifest,
)

__all__ = ["Receipt", "RenderResult", "prepare", "render"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RenderResult:
    documents: int
    rendered: int
    bytes: int
    seconds: float
    receipts: list[Receipt] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    # Documents written with known original surfaces still readable (rendering/leaks.py).
    leaks: list[LeakFinding] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Task:
    out: str
    # Each document as a plain row (they pickle fast), with what earlier runs of this plan
    # wrote for it (`markers.previous_results`).
    items: tuple[tuple[Source, DocumentRow, tuple[Done, ...]], ...]
    workdir: str  # workers read the plan's surface variants from it, once per process
    plan_sha256: str  # outputs rendered from this exact plan are not redone


def check_places(out: Path, roots: Iterable[Path], workdir: Path | None) -> None:
    """Where the outputs go, before any work (`all` checks it before detect): a folder, not
    inside an input folder (the next run would take the outputs for inputs, pseudonymize
    pseudonyms and map them in the vault as real names), and not holding the workdir, whose
    names would travel with the outputs shared."""
    out = a_folder(out, "output folder").resolve()
    if any(out.is_relative_to(root.resolve()) for root in roots):
        raise UsageError("the output folder is inside an input folder; choose another --out")
    if workdir is not None and a_folder(workdir, "workdir").resolve().is_relative_to(out):
        raise UsageError(
            "the workdir, which holds the batch's names, is inside the output folder; "
            "choose a --workdir outside --out"
        )


def render(
    workdir: Path,
    out: Path,
    *,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> RenderResult:
    """Write the pseudonymized copy of every planned document under `out`."""
    started = time.perf_counter()
    a_folder(workdir, "workdir")  # before the plan is read from it
    own = executor is None
    executor = executor or LocalExecutor()
    _, documents = read_document_rows(workdir)
    sources = {s.rel: s for s in read_manifest(workdir)}
    out = out.resolve()
    check_places(out, {Path(s.root) for s in sources.values()}, workdir)
    items = [(sources[d[0]], d) for d in documents if d[0] in sources]
    # In the batch but not in the plan: detect failed on it, or it came after assign.
    unplanned = [
        Failure(rel, "not in the plan: detect failed on it, or run assign again")
        for rel in sorted(sources.keys() - {d[0] for d in documents})
    ]
    sizes = [_size(s.path) for s, _ in items]
    groups = guided_chunks(sizes, executor.workers, smallest=_CHUNK_MIN, largest=_CHUNK_MAX)
    plan_sha256 = sha256_hex((workdir / "plan.msgpack").read_bytes())
    sweep_temporaries(out / rel for _, (rel, _, _) in items)
    previous = markers.previous_results(workdir, out, plan_sha256)
    planned = [(s, d, tuple(previous.get(d[0], ()))) for s, d in items]
    tasks = [
        _Task(str(out), tuple(planned[i] for i in g), str(workdir), plan_sha256) for g in groups
    ]
    receipts: list[Receipt] = []
    failures: list[Failure] = list(unplanned)
    leaked: list[LeakFinding] = []
    written = 0
    try:
        prepare(workdir, executor)
        for batch in executor.map_unordered(_render_task, tasks):
            for result in batch:
                if isinstance(result, Failure):
                    failures.append(result)
                else:
                    receipts.append(result[0])
                    written += result[1]
                    if result[2]:
                        leaked.append(LeakFinding(result[0].document, result[2]))
            if progress:
                progress(len(receipts) + len(failures) - len(unplanned), len(items))
    except BaseException:
        # Interrupted or failed: map_unordered stopped the workers, maybe between staging
        # outputs and renaming them; what they staged goes now, not at the next render.
        executor.terminate()
        sweep_temporaries(out / rel for _, (rel, _, _) in items)
        raise
    finally:
        if own:
            executor.close()
        propagate.forget_matchers()  # every known surface of the batch: not kept after
    receipts.sort(key=lambda r: r.document)
    return RenderResult(
        documents=len(items),
        rendered=len(receipts),
        bytes=written,
        seconds=time.perf_counter() - started,
        receipts=receipts,
        failures=sorted(failures, key=lambda f: f.document),
        leaks=sorted(leaked, key=lambda f: f.document),
    )


def prepare(workdir: Path, executor: Executor) -> None:
    """Build the plan's matcher in this process if the workers will inherit it: forked
    later, they share its pages instead of each reading the plan's variants and building
    its own (~17 s and ~1.3 GB a worker at a million entities, docs/performance.md)."""
    if executor.inherits():
        propagate.matcher_of(workdir)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


# Render runs ~200 times faster than detect per byte, so its chunks are larger: each
# chunk ends with a flush (below); the plan's automaton is read once per process.
_CHUNK_MIN = 1024 * 1024
_CHUNK_MAX = 64 * 1024 * 1024


def _render_task(task: _Task) -> list[Done | Failure]:
    results: list[Done | Failure] = []
    matcher = propagate.matcher_of(Path(task.workdir))
    workdir, out = Path(task.workdir), Path(task.out)
    mode = 0o666 & ~_umask()
    private_dir(markers.folder(workdir))
    folders: set[Path] = set()
    batch = AtomicBatch()
    staged: list[tuple[str, Done]] = []

    def flush() -> None:
        if not staged:
            return
        done = [d for _, d in staged]
        marker = markers.marker_path(
            workdir, out, task.plan_sha256, [r.document for r, _, _ in done]
        )
        try:
            # Renamed before the outputs: a crash between leaves a marker whose outputs are
            # missing, which `markers.reuse` rejects (it hashes them), never an output without
            # its marker, which would be rendered again. No fsync of its own: losing it
            # only costs a redo.
            record = markers.marker_record(out, task.plan_sha256, done)
            batch.stage((marker, record, PRIVATE_FILE, False), first=True)
        except OSError as exc:
            batch.discard()
            results.extend(Failure(rel, reason_of(exc)) for rel, _ in staged)
        else:
            errors = batch.commit()
            for (rel, d), error in zip(staged, errors[1:], strict=True):
                results.append(d if error is None else Failure(rel, reason_of(error)))
        staged.clear()

    try:
        for source, doc, previous in task.items:
            rel = doc[0]
            try:
                reused = markers.reuse(out, rel, previous)
                if reused is not None:
                    results.append(reused)
                    continue
                output, done = _render_one(source, doc, matcher)
                target = out / rel
                if target.parent not in folders:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    folders.add(target.parent)
                batch.stage((target, output, mode, True))
                staged.append((source.rel, done))
            except Exception as exc:  # one bad document never sinks the batch
                results.append(Failure(source.rel, reason_of(exc)))
            if batch.full():  # outputs are made durable a batch at a time
                flush()
        flush()
    except BaseException:  # Ctrl-C in process: nothing staged stays in the output folder
        batch.discard()
        raise
    return results


def _render_one(source: Source, doc: DocumentRow, matcher: propagate.Matcher) -> tuple[bytes, Done]:
    """One document's output bytes, with its receipt, size and how many leaks it still has."""
    document, sha256, planned = doc
    data = Path(source.path).read_bytes()
    if sha256_hex(data) != sha256:
        raise DocumentChanged("changed since detect; run detect and assign again")
    format_for(source.rel)  # refuses a file no format reads, as detect did
    # Plain text is the one format: its text is the decoded file, so one decoding and one
    # pass over the edits serve propagation, the output, the receipt and the leak check.
    decoded = decode(data)
    text = decoded.text
    # Batch-wide propagation: known surfaces the detector missed in this document.
    replacements = propagate.completed(text, planned, matcher)
    parts: list[str] = []
    shifted: list[tuple[int, int, int]] = []
    originals: list[str] = []
    pos = delta = 0
    for old_start, old_end, new, entity in replacements:  # sorted by start
        if old_start < pos or old_end > len(text) or old_start > old_end:
            raise ValueError("edits overlap or fall outside the text")
        parts.append(text[pos:old_start])
        parts.append(new)
        start = old_start + delta
        shifted.append((start, start + len(new), entity))
        originals.append(text[old_start:old_end])
        delta += len(new) - (old_end - old_start)
        pos = old_end
    parts.append(text[pos:])
    rendered = "".join(parts)
    output = encode(rendered, decoded)
    receipt = Receipt(
        document,
        sha256_hex(output),
        tuple(shifted),
        originals=tuple(originals),
        source_sha256=sha256,
        encoding=decoded.encoding,
        bom=decoded.bom,
    )
    inserted = [(start, end) for start, end, _ in shifted]
    return output, (receipt, len(output), leaks.count_leaks(rendered, inserted, matcher))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
