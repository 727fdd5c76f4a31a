"""Batch-wide propagation: a name known anywhere in the batch or the vault is replaced
everywhere it stands as a whole word, case-exact, also where the model missed it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import MODEL, PASSPHRASE, write_corpus
from twophase.assignment import assign_into
from twophase.detection import detect
from twophase.executors import LocalExecutor
from twophase.rendering import RenderResult, render
from twophase.rendering.propagate import Matcher, completed, hits
from twophase.sidecar import Replacement, Variant, iter_sidecars, read_manifest, read_plan
from twophase.vault import KdfParams, Vault

FAST_KDF = KdfParams(memory_kib=19 * 1024, iterations=2, lanes=1)
DOC_A = "Compte rendu : Mme Marie Dubois présente le budget. Rose Martin est venue avec Paul.\n"
# The small model finds nothing here: "Rose" is only known from the other document.
DOC_B = "Rose a offert une rose à chacun.\n"


@dataclass
class Run:
    out: dict[str, str]
    work: Path
    result: RenderResult


def pipeline(tmp: Path, name: str, docs: dict[str, str | bytes], vault: Path) -> Run:
    corpus = write_corpus(tmp / f"{name}-corpus", docs)
    work, out = tmp / f"{name}-work", tmp / f"{name}-out"
    detect([corpus], work, model=MODEL, executor=LocalExecutor(1))
    with Vault.open(vault, PASSPHRASE, create=True, kdf=FAST_KDF) as opened:
        assign_into(opened, work)
    result = render(work, out, executor=LocalExecutor(1))
    texts = {p.relative_to(out).as_posix(): p.read_text("utf-8") for p in out.rglob("*.txt")}
    return Run(texts, work, result)


def spans_of(work: Path, document: str) -> list[str]:
    sources = read_manifest(work)
    sidecar = next(c for c in iter_sidecars(work, sources) if c and c.document == document)
    return [s.text for s in sidecar.spans]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    tmp = tmp_path_factory.mktemp("propagation")
    vault = tmp / "v.db"
    return pipeline(tmp, "one", {"a.txt": DOC_A, "b.txt": DOC_B}, vault), vault


def test_a_name_missed_in_one_document_is_replaced_from_another(batch: tuple[Run, Path]) -> None:
    run, _ = batch
    assert spans_of(run.work, "b.txt") == []  # the model missed "Rose" in b.txt
    assert "Rose" not in run.out["b.txt"]
    given = run.out["b.txt"].split(" ", 1)[0]
    # The same pseudonym as "Rose" of "Rose Martin" in a.txt: one person, one first name.
    assert run.out["a.txt"].count(f"{given} ") >= 1


def test_rose_the_person_does_not_eat_rose_the_flower(batch: tuple[Run, Path]) -> None:
    run, _ = batch
    assert "une rose à chacun" in run.out["b.txt"]


def test_the_render_leak_check_is_clean_after_propagation(batch: tuple[Run, Path]) -> None:
    run, _ = batch
    assert run.result.leaks == []


def test_a_name_known_only_to_the_vault_is_replaced_in_a_later_batch(
    batch: tuple[Run, Path], tmp_path: Path
) -> None:
    first, vault = batch
    later = pipeline(tmp_path, "two", {"c.txt": DOC_B}, vault)
    assert spans_of(later.work, "c.txt") == []
    assert later.out["c.txt"] == first.out["b.txt"]
    # Only surfaces this batch contains are planned: no other name of the vault leaves it.
    surfaces = {v.surface for v in read_plan(later.work).variants}
    assert surfaces == {"Rose"}


def test_same_variants_whatever_the_document_order(tmp_path: Path) -> None:
    docs: dict[str, str | bytes] = {"a.txt": DOC_A, "b.txt": DOC_B}
    one = pipeline(tmp_path, "x", docs, tmp_path / "x.db")
    two = pipeline(tmp_path, "y", dict(reversed(list(docs.items()))), tmp_path / "y.db")
    left = [(v.surface, v.label) for v in read_plan(one.work).variants]
    right = [(v.surface, v.label) for v in read_plan(two.work).variants]
    assert left == right and left == sorted(left)


# --- the render side alone -----------------------------------------------------------------

MATCHER = Matcher(
    [
        Variant("Dubois", "Lambert", 1, "PERSON"),
        Variant("Marie Dubois", "Claire Lambert", 1, "PERSON"),
        Variant("Rose", "Anne", 2, "PERSON"),
        Variant("Annecy", "Valmont", 3, "LOCATION"),
    ]
)


def replaced(text: str, planned: list[Replacement] | None = None) -> list[str]:
    return [text[h.start : h.end] for h in hits(text, planned or [], MATCHER)]


def test_longest_variant_first_and_whole_words_only() -> None:
    assert replaced("Marie Dubois et Duboisier, Dubois.") == ["Marie Dubois", "Dubois"]


def test_case_exact_and_compounds_are_one_word() -> None:
    assert replaced("rose, Rose, ROSE, Rose-Marie, Saint-Rose, l'Annecy, d'Annecy") == [
        "Rose",
        "Annecy",
        "Annecy",
    ]


def test_planned_replacements_are_never_overlapped() -> None:
    text = "Marie Dubois est là."
    planned = [Replacement(0, 5, "Claire", 1)]  # the model found "Marie" only
    assert replaced(text, planned) == ["Dubois"]


def test_a_known_name_that_contains_a_planned_one_replaces_it_whole() -> None:
    """Detect found "Dubois" alone in "Marie Dubois": "Marie" must not stay readable."""
    text = "Vu : Marie Dubois a signé."
    planned = [Replacement(11, 17, "Lambert", 1)]
    assert completed(text, planned, MATCHER) == [(5, 17, "Claire Lambert", 1)]


def test_a_known_name_that_cuts_a_planned_one_is_not_used() -> None:
    text = "Vu : Marie Dubois-Roy a signé."  # detect's "Dubois-Roy" stands
    planned = [Replacement(11, 21, "Lambert-Vidal", 4)]
    assert completed(text, planned, MATCHER) == [(11, 21, "Lambert-Vidal", 4)]


_WORDS = st.sampled_from(["Marie", "Dubois", "Rose", "Annecy", "et", "vu", "Marie-Rose"])


@settings(max_examples=300)
@given(st.lists(_WORDS, min_size=1, max_size=12), st.data())
def test_completed_replacements_never_overlap_and_cover_every_planned_one(
    words: list[str], data: st.DataObject
) -> None:
    text = " ".join(words)
    bounds, pos = [], 0
    for w in words:
        bounds.append((pos, pos + len(w)))
        pos += len(w) + 1
    chosen = sorted(data.draw(st.sets(st.integers(0, len(words) - 1))))
    planned = [Replacement(*bounds[k], "X", 9) for k in chosen]
    rows = completed(text, planned, MATCHER)
    for (_, end, _, _), (start, _, _, _) in itertools.pairwise(rows):
        assert end <= start
    for start, end, _, _ in planned:
        assert any(a <= start and end <= b for a, b, _, _ in rows)


@given(st.one_of(st.text(), st.text(alphabet=st.characters(max_codepoint=127))))
def test_title_case_shortcut_agrees_with_the_letter_by_letter_rule(text: str) -> None:
    from twophase.assignment.propagate import _title

    out, start = [], True
    for c in text:
        out.append(c.upper() if start else c.lower())
        start = not c.isalpha()
    assert _title(text) == "".join(out)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZzé É-'. 1ʼ")), max_size=12))
def test_case_form_shortcuts_agree_with_the_token_rule(text: str) -> None:
    """A name part's case forms, their tokens and capitals, as the plain rules say."""
    from twophase.assignment.propagate import _CASE_FNS, TITLE, _all_caps, _Best, _Cased
    from twophase.words import marked_tokens

    vocabulary = frozenset(["Z", "ZZ", "Za", "É", "ZÉ", "Zz", "1"])
    best = _Best(vocabulary, frozenset())

    def cased(t: str) -> _Cased:
        tokens = marked_tokens(t)
        return _Cased(t, tokens <= vocabulary, bool(tokens), sum(map(str.isalpha, t)))

    letters = [c for c in text if c.isalpha()]
    assert _all_caps(text) == (bool(letters) and all(map(str.isupper, letters)))
    assert best._cased(text) == cased(text)
    small = any(c.isalpha() and not c.isupper() for c in text)
    cases = _CASE_FNS[:TITLE] if small else _CASE_FNS
    assert best.forms(text) == tuple(cased(fn(text)) for fn in cases)
