"""Rules read from the layout: capitals, comma lists, list blocks, tables and greetings.

Invariant: a rule only proposes spans (into `Found`); it never drops or rewrites one.
"""

from __future__ import annotations

import re

from twophase.detection.context.found import (
    GREETING_AT,
    TITLE_AT,
    VALUE_END,
    Found,
    label_key,
    value_name,
)
from twophase.detection.context.lexicon import (
    FIELD_WORDS,
    JOB_WORDS,
    LIST_HEADERS,
    NAME_COLUMNS,
    ORG_COLUMNS,
    PARTICLES,
    is_given,
    stop_words,
    surnames,
)
from twophase.detection.context.tokens import (
    SEP,
    TOKEN,
    Line,
    Tok,
    has_given,
    looks_like_job,
    scan_name,
)


def caps_pairs(text: str, lines: list[Line], found: Found) -> None:
    """ "DUBOIS Marie", "GAUTHIER Pierre-Yves", "Marie DUBOIS": capitals next to a first name."""
    for line in lines:
        # Most lines hold no word in capitals: skip them before tokenising.
        if any(len(w) > 1 and w.isupper() for w in text[line.start : line.end].split()):
            _caps_pairs_in(text, line, found)


def _caps_pairs_in(text: str, line: Line, found: Found) -> None:
    toks = [Tok(m.start(), m.end(), m.group()) for m in TOKEN.finditer(text, line.start, line.end)]
    n = len(toks)
    i = 0
    while i < n:
        j = i
        # A run of capitals (particles in capitals included), single spaces between.
        while (
            j < n
            and toks[j].caps
            and not toks[j].initials
            and (toks[j].key not in stop_words() or toks[j].key in PARTICLES)
            and toks[j].key not in JOB_WORDS
            and toks[j].key not in FIELD_WORDS
            and (j == i or SEP.fullmatch(text, toks[j - 1].end, toks[j].start))
        ):
            j += 1
        if j == i:
            i += 1
            continue
        caps = toks[i:j]
        while caps and caps[-1].key in PARTICLES:
            caps.pop()
        after = [t for t in toks[j : j + 2] if not t.caps and t.capitalised]
        after = after[:1] if after else []
        before = toks[i - 1] if i else None
        if caps and after and SEP.fullmatch(text, caps[-1].end, after[0].start):
            if is_given(after[0].text):
                found.add(caps[0].start, after[0].end)
        elif (
            caps
            and before is not None
            and before.capitalised
            and not before.caps
            and is_given(before.text)
            and SEP.fullmatch(text, before.end, caps[0].start)
        ):
            found.add(before.start, caps[-1].end)
        i = max(j, i + 1)


def comma_lists(text: str, lines: list[Line], found: Found, evidence: set[str]) -> None:
    """Attendee lists: "de Villiers, Jean-Baptiste — Président", one a line."""
    shaped: list[tuple[int, list[Tok], int]] = []  # line index, tokens, comma position
    for i, line in enumerate(lines):
        pos = line.start
        while pos < line.end and text[pos] in " \t-*•":
            pos += 1
        end, family = scan_name(text, pos, line.end)
        if not family or not text.startswith(", ", end):
            continue
        end2, given = scan_name(text, end + 2, line.end, max_words=3)
        if not given or not VALUE_END.match(text, end2, line.end):
            continue
        if looks_like_job(family) or looks_like_job(given):
            continue
        shaped.append((i, family + given, end))
    indices = {i for i, _, _ in shaped}
    for i, toks, _ in shaped:
        listed = (i - 1) in indices or (i + 1) in indices
        if listed or has_given(toks) or any(t.key in surnames() or t.key in evidence for t in toks):
            found.add_toks(toks)


def list_blocks(text: str, lines: list[Line], found: Found) -> None:
    """Lines under "Présents :", "PARTICIPANTS"…: the name that opens each line."""
    inside = False
    for line in lines:
        raw = line.text(text).strip()
        if not raw:
            inside = False
            continue
        head = label_key(raw.rstrip(": ").strip("*#_ "))
        if head in LIST_HEADERS:
            inside = True
            continue
        if not inside:
            continue
        pos = line.start
        while pos < line.end and text[pos] in " \t-*•":
            pos += 1
        toks = value_name(text, pos, line.end)
        if toks and not looks_like_job(toks):
            found.add_toks(toks)


def tables(text: str, lines: list[Line], found: Found) -> None:
    """Columns headed "Nom", "NOM PRÉNOM", "Participant"… in pipe or semicolon tables."""
    columns: dict[int, str] | None = None
    sep = ""
    for line in lines:
        raw = line.text(text)
        if columns is not None and sep in raw:
            if re.fullmatch(r"[\s|:\-+]*", raw):
                continue  # Markdown separator row
            _table_row(text, line, sep, columns, found)
            continue
        columns = None
        for candidate in ("|", ";", "\t"):
            if raw.count(candidate) >= 1 and candidate in raw:
                cells = _cells(raw, candidate)
                wanted = {}
                for k, (_, _, cell) in enumerate(cells):
                    key = label_key(cell.strip("*_ "))
                    if key in NAME_COLUMNS:
                        wanted[k] = "PERSON"
                    elif key in ORG_COLUMNS:
                        wanted[k] = "ORG"
                if "PERSON" in wanted.values():
                    columns, sep = wanted, candidate
                    break


def _cells(raw: str, sep: str) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    pos = 0
    parts = raw.split(sep)
    if sep == "|" and raw.strip().startswith("|"):
        pos = raw.index("|") + 1
        parts = raw[pos:].split(sep)
    for part in parts:
        out.append((pos, pos + len(part), part))
        pos += len(part) + 1
    return out


def _table_row(text: str, line: Line, sep: str, columns: dict[int, str], found: Found) -> None:
    cells = _cells(line.text(text), sep)
    for k, label in columns.items():
        if k >= len(cells):
            continue
        a, b, cell = cells[k]
        start = line.start + a + (len(cell) - len(cell.lstrip()))
        stop = line.start + b - (len(cell) - len(cell.rstrip()))
        paren = text.find("(", start, stop)
        if paren >= 0:
            stop = paren
        while stop > start and text[stop - 1] in " \t":
            stop -= 1
        if stop <= start:
            continue
        if label == "PERSON":
            toks = value_name(text, start, stop)
            if toks and toks[-1].end == stop and not looks_like_job(toks):
                found.add_toks(toks)
        elif any(c.isupper() for c in text[start:stop]):
            found.add(start, stop, "ORG")


def greetings(text: str, found: Found) -> None:
    for m in GREETING_AT.finditer(text):
        line_end = text.find("\n", m.end())
        limit = len(text) if line_end < 0 else line_end
        if TITLE_AT.match(text, m.end()):
            continue  # "Bonjour M. Dubois": the title rule takes it
        end, toks = scan_name(text, m.end(), limit, max_words=3)
        if toks and re.match(r"[ \t]*(?:$|[,.!;:?])", text[end:limit]) and not looks_like_job(toks):
            found.add_toks(toks)
