"""Model span hygiene: cut spans at characters no name holds, and drop those that are not names.

Invariant: a cleaned span lies inside the model span it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from twophase.detection.context.found import WORD
from twophase.detection.context.lexicon import (
    CALENDAR,
    FIELD_WORDS,
    GREETINGS,
    JOB_WORDS,
    LEGAL_FORM,
    PARTICLES,
    VERB_PRONOUN,
    fold,
    stop_words,
)
from twophase.detection.context.tokens import TOKEN, Line, Tok, caps_line, has_given
from twophase.spans import Span
from twophase.titles import leading_title
from twophase.words import HYPHENS

# Characters no name holds: a model span containing one is cut there.
_CUT = re.compile(r"[\n\r|\t:;<>()\[\]«»\"“”•!?/@=+*#_]|\s[–—-]\s|\s{2,}|[–—]")
# Quotes, brackets and punctuation the model sometimes takes in at a span's edges; a final
# full stop stays ("M.", "J.-P.").
_EDGE_JUNK = re.compile(r"^[\s\"'«»“”‘’(\[,;:.–—-]+|[\s\"'«»“”‘’)\],;:–—-]+$")


def trim_edges(text: str, start: int, end: int) -> tuple[int, int]:
    """`start, end` narrowed past the junk at the edges of text[start:end]."""
    head = _EDGE_JUNK.match(text[start:end])
    if head:
        start += head.end()
    tail = _EDGE_JUNK.search(text[start:end])
    if tail and tail.start() > 0:
        end = start + tail.start()
    return start, end


def _fragments(text: str, span: Span) -> Iterator[Span]:
    pos = span.start
    cuts = [(m.start(), m.end()) for m in _CUT.finditer(text, span.start, span.end)]
    for a, b in [*cuts, (span.end, span.end)]:
        start, end = trim_edges(text, pos, a)
        pos = b
        if sum(c.isalpha() for c in text[start:end]) >= 2:
            yield Span(start, end, span.label, text[start:end])


def clean(text: str, span: Span) -> Iterator[tuple[Span, bool]]:
    """Cleaned pieces of a model span, each with whether it is the span's first piece."""
    for n, piece in enumerate(_fragments(text, span)):
        start, end, label = piece.start, piece.end, piece.label
        if label == "PERSON":
            # Greetings and titles the model took in: "Bonjour Marie", "Monsieur Girard".
            while True:
                m = WORD.match(text, start, end)
                if m is None:
                    break
                if fold(m.group()) in GREETINGS and m.end() < end:
                    start = m.end()
                    while start < end and text[start] in " ,\u00a0":
                        start += 1
                    continue
                cut, _ = leading_title(text[start:end])
                if cut:
                    start += cut
                    continue
                break
            if LEGAL_FORM.search(text[start:end]):
                label = "ORG"  # "Certifalp SARL"
        surface = text[start:end]
        if sum(c.isalpha() for c in surface) < 2:
            continue
        words = [fold(w) for w in WORD.findall(surface)]
        if not words:
            continue
        if len(words) == 1 and (
            words[0] in FIELD_WORDS
            or words[0] in CALENDAR
            or words[0] in GREETINGS
            or words[0] in JOB_WORDS
            or words[0] in stop_words()
        ):
            continue  # "Cc", "Objet", "Madame", "Bonjour", "ENQUÊTEUR", "Lundi"
        if len(words) == 1 and surface.islower():
            continue  # "principal", "croyez": French capitalises names
        if VERB_PRONOUN.match(text, end):
            continue  # "Pouvez-vous", "Croyez-moi": a verb, whatever its capital

        # A hyphen joins one word, which the model sometimes cuts: "Sophie Nguyen" of "Sophie
        # Nguyen-Lambert", "Xavier Dupont" of "François-Xavier Dupont", "Paris" of
        # "Paris-Nice". Half a compound left in clear is still readable (the leak check
        # found these on WikiNEuRal).
        while end + 1 < len(text) and text[end] in HYPHENS and text[end + 1].isalpha():
            end += 1
            while end < len(text) and (text[end].isalpha() or text[end] in "'’"):
                end += 1
        while start >= 2 and text[start - 1] in HYPHENS and text[start - 2].isalpha():
            start -= 1
            while start > 0 and (text[start - 1].isalpha() or text[start - 1] in "'’"):
                start -= 1
        surface = text[start:end]
        yield Span(start, end, label, surface), n == 0


_OPENING_QUOTE = re.compile(r"[\"«“][ \u00a0]*$")
_CLOSING_QUOTE = re.compile(r"[ \u00a0]*[\"»”]")


def _quoted(text: str, span: Span) -> bool:
    return bool(
        _OPENING_QUOTE.search(text, max(0, span.start - 3), span.start)
        and _CLOSING_QUOTE.match(text, span.end)
    )


def drop(
    text: str, span: Span, first: bool, line: Line, evidence: set[str], line_starts: set[int]
) -> bool:
    """A model span that is not a name after all."""
    words = [Tok(m.start(), m.end(), m.group()) for m in TOKEN.finditer(text, span.start, span.end)]
    if not words:
        return True
    if span.label in ("PERSON", "ORG") and all(
        w.key in JOB_WORDS or w.key in PARTICLES or w.key in stop_words() for w in words
    ):
        return True  # "Directeur Commercial", "Le Président", "Direction Générale"
    if span.label != "PERSON":
        return False
    if words[0].key in JOB_WORDS and not has_given(words):
        return True  # "Responsable Grands Comptes", "Directeur"
    if _quoted(text, span) and not has_given(words):
        return True  # the whole of a quotation: a title (" Evita ", « Taggart »), not a person
    vouched = has_given(words) or any(w.key in evidence for w in words)
    if not first and not vouched:
        return True  # "Marie – Lumen Études": what follows a cut is rarely the same name
    if all(w.caps or w.key in PARTICLES for w in words) and caps_line(text, line):
        return not vouched  # a heading in capitals
    if len(words) == 1 and span.start in line_starts and not vouched:
        key = words[0].key
        # "Rédigées par", "Pourquoi ...": a common word opening a line.
        return key in stop_words() or key in FIELD_WORDS
    return False
