"""Per-chunk detection work, run in worker processes.

Invariant: a worker reads documents and writes sidecars, nothing else; it never holds a
key. The model is loaded at most once per process (inherited by fork, or loaded on first
use where the executor spawns).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from twophase.corpus import Failure, Source
from twophase.detection.lists import Lists
from twophase.detection.pipeline import Detector, fingerprint, load
from twophase.errors import reason_of
from twophase.files import sha256_hex
from twophase.formats import format_for
from twophase.sidecar import Sidecar, write_sidecar
from twophase.spans import Span
from twophase.words import marked_tokens, vocabulary

_DETECTOR: Detector | None = None


def preload(model: str) -> None:
    """Load the model into this process now (before a fork, or in a Dask worker plugin)."""
    detector_for(model)


def detector_for(model: str) -> Detector:
    global _DETECTOR
    if _DETECTOR is None or _DETECTOR.model != model:
        _DETECTOR = load(model)
    return _DETECTOR


@dataclass(frozen=True, slots=True)
class Task:
    workdir: str
    model: str
    sources: tuple[Source, ...]
    lists: Lists = field(default_factory=Lists)


@dataclass(frozen=True, slots=True)
class Outcome:
    document: str
    words: int
    failure: Failure | None


def run_task(task: Task) -> list[Outcome]:
    detector = detector_for(task.model)
    print_ = fingerprint(task.model, task.lists)
    outcomes: list[Outcome] = []
    sources = iter(task.sources)
    read: deque[tuple[Source, bytes, str]] = deque()  # given to the model, not yet written

    def fail(rel: str, exc: Exception) -> None:  # one bad document never sinks the batch
        outcomes.append(Outcome(rel, 0, Failure(rel, reason_of(exc))))

    def texts() -> Iterator[str]:
        for source in sources:
            try:
                data = Path(source.path).read_bytes()
                text = format_for(source.rel).extract(data)
            except Exception as exc:
                fail(source.rel, exc)
                continue
            read.append((source, data, text))
            yield text

    def write(spans: list[Span]) -> None:
        source, data, text = read.popleft()
        try:
            words = vocabulary(text)
            present = set(words)
            allow = tuple(a for a in task.lists.allow if marked_tokens(a) <= present)
            write_sidecar(
                Path(task.workdir),
                Sidecar(source.rel, sha256_hex(data), print_, tuple(spans), words, allow),
            )
            outcomes.append(Outcome(source.rel, len(text.split()), None))
        except Exception as exc:
            fail(source.rel, exc)

    # The task's documents in one stream, so that the model batches short ones together.
    try:
        for spans in detector.detect(texts(), task.lists):
            write(spans)
    except Exception:
        # Something failed inside the stream, for a document the model was given: those
        # not written yet, then the rest, go through one at a time, so only it fails.
        rest = texts()  # the sources not read yet, from where the stream stopped
        while read or next(rest, None) is not None:
            try:
                (spans,) = detector.detect([read[0][2]], task.lists)
            except Exception as exc:
                fail(read.popleft()[0].rel, exc)
                continue
            write(spans)
    return outcomes
