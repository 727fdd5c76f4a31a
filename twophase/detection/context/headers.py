"""Rules for labelled places: titles, speaker turns, fields, mail headers and signatures.

Invariant: a rule only proposes spans (into `Found`); it never drops or rewrites one.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterator

from twophase.detection.context.found import (
    FIELD,
    HEADER,
    SPEAKER_END,
    TITLE_AT,
    WORD,
    Found,
    label_key,
    value_name,
)
from twophase.detection.context.lexicon import (
    CLOSINGS,
    JOB_WORDS,
    LEGAL_AFTER,
    OPENING_PARTICLES,
    PARTICLES,
    PERSON_FIELDS,
    SERVICE_WORDS,
    fold,
    surnames,
)
from twophase.detection.context.tokens import (
    TOKEN,
    Line,
    Tok,
    blank,
    has_given,
    looks_like_job,
    scan_name,
)


def titles(text: str, found: Found) -> None:
    for m in TITLE_AT.finditer(text):
        line_end = text.find("\n", m.end())
        limit = len(text) if line_end < 0 else line_end
        first = TOKEN.match(text, m.end(), limit)
        if first is None:
            continue
        key = fold(first.group())
        if key in PARTICLES and key not in OPENING_PARTICLES and not first.group()[0].isupper():
            continue  # "Monsieur le Maire"
        # In capitals the sentence goes on in capitals too: "M. DUBOIS N'A PAS RENDU".
        caps = Tok(first.start(), first.end(), first.group()).caps
        _, toks = scan_name(text, m.end(), limit, max_words=2 if caps else 4)
        if toks and not looks_like_job(toks):
            found.add_toks(toks)


def speakers(text: str, lines: list[Line], found: Found, evidence: set[str]) -> None:
    turns: list[list[Tok]] = []
    for line in lines:
        pos = line.start
        while pos < line.end and text[pos] in " \t":
            pos += 1
        end, toks = scan_name(text, pos, line.end)
        if toks and SPEAKER_END.match(text, end, line.end) and not looks_like_job(toks):
            turns.append(toks)
    counts = Counter(" ".join(t.key for t in toks) for toks in turns)
    for toks in turns:
        key = " ".join(t.key for t in toks)
        if key in PERSON_FIELDS or label_key(key) in PERSON_FIELDS:
            continue
        if (
            counts[key] >= 2
            or has_given(toks)
            or any(t.key in evidence or t.key in surnames() for t in toks)
        ):
            found.add_toks(toks)


def fields(text: str, lines: list[Line], found: Found) -> None:
    for line in lines:
        m = FIELD.match(text, line.start, line.end)
        if m is None or label_key(m["label"]) not in PERSON_FIELDS:
            continue
        pos = m.end()
        while pos < line.end:
            toks = value_name(text, pos, line.end)
            if not toks:
                break
            if not looks_like_job(toks) and not LEGAL_AFTER.match(text, toks[-1].end):
                found.add_toks(toks)  # "Client : Transports Rhodaniens SA" is a company
            nxt = re.compile(r"[ \t]*(?:,|;|\bet\b|&)[ \t]*").match(text, toks[-1].end, line.end)
            if nxt is None:
                break
            pos = nxt.end()


def mail_headers(text: str, lines: list[Line], found: Found) -> None:
    for line in lines:
        m = HEADER.match(text, line.start, line.end)
        if m is None:
            continue
        value = text[m.end() : line.end]
        offset = m.end()
        for item in re.finditer(r"[^;]+", value):
            parts = [item] if "<" not in item.group() else None
            chunks: list[tuple[int, int]] = []
            if parts is None:
                # "Dubois, Marie <a@b>, Martin, Paul <c@d>": split after each ">".
                cur = item.start()
                for close in re.finditer(r">", item.group()):
                    chunks.append((cur, item.start() + close.end()))
                    cur = item.start() + close.end()
                    while cur < item.end() and value[cur] in " ,\t":
                        cur += 1
                if cur < item.end():
                    chunks.append((cur, item.end()))
            else:
                chunks.append((item.start(), item.end()))
            for a, b in chunks:
                display = value[a:b]
                lt = display.find("<")
                if lt >= 0:
                    display_end = a + lt
                elif "@" in display:
                    continue
                else:
                    display_end = b
                start = a
                while start < display_end and value[start] in " \t\"'“«":
                    start += 1
                stop = display_end
                while stop > start and value[stop - 1] in " \t\"'”»":
                    stop -= 1
                if stop <= start:
                    continue
                first = WORD.match(value, start, stop)
                if first is None or fold(first.group()) in SERVICE_WORDS:
                    continue
                toks = value_name(text, offset + start, offset + stop)
                if toks and toks[-1].end == offset + stop and not looks_like_job(toks):
                    found.add_toks(toks)


def _columns(text: str, line: Line) -> Iterator[Line]:
    """Parts of a line set apart by wide spaces: two signatures side by side."""
    pos = line.start
    for m in re.finditer(r"[ \t]{3,}|\t", text[line.start : line.end]):
        yield Line(pos, line.start + m.start())
        pos = line.start + m.end()
    yield Line(pos, line.end)


def _whole_line_name(text: str, line: Line) -> list[Tok]:
    """The name a line (or column) holds, alone or before a separator: "Marie Dubois – …"."""
    pos = line.start
    while pos < line.end and text[pos] in " \t":
        pos += 1
    toks = value_name(text, pos, line.end)
    if not toks or not re.match(r"[ \t]*(?:$|[,–—|(]|-\s)", text[toks[-1].end : line.end]):
        return []
    return toks


def signatures(
    text: str, lines: list[Line], found: Found, evidence: set[str], contacts: list[int]
) -> None:
    """Names alone on a line: after a closing formula, before a job title, a name or contact
    details (`contacts`: starts of e-mail, phone and address spans), or at the end."""
    nonblank = [i for i, line in enumerate(lines) if not blank(text, line)]

    def closing(line: Line | None) -> bool:
        return line is not None and CLOSINGS.fullmatch(line.text(text).strip()) is not None

    for n, i in enumerate(nonblank):
        names = [
            toks
            for column in _columns(text, lines[i])
            if (toks := _whole_line_name(text, column))
            and not looks_like_job(toks)
            and len(toks) <= 5
        ]
        if not names:
            continue  # most lines: the context below is only looked at for name lines
        prev = lines[nonblank[n - 1]] if n else None
        nxt = lines[nonblank[n + 1]] if n + 1 < len(nonblank) else None
        before_job = contact = False
        if nxt is not None:
            first = TOKEN.search(text, nxt.start, nxt.end)
            before_job = first is not None and fold(first.group()) in JOB_WORDS
            before_job = before_job or _whole_line_name(text, nxt) != [] or closing(nxt)
            k = bisect.bisect_left(contacts, nxt.start)
            # "Thi Mai Nguyen" right above her address: a letterhead, vouched for by layout.
            contact = k < len(contacts) and contacts[k] <= nxt.start + 3
        alone = (i == 0 or blank(text, lines[i - 1])) and (
            i + 1 == len(lines) or blank(text, lines[i + 1])
        )
        at_end = n >= len(nonblank) - 2
        for toks in names:
            vouched = has_given(toks) or any(t.key in evidence for t in toks)
            if closing(prev) or contact or (vouched and (before_job or alone or at_end)):
                found.add_toks(toks)
