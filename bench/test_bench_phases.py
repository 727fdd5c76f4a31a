"""Each phase on a small batch, in process, one worker: detect, assign, render (and a plain
copy of the same files beside render, the yardstick of issue 6).

Run: .venv/bin/pytest bench/test_bench_phases.py --benchmark-enable -p no:cacheprovider
(`just bench` runs it). Words/s, MB/s and entity counts land in each benchmark's extra_info
(--benchmark-json). The model is $BENCH_MODEL, default fr_core_news_md (the product's).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import assign_scale
import pytest
import synth

from twophase.assignment import assign_into
from twophase.detection import detect
from twophase.executors import LocalExecutor
from twophase.files import AtomicBatch
from twophase.rendering import render
from twophase.sidecar import read_manifest
from twophase.vault import KdfParams, Vault

MODEL = os.environ.get("BENCH_MODEL", "fr_core_news_md")
PASSPHRASE = "bench passphrase, not a secret"
DOCS, WORDS = 12, 600
# The KDF is timed in scaling.py; here the cheapest parameters the vault accepts.
KDF = KdfParams(memory_kib=19 * 1024, iterations=2, lanes=1)


@dataclass
class Batch:
    corpus: Path
    work: Path
    vault: Path  # an empty vault to copy for every round
    words: int
    bytes: int


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    root = tmp_path_factory.mktemp("phases")
    corpus = root / "corpus"
    words = synth.write_corpus(corpus, DOCS, WORDS)
    size = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
    vault = root / "empty.db"
    Vault.open(vault, PASSPHRASE, create=True, kdf=KDF).close()
    work = root / "work"
    with LocalExecutor(1) as executor:  # also loads the model once for every round
        detect([corpus], work, model=MODEL, executor=executor)
    _assign(work, _copy(vault, root / "plan.db"))
    return Batch(corpus, work, vault, words, size)


_rounds = itertools.count()


def _copy(vault: Path, target: Path) -> Path:
    shutil.copy(vault, target)
    return target


def _assign(work: Path, vault_path: Path) -> Any:
    with Vault.open(vault_path, PASSPHRASE) as vault:
        return assign_into(vault, work)


def test_detect(benchmark: Any, batch: Batch, tmp_path: Path) -> None:
    def fresh() -> tuple[tuple[Path], dict[str, Any]]:
        return (tmp_path / f"work{next(_rounds)}",), {}

    def run(work: Path) -> Any:
        with LocalExecutor(1) as executor:
            return detect([batch.corpus], work, model=MODEL, executor=executor)

    result = benchmark.pedantic(run, setup=fresh, rounds=3, iterations=1, warmup_rounds=1)
    assert result.detected == DOCS
    benchmark.extra_info.update(
        model=MODEL, documents=DOCS, words=batch.words, words_per_s=_rate(benchmark, batch.words)
    )


def test_assign(benchmark: Any, batch: Batch, tmp_path: Path) -> None:
    def fresh() -> tuple[tuple[Path], dict[str, Any]]:
        return (_copy(batch.vault, tmp_path / f"v{next(_rounds)}.db"),), {}

    result = benchmark.pedantic(
        lambda v: _assign(batch.work, v), setup=fresh, rounds=5, iterations=1
    )
    assert result.documents == DOCS and result.entities_new > 0  # each round a fresh vault
    benchmark.extra_info.update(
        documents=result.documents,
        mentions=result.mentions,
        entities=result.entities_new,
        note="includes opening the vault with the minimum KDF",
    )


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic sidecars: 1,000 documents, 10,000 new entities (bench/assign_scale.py)."""
    work = tmp_path_factory.mktemp("large") / "work"
    args = argparse.Namespace(
        kind="mixed", docs=1000, entities=10_000, given=False, seed=3, first_names=0
    )
    assign_scale.generate(work, args)
    return work


def test_assign_10k_entities(benchmark: Any, batch: Batch, large: Path, tmp_path: Path) -> None:
    def fresh() -> tuple[tuple[Path], dict[str, Any]]:
        return (_copy(batch.vault, tmp_path / f"v{next(_rounds)}.db"),), {}

    result = benchmark.pedantic(lambda v: _assign(large, v), setup=fresh, rounds=3, iterations=1)
    assert result.entities_new >= 10_000
    per = benchmark.stats.stats.min / result.entities_new * 1e6
    benchmark.extra_info.update(
        documents=result.documents,
        mentions=result.mentions,
        entities=result.entities_new,
        us_per_entity=round(per, 1),
    )


def test_render(benchmark: Any, batch: Batch, tmp_path: Path) -> None:
    def fresh() -> tuple[tuple[Path], dict[str, Any]]:
        # Every round a first render: no done-markers of the previous round to read.
        shutil.rmtree(batch.work / "rendered", ignore_errors=True)
        return (tmp_path / f"out{next(_rounds)}",), {}

    def run(out: Path) -> Any:
        with LocalExecutor(1) as executor:
            return render(batch.work, out, executor=executor)

    result = benchmark.pedantic(run, setup=fresh, rounds=10, iterations=1, warmup_rounds=1)
    assert result.rendered == DOCS
    benchmark.extra_info.update(
        documents=DOCS, bytes=batch.bytes, mb_per_s=_rate(benchmark, batch.bytes / 1e6)
    )


def test_plain_copy_of_the_same_files(benchmark: Any, batch: Batch, tmp_path: Path) -> None:
    """The yardstick for render: read and write the same files, nothing else."""
    sources = read_manifest(batch.work)

    def fresh() -> tuple[tuple[Path], dict[str, Any]]:
        return (tmp_path / f"copy{next(_rounds)}",), {}

    def run(out: Path) -> None:
        for source in sources:
            target = out / source.rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(Path(source.path).read_bytes())

    benchmark.pedantic(run, setup=fresh, rounds=10, iterations=1, warmup_rounds=1)
    last = tmp_path / f"copy{next(_rounds) - 1}"  # what the last round wrote
    assert sum(p.stat().st_size for p in last.rglob("*") if p.is_file()) == batch.bytes
    benchmark.extra_info.update(
        documents=DOCS, bytes=batch.bytes, mb_per_s=_rate(benchmark, batch.bytes / 1e6)
    )


def test_durable_copy_of_the_same_files(benchmark: Any, batch: Batch, tmp_path: Path) -> None:
    """The fair yardstick: the same files written as durably as render writes them."""
    sources = read_manifest(batch.work)

    def fresh() -> tuple[tuple[Path], dict[str, Any]]:
        return (tmp_path / f"durable{next(_rounds)}",), {}

    def run(out: Path) -> None:
        staged = AtomicBatch()
        for source in sources:
            target = out / source.rel
            target.parent.mkdir(parents=True, exist_ok=True)
            staged.stage((target, Path(source.path).read_bytes(), 0o644, True))
        assert not any(staged.commit())

    benchmark.pedantic(run, setup=fresh, rounds=10, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(
        documents=DOCS, bytes=batch.bytes, mb_per_s=_rate(benchmark, batch.bytes / 1e6)
    )


def _rate(benchmark: Any, amount: float) -> float:
    # pytest-benchmark fills stats after the run; min is the least disturbed round.
    return round(amount / benchmark.stats.stats.min, 1)
