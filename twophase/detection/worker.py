"""Per-chunk detection work, run in worker processes.

Invariant: a worker reads documents and writes sidecars, nothing else; it never holds a
key. The model is loaded at most once per process (inherited by fork, or loaded on first
use where the executor spawns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from twophase.corpus import Failure, Source
from twophase.detection.lists import Lists
from twophase.detection.pipeline import Detector, fingerprint, load
from twophase.errors import reason_of
from twophase.files import sha256_hex
from twophase.formats import format_for
from twophase.sidecar import Sidecar, write_sidecar
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
    for source in task.sources:
        try:
            data = Path(source.path).read_bytes()
            text = format_for(source.rel).extract(data)
            (spans,) = detector.detect([text], task.lists)
            words = vocabulary(text)
            present = set(words)
            allow = tuple(a for a in task.lists.allow if marked_tokens(a) <= present)
            write_sidecar(
                Path(task.workdir),
                Sidecar(source.rel, sha256_hex(data), print_, tuple(spans), words, allow),
            )
            outcomes.append(Outcome(source.rel, len(text.split()), None))
        except Exception as exc:  # one bad document never sinks the batch
            outcomes.append(Outcome(source.rel, 0, Failure(source.rel, reason_of(exc))))
    return outcomes
