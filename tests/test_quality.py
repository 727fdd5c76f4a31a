"""The leak check that ends every render, the user's allow and deny lists, and a quality
regression on the hard cases (small model; figures in docs/quality.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MODEL, PASSPHRASE, ROOT, write_corpus
from twophase.assignment import assign_into
from twophase.corpus import Source
from twophase.detection import detect
from twophase.detection.lists import Lists, read_lists
from twophase.errors import UsageError
from twophase.evaluate import leak_rate, load_gold_json, score
from twophase.executors import LocalExecutor
from twophase.files import sha256_hex
from twophase.rendering import render
from twophase.rendering.leaks import count_leaks
from twophase.rendering.propagate import Matcher
from twophase.sidecar import (
    DocumentPlan,
    Plan,
    Replacement,
    Variant,
    iter_sidecars,
    read_manifest,
    write_manifest,
    write_plan,
)
from twophase.vault import KdfParams, Vault

FAST_KDF = KdfParams(memory_kib=19 * 1024, iterations=2, lanes=1)
HARD = ROOT / "tests/data/hardcases"
PATTERN_LABELS = {
    "EMAIL", "PHONE", "IBAN", "NIR", "SIRET", "SIREN", "ADDRESS", "BIRTHDATE", "URL", "IP",
    "PLATE", "CARD",
}  # fmt: skip


# --- the leak check --------------------------------------------------------------------------


def test_only_original_text_can_leak() -> None:
    matcher = Matcher([Variant("Dubois", "Lambert", 1, "PERSON")])
    out = "Claire Dubois et Dubois-Martin ; Dubois"
    # "Dubois" typed by render (inserted) reveals nothing; one original letter is enough.
    assert count_leaks(out, [(33, 39)], matcher) == 1
    assert count_leaks(out, [(0, 6), (33, 39)], matcher) == 1
    assert count_leaks(out, [(7, 9), (33, 39)], matcher) == 1
    assert count_leaks(out, [(7, 13), (33, 39)], matcher) == 0


@pytest.fixture
def broken_plan(tmp_path: Path) -> Path:
    """A workdir whose plan cuts a name mid-word, as a faulty span would: "Marie D|ubois"."""
    text = "Marie Dubois est là.\n"
    corpus = write_corpus(tmp_path / "corpus", {"cr.txt": text})
    work = tmp_path / "work"
    work.mkdir(mode=0o700)
    write_manifest(work, [Source("cr.txt", str(corpus), str(corpus / "cr.txt"))])
    doc = DocumentPlan("cr.txt", sha256_hex(text.encode()), (Replacement(0, 7, "Claire D", 1),))
    write_plan(work, Plan("v", (doc,), (Variant("Dubois", "Lambert", 1, "PERSON"),)))
    return work


def test_render_reports_a_leak_by_document_and_count(broken_plan: Path, tmp_path: Path) -> None:
    result = render(broken_plan, tmp_path / "out", executor=LocalExecutor(1))
    assert [(f.document, f.count) for f in result.leaks] == [("cr.txt", 1)]
    assert (tmp_path / "out/cr.txt").read_text() == "Claire Dubois est là.\n"


def test_a_leak_exits_3_and_stderr_never_shows_the_name(broken_plan: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "twophase.cli", "render"),
            *("--workdir", str(broken_plan), "--out", str(tmp_path / "out")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TWOPHASE_PASSPHRASE": PASSPHRASE},
    )
    assert proc.returncode == 3
    assert "leak: cr.txt: 1 " in proc.stderr
    assert "Dubois" not in proc.stderr and "Dubois" not in proc.stdout


# --- allow and deny lists ------------------------------------------------------------------


def test_lists_are_read_with_comments_labels_and_a_content_digest(tmp_path: Path) -> None:
    allow, deny = tmp_path / "allow.txt", tmp_path / "deny.txt"
    allow.write_text("# never replaced\nLyon\n\nLyon\n", "utf-8")
    deny.write_text("Zorglub\tORG\nMarsupilami\n", "utf-8")
    lists = read_lists(allow, deny)
    assert lists == Lists(("Lyon",), (("Marsupilami", "PERSON"), ("Zorglub", "ORG")))
    assert lists.allowed("LYON") and not lists.allowed("Lyonnais")
    assert Lists().digest == "" and lists.digest != read_lists(allow, None).digest
    deny.write_text("Zorglub\tSOCIETE\n", "utf-8")
    with pytest.raises(UsageError, match="entry 1"):
        read_lists(None, deny)


def test_deny_entries_are_found_as_whole_words_keeping_case(tmp_path: Path) -> None:
    lists = Lists((), (("Rose", "PERSON"), ("Zorglub", "ORG")))
    text = "Zorglub et ZORGLUB ; zorglub non. Rose a une rose, Rose-Marie non."
    assert [(s.label, s.text) for s in lists.find(text)] == [
        ("ORG", "Zorglub"),
        ("ORG", "ZORGLUB"),
        ("PERSON", "Rose"),
    ]


def pipeline(tmp: Path, docs: dict[str, str | bytes], allow: Path, deny: Path) -> tuple[Path, Path]:
    corpus = write_corpus(tmp / "corpus", docs)
    work, out = tmp / "work", tmp / "out"
    detect([corpus], work, model=MODEL, executor=LocalExecutor(1), allow=allow, deny=deny)
    with Vault.open(tmp / "v.db", PASSPHRASE, create=True, kdf=FAST_KDF) as vault:
        assign_into(vault, work)
    render(work, out, executor=LocalExecutor(1))
    return work, out


def test_allowed_surfaces_are_neither_detected_nor_propagated(tmp_path: Path) -> None:
    allow, deny = tmp_path / "allow.txt", tmp_path / "deny.txt"
    allow.write_text("Lyon\n", "utf-8")
    deny.write_text("Zorglub\tORG\n", "utf-8")
    docs: dict[str, str | bytes] = {
        "a.txt": "Marie Dubois habite à Lyon depuis 2010.\n",
        "b.txt": "Lyon accueille Zorglub. Dubois aussi.\n",
    }
    work, out = pipeline(tmp_path, docs, allow=allow, deny=deny)
    labels = {
        (s.label, s.text) for c in iter_sidecars(work, read_manifest(work)) if c for s in c.spans
    }
    assert ("ORG", "Zorglub") in labels and not any(t == "Lyon" for _, t in labels)
    b = (out / "b.txt").read_text("utf-8")
    assert b.startswith("Lyon accueille ") and "Zorglub" not in b and "Dubois" not in b


def test_changing_a_list_redoes_detection(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Le projet Zorglub avance.\n"})
    deny = tmp_path / "deny.txt"
    deny.write_text("Zorglub\tORG\n", "utf-8")
    work = tmp_path / "work"
    first = detect([corpus], work, model=MODEL, executor=LocalExecutor(1), deny=deny)
    again = detect([corpus], work, model=MODEL, executor=LocalExecutor(1), deny=deny)
    deny.write_text("Zorglub\tPERSON\n", "utf-8")
    changed = detect([corpus], work, model=MODEL, executor=LocalExecutor(1), deny=deny)
    assert (first.detected, again.cached, changed.detected) == (1, 1, 1)


# --- quality regression -----------------------------------------------------------------------


def test_hard_cases_person_leak_rate_stays_within_bound(tmp_path: Path) -> None:
    """Small model, `tags` theme (a pseudonym never reads like a real name, so the leak
    rate counts real leaks only). Measured 0 of 67 (document, person) pairs leaked and a
    PERSON precision of 0.99; the issue's targets are <= 0.5% and >= 0.90."""
    work, out = tmp_path / "work", tmp_path / "out"
    detect([HARD / "docs"], work, model=MODEL, executor=LocalExecutor(1))
    with Vault.open(tmp_path / "v.db", PASSPHRASE, create=True, kdf=FAST_KDF, theme="tags") as v:
        assign_into(v, work)
    result = render(work, out, executor=LocalExecutor(1))
    gold = load_gold_json(HARD / "gold")
    rendered = {p.name: p.read_text("utf-8") for p in out.glob("*.txt")}
    leaks = {row.label: row for row in leak_rate(gold, rendered).labels}
    assert leaks["PERSON"].rate is not None and leaks["PERSON"].rate <= 0.005
    for label in PATTERN_LABELS & set(leaks):
        assert leaks[label].leaked == 0, label  # every pattern entity replaced
    predicted = {c.document: list(c.spans) for c in iter_sidecars(work, read_manifest(work)) if c}
    person = next(r for r in score(gold, predicted).labels if r.label == "PERSON")
    assert person.overlap.precision is not None and person.overlap.precision >= 0.90
    assert result.leaks == []
