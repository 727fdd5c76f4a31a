"""Measure detection against gold annotations, and what the rendered output still shows.

Reads gold from three sources (per-document JSON, inline-markup sources, BIO CoNLL) and
predictions from the JSONL of `twophase spans`, then scores them: per label precision,
recall and F1 for exact spans and for overlapping spans, the share of gold characters any
prediction covers, and the leak rate of gold surfaces in rendered documents.

Invariant: a gold span always satisfies ``text[span.start:span.end] == span.text`` for the
document it was read with; the readers check it and raise `GoldMismatch` otherwise, so a
score never rests on drifted offsets. Pure functions over values: no spaCy, no vault.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from twophase.errors import TwophaseError
from twophase.formats import SUFFIXES, decode
from twophase.spans import Span

GoldSpan = Span
"""A gold mention has the same shape as a detected one: offsets, label, surface."""

LABELS: frozenset[str] = frozenset(
    {
        "PERSON",
        "LOCATION",
        "ORG",
        "EMAIL",
        "PHONE",
        "IBAN",
        "NIR",
        "SIRET",
        "SIREN",
        "ADDRESS",
        "BIRTHDATE",
        "URL",
        "IP",
        "PLATE",
        "CARD",
    }
)

CONLL_LABELS: Mapping[str, str] = {"PER": "PERSON", "LOC": "LOCATION", "ORG": "ORG"}
"""CoNLL entity types kept, and their twophase label; MISC is not personal data."""


class GoldMismatch(TwophaseError):
    """A gold file, markup source or CoNLL file disagrees with itself or its document."""


# --- gold: inline markup ------------------------------------------------------------------

_MARKUP = re.compile(r"\[\[([^\[\]|]+)\|([A-Z]+)\]\]")


def parse_markup(annotated: str, *, where: str = "<markup>") -> tuple[str, list[GoldSpan]]:
    """Plain text and gold spans from text marked up as ``[[Marie Dubois|PERSON]]``.

    Offsets are computed, never typed by hand: the plain text is the markup with each
    ``[[surface|LABEL]]`` replaced by ``surface``.
    """
    parts: list[str] = []
    spans: list[GoldSpan] = []
    length = 0
    pos = 0
    for match in _MARKUP.finditer(annotated):
        surface, label = match.group(1), match.group(2)
        if label not in LABELS:
            raise GoldMismatch(f"{where}: unknown label {label!r} at offset {match.start()}")
        if surface != surface.strip():
            raise GoldMismatch(f"{where}: span with outer whitespace at offset {match.start()}")
        before = annotated[pos : match.start()]
        parts.append(before)
        length += len(before)
        spans.append(GoldSpan(length, length + len(surface), label, surface))
        parts.append(surface)
        length += len(surface)
        pos = match.end()
    parts.append(annotated[pos:])
    text = "".join(parts)
    if "[[" in text or "]]" in text:
        raise GoldMismatch(f"{where}: malformed markup (unmatched '[[' or ']]')")
    return text, spans


# --- gold: JSON files ---------------------------------------------------------------------


def gold_to_json(document_name: str, spans: Iterable[GoldSpan]) -> dict[str, Any]:
    """The gold file schema: one object a document, entities sorted by offset."""
    return {
        "document_name": document_name,
        "entities": [
            {
                "entity_text": s.text,
                "entity_type": s.label,
                "start_pos": s.start,
                "end_pos": s.end,
            }
            for s in sorted(spans)
        ],
    }


def dump_gold(document_name: str, spans: Iterable[GoldSpan]) -> str:
    """A gold file's text: stable key order and indentation so diffs stay readable."""
    return json.dumps(gold_to_json(document_name, spans), ensure_ascii=False, indent=2) + "\n"


def load_gold_json(folder: Path | str) -> dict[str, list[GoldSpan]]:
    """Every ``*.json`` gold file under `folder`, keyed by its ``document_name``."""
    gold: dict[str, list[GoldSpan]] = {}
    for path in sorted(Path(folder).rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        name = data["document_name"]
        if name in gold:
            raise GoldMismatch(f"{path}: document {name!r} already has a gold file")
        gold[name] = sorted(
            GoldSpan(e["start_pos"], e["end_pos"], e["entity_type"], e["entity_text"])
            for e in data["entities"]
        )
    return gold


def read_texts(folder: Path | str) -> dict[str, str]:
    """The decoded text of every supported document under `folder`, by relative name.

    Decoding is the tool's own (`twophase.formats.decode`), so offsets agree with detect's.
    """
    root = Path(folder)
    return {
        path.relative_to(root).as_posix(): decode(path.read_bytes()).text
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.suffix.lower() in SUFFIXES
    }


def check_gold(gold: Mapping[str, Sequence[GoldSpan]], texts: Mapping[str, str]) -> list[str]:
    """Problems between gold and its documents; empty when consistent.

    Messages name documents and offsets only, never the text, like every twophase error.
    """
    problems: list[str] = []
    for name, spans in sorted(gold.items()):
        text = texts.get(name)
        if text is None:
            problems.append(f"{name}: gold file without a document")
            continue
        for i, span in enumerate(spans):
            if span.label not in LABELS:
                problems.append(f"{name}: entity {i} has unknown label {span.label!r}")
            if not 0 <= span.start < span.end <= len(text):
                problems.append(f"{name}: entity {i} offsets {span.start}-{span.end} out of range")
            elif text[span.start : span.end] != span.text:
                problems.append(f"{name}: entity {i} at {span.start}-{span.end} != entity_text")
        ordered = sorted(spans)
        for a, b in pairwise(ordered):
            if b.start < a.end:
                problems.append(f"{name}: entities at {a.start} and {b.start} overlap")
    return problems


# --- gold: CoNLL --------------------------------------------------------------------------


def load_conll(path: Path | str, *, limit: int | None = None) -> list[tuple[str, list[GoldSpan]]]:
    """Sentences of a BIO CoNLL file as (text, gold spans), at most `limit` of them.

    Lines are ``index<TAB>token<TAB>tag`` (the index column may be missing), a blank line
    ends a sentence. The text is the tokens joined by single spaces. PER, LOC and ORG map to
    PERSON, LOCATION and ORG; other types are dropped. An I- tag that does not continue an
    entity of its type starts one, as IOB1 files expect.
    """
    sentences: list[tuple[str, list[GoldSpan]]] = []
    tokens: list[tuple[str, str]] = []

    def flush() -> None:
        if tokens:
            sentences.append(_conll_sentence(tokens))
            tokens.clear()

    with Path(path).open(encoding="utf-8") as handle:
        for lineno, raw in enumerate(handle, 1):
            if limit is not None and len(sentences) >= limit:
                break
            line = raw.rstrip("\r\n")
            if not line.strip():
                flush()
                continue
            if line.startswith("#") or line.startswith("-DOCSTART-"):
                continue
            cols = line.split("\t")
            if len(cols) < 2 or not cols[-2]:
                raise GoldMismatch(f"{path}:{lineno}: expected index, token and tag columns")
            tokens.append((cols[-2], cols[-1].strip()))
    if limit is None or len(sentences) < limit:
        flush()
    return sentences


def _conll_sentence(tokens: Sequence[tuple[str, str]]) -> tuple[str, list[GoldSpan]]:
    spans: list[GoldSpan] = []
    open_label: str | None = None
    open_start = 0
    pos = 0
    words: list[str] = []
    end_prev = 0
    for token, tag in tokens:
        start = pos
        words.append(token)
        pos += len(token) + 1
        prefix, _, kind = tag.partition("-")
        label = CONLL_LABELS.get(kind) if prefix in ("B", "I") else None
        continues = prefix == "I" and label is not None and label == open_label
        if not continues:
            if open_label is not None:
                spans.append(GoldSpan(open_start, end_prev, open_label, ""))
            open_label, open_start = label, start
        end_prev = start + len(token)
    if open_label is not None:
        spans.append(GoldSpan(open_start, end_prev, open_label, ""))
    text = " ".join(words)
    return text, [GoldSpan(s.start, s.end, s.label, text[s.start : s.end]) for s in spans]


def write_documents(
    sentences: Sequence[tuple[str, Sequence[GoldSpan]]],
    docs_dir: Path | str,
    gold_dir: Path | str | None = None,
    *,
    per_document: int = 50,
    stem: str = "sentences",
) -> dict[str, list[GoldSpan]]:
    """Write sentences as documents of `per_document` lines, one sentence a line.

    Returns the gold keyed by document name, and writes it as gold JSON into `gold_dir`
    when given, so the real pipeline can run on the folder and be scored against it.
    """
    if per_document < 1:
        raise ValueError("per_document must be at least 1")
    docs = Path(docs_dir)
    docs.mkdir(parents=True, exist_ok=True)
    gold_out = Path(gold_dir) if gold_dir is not None else None
    if gold_out is not None:
        gold_out.mkdir(parents=True, exist_ok=True)
    gold: dict[str, list[GoldSpan]] = {}
    for n, first in enumerate(range(0, len(sentences), per_document), 1):
        lines: list[str] = []
        spans: list[GoldSpan] = []
        offset = 0
        for text, sentence_spans in sentences[first : first + per_document]:
            spans.extend(
                GoldSpan(s.start + offset, s.end + offset, s.label, s.text) for s in sentence_spans
            )
            lines.append(text)
            offset += len(text) + 1
        name = f"{stem}-{n:04d}.txt"
        (docs / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        if gold_out is not None:
            (gold_out / f"{stem}-{n:04d}.json").write_text(dump_gold(name, spans), "utf-8")
        gold[name] = spans
    return gold


# --- predictions --------------------------------------------------------------------------


def load_predictions(source: Path | str | Iterable[str]) -> dict[str, list[Span]]:
    """Spans from the JSONL of ``twophase spans``: a path, or its lines.

    Each line is ``{"document": name, "entities": [{"start", "end", "label", "text"}]}``;
    a document on several lines has its entities merged.
    """
    lines: Iterable[str]
    if isinstance(source, (str, Path)):
        lines = Path(source).read_text(encoding="utf-8").splitlines()
    else:
        lines = source
    predicted: dict[str, list[Span]] = defaultdict(list)
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            predicted[record["document"]].extend(
                Span(e["start"], e["end"], e["label"], e.get("text", ""))
                for e in record["entities"]
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise GoldMismatch(f"predictions line {lineno}: not a spans record") from exc
    return {name: sorted(spans) for name, spans in predicted.items()}


# --- scoring ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scores:
    """Precision, recall and F1 under one matching rule; None where undefined (0 of 0)."""

    matched_predicted: int
    matched_gold: int
    precision: float | None
    recall: float | None
    f1: float | None


@dataclass(frozen=True, slots=True)
class LabelReport:
    """One label's counts and scores; label ``ALL`` is the micro average over labels."""

    label: str
    gold: int
    predicted: int
    exact: Scores
    overlap: Scores
    gold_chars: int
    covered_chars: int
    char_coverage: float | None


@dataclass(frozen=True, slots=True)
class Report:
    """Detection scores for a batch."""

    documents: int
    labels: tuple[LabelReport, ...]
    overall: LabelReport
    missing_predictions: tuple[str, ...]
    """Gold documents with no predictions line (scored as finding nothing)."""
    unscored_predictions: tuple[str, ...]
    """Predicted documents without gold (ignored)."""


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _scores(matched_pred: int, predicted: int, matched_gold: int, gold: int) -> Scores:
    precision = _ratio(matched_pred, predicted)
    recall = _ratio(matched_gold, gold)
    if precision is None and recall is None:
        f1 = None
    else:
        p, r = precision or 0.0, recall or 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
    return Scores(matched_pred, matched_gold, precision, recall, f1)


def _overlapping(spans: Sequence[Span], others: Sequence[Span]) -> int:
    """How many of `spans` overlap at least one of `others` (by at least one character)."""
    if not spans or not others:
        return 0
    ordered = sorted((o.start, o.end) for o in others)
    starts = [s for s, _ in ordered]
    reach: list[int] = []  # reach[i]: furthest end among the first i+1 others
    best = -1
    for _, end in ordered:
        best = max(best, end)
        reach.append(best)
    count = 0
    for span in spans:
        # Others starting before span.end; the one reaching furthest decides.
        k = bisect_left(starts, span.end)
        if k and reach[k - 1] > span.start:
            count += 1
    return count


def _chars(spans: Iterable[Span]) -> set[int]:
    covered: set[int] = set()
    for span in spans:
        covered.update(range(span.start, span.end))
    return covered


@dataclass
class _Tally:
    gold: int = 0
    predicted: int = 0
    exact: int = 0
    overlap_pred: int = 0
    overlap_gold: int = 0
    gold_chars: int = 0
    covered_chars: int = 0

    def report(self, label: str) -> LabelReport:
        return LabelReport(
            label=label,
            gold=self.gold,
            predicted=self.predicted,
            exact=_scores(self.exact, self.predicted, self.exact, self.gold),
            overlap=_scores(self.overlap_pred, self.predicted, self.overlap_gold, self.gold),
            gold_chars=self.gold_chars,
            covered_chars=self.covered_chars,
            char_coverage=_ratio(self.covered_chars, self.gold_chars),
        )


def score(
    gold: Mapping[str, Sequence[GoldSpan]],
    predicted: Mapping[str, Sequence[Span]],
    *,
    labels: Collection[str] | None = None,
) -> Report:
    """Score `predicted` against `gold`, document by document, label by label.

    Exact: same start, end and label. Overlap: a prediction counts for precision if it
    shares a character with a gold span of its label, and a gold span counts for recall if
    some prediction of its label shares a character with it. Character coverage is
    label-blind: the share of gold characters under any prediction, since any replacement
    hides them. `labels` restricts the scored labels (coverage still uses every prediction).
    Only gold documents are scored; duplicate spans count once.
    """
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    overall = _Tally()

    def keep(span: Span) -> bool:
        return labels is None or span.label in labels

    for name, gold_spans in gold.items():
        all_pred = set(predicted.get(name, ()))
        gold_kept = {s for s in gold_spans if keep(s)}
        pred_kept = {s for s in all_pred if keep(s)}
        covering = _chars(all_pred)
        for label in {s.label for s in gold_kept} | {s.label for s in pred_kept}:
            g = [s for s in gold_kept if s.label == label]
            p = [s for s in pred_kept if s.label == label]
            tally = tallies[label]
            tally.gold += len(g)
            tally.predicted += len(p)
            tally.exact += len({(s.start, s.end) for s in g} & {(s.start, s.end) for s in p})
            tally.overlap_pred += _overlapping(p, g)
            tally.overlap_gold += _overlapping(g, p)
            label_chars = _chars(g)
            tally.gold_chars += len(label_chars)
            tally.covered_chars += len(label_chars & covering)
        gold_chars = _chars(gold_kept)
        overall.gold_chars += len(gold_chars)
        overall.covered_chars += len(gold_chars & covering)
    for tally in tallies.values():
        overall.gold += tally.gold
        overall.predicted += tally.predicted
        overall.exact += tally.exact
        overall.overlap_pred += tally.overlap_pred
        overall.overlap_gold += tally.overlap_gold
    return Report(
        documents=len(gold),
        labels=tuple(tallies[label].report(label) for label in sorted(tallies)),
        overall=overall.report("ALL"),
        missing_predictions=tuple(sorted(set(gold) - set(predicted))),
        unscored_predictions=tuple(sorted(set(predicted) - set(gold))),
    )


# --- leaks --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeakCount:
    """Distinct (document, surface) pairs of one label, and how many are still readable."""

    label: str
    surfaces: int
    leaked: int
    rate: float | None


@dataclass(frozen=True, slots=True)
class Leak:
    document: str
    label: str
    text: str


@dataclass(frozen=True, slots=True)
class LeakReport:
    """What of the gold a reader can still find, word for word, in the rendered output."""

    documents: int
    labels: tuple[LeakCount, ...]
    overall: LeakCount
    leaks: tuple[Leak, ...]
    missing_documents: tuple[str, ...]
    """Gold documents with no rendered text (not counted)."""


def readable(surface: str, text: str) -> bool:
    """Whether `surface` appears in `text` as a whole word, case-sensitive.

    "Rose" is readable in "Rose a dit" and "Rose-Marie", not in "rose" or "Rosette". Runs
    of whitespace inside the surface match any whitespace, so a re-wrapped line still leaks.
    """
    words = surface.split()
    if not words:
        return False
    pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)"
    return re.search(pattern, text) is not None


def leak_rate(gold: Mapping[str, Sequence[GoldSpan]], rendered: Mapping[str, str]) -> LeakReport:
    """Share of distinct (document, gold surface) pairs still readable in that document."""
    per_label: dict[str, set[tuple[str, str]]] = defaultdict(set)
    leaked_label: dict[str, set[tuple[str, str]]] = defaultdict(set)
    pairs: set[tuple[str, str]] = set()
    leaked: set[tuple[str, str]] = set()
    leaks: list[Leak] = []
    missing: list[str] = []
    for name in sorted(gold):
        text = rendered.get(name)
        if text is None:
            missing.append(name)
            continue
        for span in sorted(gold[name], key=lambda s: (s.label, s.text)):
            key = (name, span.text)
            if key in per_label[span.label]:
                continue
            per_label[span.label].add(key)
            pairs.add(key)
            if readable(span.text, text):
                leaked_label[span.label].add(key)
                leaked.add(key)
                leaks.append(Leak(name, span.label, span.text))
    counts = tuple(
        LeakCount(
            label,
            len(per_label[label]),
            len(leaked_label[label]),
            _ratio(len(leaked_label[label]), len(per_label[label])),
        )
        for label in sorted(per_label)
    )
    return LeakReport(
        documents=len(gold) - len(missing),
        labels=counts,
        overall=LeakCount("ALL", len(pairs), len(leaked), _ratio(len(leaked), len(pairs))),
        leaks=tuple(leaks),
        missing_documents=tuple(missing),
    )


# --- output -------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "    -" if value is None else f"{value:5.3f}"


def format_report(report: Report | LeakReport) -> str:
    """A fixed-width table for a terminal; leaked surfaces are not printed (see to_json)."""
    if isinstance(report, LeakReport):
        return _format_leaks(report)
    head = (
        f"{'label':<10} {'gold':>6} {'pred':>6}   "
        f"{'exact P':>7} {'R':>5} {'F1':>5}   {'overlap P':>9} {'R':>5} {'F1':>5}   "
        f"{'chars':>5}"
    )
    lines = [f"documents: {report.documents}", head, "-" * len(head)]
    for row in (*report.labels, report.overall):
        if row is report.overall:
            lines.append("-" * len(head))
        lines.append(
            f"{row.label:<10} {row.gold:>6} {row.predicted:>6}   "
            f"{_fmt(row.exact.precision):>7} {_fmt(row.exact.recall)} {_fmt(row.exact.f1)}   "
            f"{_fmt(row.overlap.precision):>9} {_fmt(row.overlap.recall)} "
            f"{_fmt(row.overlap.f1)}   {_fmt(row.char_coverage)}"
        )
    lines.append("chars: share of gold characters under any predicted span (label-blind)")
    if report.missing_predictions:
        lines.append(f"gold documents without predictions: {len(report.missing_predictions)}")
    if report.unscored_predictions:
        lines.append(f"predicted documents without gold: {len(report.unscored_predictions)}")
    return "\n".join(lines)


def _format_leaks(report: LeakReport) -> str:
    head = f"{'label':<10} {'surfaces':>8} {'leaked':>7} {'rate':>6}"
    lines = [f"rendered documents: {report.documents}", head, "-" * len(head)]
    for row in (*report.labels, report.overall):
        if row is report.overall:
            lines.append("-" * len(head))
        lines.append(f"{row.label:<10} {row.surfaces:>8} {row.leaked:>7} {_fmt(row.rate):>6}")
    lines.append("surfaces: distinct (document, gold surface) pairs; leaked: still a whole word")
    if report.missing_documents:
        lines.append(f"gold documents not rendered: {len(report.missing_documents)}")
    return "\n".join(lines)


def to_json(report: Report | LeakReport) -> str:
    """The report as JSON; a LeakReport includes the leaked surfaces, so keep it private."""
    return json.dumps(asdict(report), ensure_ascii=False, indent=2)
