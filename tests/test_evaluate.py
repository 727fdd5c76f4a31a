"""The evaluation harness scores what it claims, and the committed gold matches its documents."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iban, luhn
from stdnum.fr import nir, siren, siret

from twophase.evaluate import (
    GoldMismatch,
    GoldSpan,
    LabelReport,
    LeakReport,
    Report,
    check_gold,
    format_report,
    leak_rate,
    load_conll,
    load_gold_json,
    load_predictions,
    parse_markup,
    read_texts,
    readable,
    score,
    to_json,
    write_documents,
)
from twophase.spans import Span

ROOT = Path(__file__).resolve().parents[1]
GOLD_SETS = [
    pytest.param(ROOT / "examples", "corpus", id="examples"),
    pytest.param(ROOT / "tests/data/hardcases", "docs", id="hardcases"),
]


def span(text: str, surface: str, label: str = "PERSON", nth: int = 0) -> Span:
    """The `nth` occurrence of `surface` in `text` as a span."""
    starts = [m.start() for m in re.finditer(re.escape(surface), text)]
    start = starts[nth]
    return Span(start, start + len(surface), label, surface)


def by_label(report: Report, label: str) -> LabelReport:
    return next(row for row in report.labels if row.label == label)


# --- markup -------------------------------------------------------------------------------


def test_markup_offsets_point_at_the_surface() -> None:
    text, spans = parse_markup("Mme [[Marie Dubois|PERSON]] habite à [[Lyon|LOCATION]].")
    assert text == "Mme Marie Dubois habite à Lyon."
    assert spans == [Span(4, 16, "PERSON", "Marie Dubois"), Span(26, 30, "LOCATION", "Lyon")]
    assert all(text[s.start : s.end] == s.text for s in spans)


@pytest.mark.parametrize(
    "bad", ["[[Marie|PERS]]", "[[Marie Dubois|PERSON]", "[[ Marie|PERSON]]", "voir [[note]]"]
)
def test_malformed_markup_is_refused(bad: str) -> None:
    with pytest.raises(GoldMismatch):
        parse_markup(bad)


# --- scoring ------------------------------------------------------------------------------

TEXT = "Marie Dubois a vu Marc Dubois à Lyon."


def test_exact_and_overlap_disagree_on_a_partial_span() -> None:
    gold = {"a.txt": [span(TEXT, "Marie Dubois")]}
    predicted = {"a.txt": [span(TEXT, "Marie")]}
    person = by_label(score(gold, predicted), "PERSON")
    assert (person.exact.precision, person.exact.recall, person.exact.f1) == (0.0, 0.0, 0.0)
    assert (person.overlap.precision, person.overlap.recall, person.overlap.f1) == (1.0, 1.0, 1.0)


def test_overlap_needs_the_same_label_but_character_coverage_does_not() -> None:
    gold = {"a.txt": [span(TEXT, "Marie Dubois"), span(TEXT, "Lyon", "LOCATION")]}
    predicted = {"a.txt": [span(TEXT, "Marie", "LOCATION"), span(TEXT, "Lyon", "LOCATION")]}
    report = score(gold, predicted)
    person, location = by_label(report, "PERSON"), by_label(report, "LOCATION")
    assert person.overlap.recall == 0.0
    assert person.overlap.precision is None  # no PERSON prediction: undefined, not 0
    assert location.exact.precision == 0.5
    assert location.overlap.precision == 0.5
    assert location.exact.recall == 1.0
    assert person.covered_chars == 5 and person.gold_chars == 12
    assert report.overall.char_coverage == pytest.approx((5 + 4) / (12 + 4))


def test_micro_average_sums_labels() -> None:
    gold = {"a.txt": [span(TEXT, "Marie Dubois"), span(TEXT, "Marc Dubois")]}
    predicted = {"a.txt": [span(TEXT, "Marie Dubois"), span(TEXT, "Lyon", "LOCATION")]}
    report = score(gold, predicted)
    assert [row.label for row in report.labels] == ["LOCATION", "PERSON"]
    assert report.overall.gold == 2 and report.overall.predicted == 2
    assert report.overall.exact.precision == 0.5
    assert report.overall.exact.recall == 0.5
    assert by_label(report, "LOCATION").exact.recall is None


def test_duplicate_predictions_count_once() -> None:
    gold = {"a.txt": [span(TEXT, "Marie Dubois")]}
    predicted = {"a.txt": [span(TEXT, "Marie Dubois")] * 3}
    assert by_label(score(gold, predicted), "PERSON").exact.precision == 1.0


def test_missing_and_extra_documents_are_reported() -> None:
    gold = {"a.txt": [span(TEXT, "Lyon", "LOCATION")], "b.txt": []}
    predicted = {"b.txt": [], "c.txt": [span(TEXT, "Lyon", "LOCATION")]}
    report = score(gold, predicted)
    assert report.missing_predictions == ("a.txt",)
    assert report.unscored_predictions == ("c.txt",)
    assert report.overall.predicted == 0 and report.overall.exact.recall == 0.0


def test_labels_restrict_scoring_but_not_coverage() -> None:
    gold = {"a.txt": [span(TEXT, "Lyon", "LOCATION"), span(TEXT, "Marc Dubois")]}
    predicted = {"a.txt": [span(TEXT, "Lyon", "ADDRESS")]}
    report = score(gold, predicted, labels={"LOCATION"})
    assert [row.label for row in report.labels] == ["LOCATION"]
    assert report.overall.gold == 1
    assert report.overall.char_coverage == 1.0


spans_strategy = st.lists(
    st.tuples(st.integers(0, 40), st.integers(1, 8), st.sampled_from(["PERSON", "ORG"])),
    max_size=8,
).map(lambda xs: [Span(s, s + n, label, "x" * n) for s, n, label in xs])


@given(spans_strategy)
def test_perfect_prediction_scores_one(gold_spans: list[Span]) -> None:
    gold = {"d": gold_spans}
    report = score(gold, {"d": list(gold_spans)})
    if not gold_spans:  # nothing to find and nothing found: counted as such
        assert report.overall.gold == 0 and report.overall.predicted == 0
        return
    assert report.overall.exact.f1 == 1.0
    assert report.overall.overlap.f1 == 1.0
    assert report.overall.char_coverage == 1.0


@given(spans_strategy, spans_strategy)
def test_overlap_is_never_stricter_than_exact(gold_spans: list[Span], pred: list[Span]) -> None:
    report = score({"d": gold_spans}, {"d": pred})
    for row in (*report.labels, report.overall):
        assert row.overlap.matched_predicted >= row.exact.matched_predicted
        assert row.overlap.matched_gold >= row.exact.matched_gold
        assert 0 <= row.covered_chars <= row.gold_chars


def test_report_formats_and_serialises() -> None:
    gold = {"a.txt": [span(TEXT, "Marie Dubois")]}
    report = score(gold, {"a.txt": [span(TEXT, "Marie Dubois")]})
    table = format_report(report)
    assert "PERSON" in table and "ALL" in table and "1.000" in table
    assert json.loads(to_json(report))["overall"]["exact"]["f1"] == 1.0


# --- leaks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rendered", "leaks"),
    [
        ("Rose a dit bonjour.", True),
        ("Bonjour, Rose.", True),
        ("Rose-Marie est venue.", True),
        ("une rose rouge", False),
        ("Rosette est venue.", False),
        ("PrimeRose", False),
        ("ROSE", False),
    ],
)
def test_leak_is_a_whole_case_sensitive_word(rendered: str, leaks: bool) -> None:
    assert readable("Rose", rendered) is leaks


def test_leak_survives_rewrapping() -> None:
    assert readable("Marie Dubois", "vu par Marie\nDubois hier")


def test_leak_rate_counts_distinct_surfaces_per_document() -> None:
    gold = {
        "a.txt": [Span(0, 4, "PERSON", "Rose"), Span(10, 14, "PERSON", "Rose")],
        "b.txt": [Span(0, 4, "PERSON", "Rose"), Span(8, 12, "LOCATION", "Lyon")],
        "c.txt": [Span(0, 4, "PERSON", "Rose")],
    }
    rendered = {"a.txt": "Rose et une rose", "b.txt": "Léa et une rose à Lyon"}
    report = leak_rate(gold, rendered)
    assert isinstance(report, LeakReport)
    assert report.missing_documents == ("c.txt",)
    assert (report.overall.surfaces, report.overall.leaked) == (3, 2)
    person = next(row for row in report.labels if row.label == "PERSON")
    assert (person.surfaces, person.leaked, person.rate) == (2, 1, 0.5)
    assert {(leak.document, leak.text) for leak in report.leaks} == {
        ("a.txt", "Rose"),
        ("b.txt", "Lyon"),
    }
    assert "PERSON" in format_report(report)
    assert "Rose" not in format_report(report)  # the table never prints surfaces


# --- CoNLL --------------------------------------------------------------------------------

CONLL = (
    "0\tMarie\tB-PER\n1\tDubois\tI-PER\n2\thabite\tO\n3\tà\tO\n4\tVilleurbanne\tB-LOC\n"
    "5\t(\tO\n6\tRhône\tI-LOC\n7\t)\tO\n8\tet\tO\n9\tlit\tO\n10\tLe\tB-MISC\n11\tMonde\tI-MISC\n"
    "\n"
    "0\tLa\tO\n1\tSNCF\tB-ORG\n2\tet\tO\n3\tAir\tB-ORG\n4\tFrance\tI-ORG\n5\t.\tO\n"
    "\n"
    "0\tTroisième\tO\n1\tphrase\tO\n"
)


def test_conll_offsets_point_at_the_entity_text(tmp_path: Path) -> None:
    path = tmp_path / "val.conllu"
    path.write_text(CONLL, encoding="utf-8")
    sentences = load_conll(path)
    assert len(sentences) == 3
    text, spans = sentences[0]
    assert text == "Marie Dubois habite à Villeurbanne ( Rhône ) et lit Le Monde"
    assert [(s.label, s.text) for s in spans] == [
        ("PERSON", "Marie Dubois"),
        ("LOCATION", "Villeurbanne"),
        ("LOCATION", "Rhône"),  # I- after O starts an entity; MISC is dropped
    ]
    assert [(s.label, s.text) for s in sentences[1][1]] == [("ORG", "SNCF"), ("ORG", "Air France")]
    for text, spans in sentences:
        assert all(text[s.start : s.end] == s.text for s in spans)
    assert len(load_conll(path, limit=2)) == 2
    assert load_conll(path, limit=0) == []


def test_conll_documents_keep_offsets_and_round_trip_gold(tmp_path: Path) -> None:
    path = tmp_path / "val.conllu"
    path.write_text(CONLL, encoding="utf-8")
    gold = write_documents(
        load_conll(path), tmp_path / "docs", tmp_path / "gold", per_document=2, stem="wn"
    )
    assert sorted(gold) == ["wn-0001.txt", "wn-0002.txt"]
    texts = read_texts(tmp_path / "docs")
    assert texts["wn-0001.txt"].splitlines()[1] == "La SNCF et Air France ."
    assert check_gold(gold, texts) == []
    assert load_gold_json(tmp_path / "gold") == gold


# --- predictions --------------------------------------------------------------------------


def test_predictions_from_lines_and_from_a_file(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "document": "a.txt",
                "entities": [{"start": 0, "end": 4, "label": "PERSON", "text": "Rose"}],
            }
        ),
        "",
        json.dumps({"document": "b/c.md", "entities": []}),
        json.dumps(
            {
                "document": "a.txt",
                "entities": [{"start": 9, "end": 13, "label": "LOCATION", "text": "Lyon"}],
            }
        ),
    ]
    predicted = load_predictions(lines)
    assert predicted == {
        "a.txt": [Span(0, 4, "PERSON", "Rose"), Span(9, 13, "LOCATION", "Lyon")],
        "b/c.md": [],
    }
    path = tmp_path / "spans.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert load_predictions(path) == predicted
    with pytest.raises(GoldMismatch):
        load_predictions(['{"document": "a.txt"}'])


# --- the committed gold -------------------------------------------------------------------


@pytest.mark.parametrize(("root", "docs"), GOLD_SETS)
def test_every_gold_file_matches_its_document(root: Path, docs: str) -> None:
    gold = load_gold_json(root / "gold")
    texts = read_texts(root / docs)
    assert gold, "no gold files"
    assert sorted(gold) == sorted(texts), "every document has exactly one gold file"
    assert check_gold(gold, texts) == []


@pytest.mark.parametrize(("root", "docs"), GOLD_SETS)
def test_generated_files_are_up_to_date_with_their_markup(root: Path, docs: str) -> None:
    """Regenerate with `.venv/bin/python bench/make_gold.py` when this fails."""
    gold = load_gold_json(root / "gold")
    texts = read_texts(root / docs)
    sources = read_texts(root / "annotated")
    assert sorted(sources) == sorted(texts)
    for name, annotated in sources.items():
        text, spans = parse_markup(annotated, where=name)
        assert text == texts[name], f"{name}: document is stale"
        assert spans == gold[name], f"{name}: gold is stale"


def _gold_spans() -> list[GoldSpan]:
    spans: list[GoldSpan] = []
    for param in GOLD_SETS:
        root = param.values[0]
        assert isinstance(root, Path)
        for doc_spans in load_gold_json(root / "gold").values():
            spans.extend(doc_spans)
    return spans


def test_fictional_identifiers_pass_their_checksums() -> None:
    """Recognizers validate checksums; a typo in the corpus would hide a true entity."""
    validators = {
        "IBAN": iban.is_valid,
        "SIRET": siret.is_valid,
        "SIREN": siren.is_valid,
        "NIR": nir.is_valid,
        "CARD": luhn.is_valid,
    }
    checked = 0
    for s in _gold_spans():
        if s.label in validators:
            assert validators[s.label](re.sub(r"\s", "", s.text)), f"{s.label} {s.text}"
            checked += 1
    assert checked >= 10


def test_phone_numbers_are_in_the_fiction_ranges() -> None:
    """ARCEP reserves 01 99 00 xx xx and 06 39 98 xx xx for fiction: no real subscriber."""
    phones = [s.text for s in _gold_spans() if s.label == "PHONE"]
    assert phones
    for phone in phones:
        digits = re.sub(r"\D", "", phone.replace("(0)", ""))
        national = "0" + digits[2:] if digits.startswith("33") else digits
        assert national[:6] in {"019900", "063998"}, phone
