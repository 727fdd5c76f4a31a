"""Assign's variants step in a forked child gives the same plan and vault as in the parent,
and a child that fails fails assign."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

import twophase.assignment as assignment
from tests.conftest import PASSPHRASE
from twophase.assignment import assign_into, propagate
from twophase.corpus import Source
from twophase.errors import TwophaseError
from twophase.sidecar import (
    DocumentPlan,
    Plan,
    Replacement,
    Sidecar,
    Variant,
    pack_document_rows,
    pack_documents,
    pack_variant_rows,
    pack_variants,
    read_document_rows,
    read_plan,
    read_plan_vault,
    read_variant_rows,
    write_manifest,
    write_packed_plan,
    write_plan,
    write_sidecar,
)
from twophase.spans import Span
from twophase.vault import KdfParams, Vault
from twophase.words import vocabulary

FAST_KDF = KdfParams(memory_kib=19 * 1024, iterations=2, lanes=1)

FIRST = [
    [("PERSON", "Marie Dubois"), ("LOCATION", "à Annecy"), ("EMAIL", "marie@exemple.fr")],
    [("PERSON", "DUBOIS Marie"), ("ORG", "Société Lambert SARL"), ("PERSON", "Paul")],
    [("PERSON", "Mme Dubois"), ("PHONE", "06 12 34 56 78"), ("PERSON", "Jean-Pierre Martin")],
    [("PERSON", "J.-P. Martin"), ("LOCATION", "Lyon"), ("PERSON", "Rose Martin")],
]
# Names the vault knows from the first batch, and new ones: vault mentions get propagated.
SECOND = [
    [("PERSON", "Lucie Garnier"), ("LOCATION", "Annecy")],
    [("PERSON", "Martin"), ("ORG", "Lambert"), ("PERSON", "Marie DUBOIS")],
]


def batch(work: Path, docs: list[list[tuple[str, str]]]) -> Path:
    sources = []
    for n, mentions in enumerate(docs):
        rel = f"doc{n}.txt"
        spans, pos = [], 0
        for label, text in mentions:
            spans.append(Span(pos, pos + len(text), label, text))
            pos += len(text) + 10
        words = vocabulary(" ".join(t for _, t in mentions) + " Annecy Dubois Rose Le La")
        digest = hashlib.sha256(rel.encode()).hexdigest()
        write_sidecar(work, Sidecar(rel, digest, "test", tuple(spans), words=words))
        sources.append(Source(rel, "/nowhere", f"/nowhere/{rel}"))
    write_manifest(work, sources)
    return work


def rows(path: Path) -> list[object]:
    with Vault.open(path, PASSPHRASE) as vault:
        k = vault.keys
        out: list[object] = [
            (cid, k.open("components", "pseudo", cid, p), k.open("components", "real", cid, r))
            for cid, p, r in vault.rows("SELECT id, pseudo, real FROM components ORDER BY id")
        ]
        out += [
            (eid, b, msgpack.unpackb(k.open("entities", "record", eid, rec)))
            for eid, b, rec in vault.rows("SELECT id, blind, record FROM entities ORDER BY id")
        ]
    return out


def test_forked_variants_give_the_same_plan_and_vault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Vault.open(tmp_path / "fresh.db", PASSPHRASE, create=True, kdf=FAST_KDF).close()
    results = []
    for fork_above in (0, 10**9):  # always fork, never fork
        monkeypatch.setattr(assignment, "FORK_ABOVE", fork_above)
        vault = tmp_path / f"v{fork_above}.db"
        shutil.copy(tmp_path / "fresh.db", vault)
        plans = []
        for n, docs in enumerate((FIRST, SECOND)):
            work = batch(tmp_path / f"w{fork_above}-{n}", docs)
            with Vault.open(vault, PASSPHRASE) as opened:
                assign_into(opened, work)
            plans.append((work / "plan.msgpack").read_bytes())
        results.append((plans, rows(vault)))
    assert results[0] == results[1]
    plan = msgpack.unpackb(results[0][0][1])
    assert plan["variants"]  # the second batch propagates names the vault knows


def test_a_failing_child_fails_assign_and_writes_no_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: propagate.Forms, *args: object) -> None:
        raise ValueError("Marie Dubois")  # a name: must not reach the parent's message

    monkeypatch.setattr(assignment, "FORK_ABOVE", 0)
    monkeypatch.setattr(propagate.Forms, "variant_rows", broken)
    work = batch(tmp_path / "w", FIRST)
    with (
        Vault.open(tmp_path / "v.db", PASSPHRASE, create=True, kdf=FAST_KDF) as opened,
        pytest.raises(TwophaseError, match="ValueError") as raised,
    ):
        assign_into(opened, work)
    assert "Dubois" not in str(raised.value)
    assert not (work / "plan.msgpack").exists()


def test_a_failed_fork_runs_the_step_in_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing.process

    def no_fork(self: object) -> None:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(assignment, "FORK_ABOVE", 0)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", no_fork)
    work = batch(tmp_path / "w", FIRST)
    with Vault.open(tmp_path / "v.db", PASSPHRASE, create=True, kdf=FAST_KDF) as opened:
        assign_into(opened, work)
    assert msgpack.unpackb((work / "plan.msgpack").read_bytes())["variants"]


_INT = st.integers(0, 2**40)
_ROWS = st.lists(
    st.tuples(
        st.text(max_size=8),
        st.text(max_size=8),
        st.lists(st.tuples(_INT, _INT, st.text(), _INT)),
    ),
    max_size=5,
)


def _plan_parts(
    rows: list[tuple[str, str, list[tuple[int, int, str, int]]]],
) -> tuple[tuple[DocumentPlan, ...], tuple[Variant, ...]]:
    """Documents from generated rows, and a variant per row."""
    documents = tuple(
        DocumentPlan(doc, sha, tuple(Replacement(*r) for r in reps)) for doc, sha, reps in rows
    )
    return documents, tuple(Variant(f"S{i}", f"T{i}", i, "PERSON") for i in range(len(rows)))


@given(_ROWS, st.text(max_size=8))
def test_packed_plan_entries_are_write_plans_bytes(
    rows: list[tuple[str, str, list[tuple[int, int, str, int]]]], vault_id: str
) -> None:
    """assign packs the plan's entries from plain rows, apart: the file is the same."""
    import tempfile

    documents, variants = _plan_parts(rows)
    with tempfile.TemporaryDirectory() as tmp:
        one, two = Path(tmp, "one"), Path(tmp, "two")
        one.mkdir(), two.mkdir()
        write_plan(one, Plan(vault_id, documents, variants))
        variant_rows = [(v.surface, v.text, v.entity, v.label) for v in variants]
        write_packed_plan(two, vault_id, pack_document_rows(rows), pack_variant_rows(variant_rows))
        assert (one / "plan.msgpack").read_bytes() == (two / "plan.msgpack").read_bytes()
        assert pack_documents(documents) == pack_document_rows(rows)
        assert pack_variants(variants) == pack_variant_rows(variant_rows)


@given(_ROWS, st.text(max_size=8))
def test_the_plan_read_in_parts_is_the_plan(
    rows: list[tuple[str, str, list[tuple[int, int, str, int]]]], vault_id: str
) -> None:
    """Render reads the plan in parts: documents in its parent, variants in its workers."""
    import tempfile

    documents, variants = _plan_parts(rows)
    with tempfile.TemporaryDirectory() as tmp:
        write_plan(Path(tmp), Plan(vault_id, documents, variants))
        assert read_plan(Path(tmp)) == Plan(vault_id, documents, variants)
        # Plain rows, field for field: a Replacement is a named tuple.
        rows = tuple((d.document, d.sha256, d.replacements) for d in documents)
        assert read_document_rows(Path(tmp)) == (vault_id, rows)
        assert read_variant_rows(Path(tmp)) == variants
        assert read_plan_vault(Path(tmp)) == vault_id


def test_a_child_that_dies_fails_assign_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    import os

    def die(self: propagate.Forms) -> None:
        os._exit(9)  # as the kernel's OOM killer would leave it

    monkeypatch.setattr(assignment, "FORK_ABOVE", 0)
    monkeypatch.setattr(propagate.Forms, "sort", die)
    work = batch(tmp_path / "w", FIRST)
    with (
        Vault.open(tmp_path / "v.db", PASSPHRASE, create=True, kdf=FAST_KDF) as opened,
        pytest.raises(TwophaseError, match="died"),
    ):
        assign_into(opened, work)
    assert "Traceback" not in capfd.readouterr().err
    assert not (work / "plan.msgpack").exists()


def test_assign_reports_the_time_of_the_whole_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit, the wait for the child and the plan write are in the reported time (at a
    million entities they were a sixth of it and left out)."""
    real_write = assignment.write_packed_plan

    def slow_write(*args: object) -> None:
        time.sleep(0.5)
        real_write(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(assignment, "write_packed_plan", slow_write)
    work = batch(tmp_path / "w", FIRST)
    with Vault.open(tmp_path / "v.db", PASSPHRASE, create=True, kdf=FAST_KDF) as vault:
        started = time.perf_counter()
        result = assign_into(vault, work)
        took = time.perf_counter() - started
    assert 0.5 <= result.seconds <= took
