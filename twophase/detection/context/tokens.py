"""The name scanner and line helpers: words of a possible name, and the lines they sit on.

Invariant: a token's `key` is its folded text; scanning never reads past the given limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from twophase.detection.context.lexicon import (
    FIELD_WORDS,
    GREETINGS,
    JOB_WORDS,
    PARTICLES,
    fold,
    is_given,
    stop_words,
)

TOKEN = re.compile(r"(?:[^\W\d_]\.-?)+(?![^\W\d_])|[^\W\d_]+(?:['’\-][^\W\d_]+)*")
SEP = re.compile(r"[ \u00a0]{1,2}")


class Tok(NamedTuple):
    """A word the scanner read (a tuple: the rules build hundreds per document)."""

    start: int
    end: int
    text: str

    @property
    def key(self) -> str:
        return fold(self.text)

    @property
    def initials(self) -> bool:
        return self.text.endswith(".")

    @property
    def caps(self) -> bool:
        letters = [c for c in self.text if c.isalpha()]
        return len(letters) >= 2 and all(c.isupper() for c in letters)

    @property
    def capitalised(self) -> bool:
        return self.text[0].isupper()


def is_particle(tok: Tok) -> bool:
    return tok.key in PARTICLES or (tok.key.startswith(("d'", "d’")) and len(tok.text) > 2)


def name_word(tok: Tok) -> bool:
    """A capitalised token that can be (part of) a name."""
    if tok.initials:
        return tok.text[0].isupper()
    if not tok.capitalised:
        return False
    key = tok.key
    if "'" in tok.text or "’" in tok.text:
        head = key.split("'")[0].split("’")[0]
        # "O'Brien", "d'Estaing" are names; "N'A", "L'ACCUEIL", "C'est" are not.
        if head not in ("o", "d"):
            return False
    return not (key in stop_words() or key in FIELD_WORDS or key in GREETINGS)


def scan_name(text: str, pos: int, limit: int, max_words: int = 4) -> tuple[int, list[Tok]]:
    """The longest name starting at `pos` (end, tokens), or (pos, []) if there is none.

    A name is up to `max_words` capitalised words, initials ("J.-P.") and particles between
    or before them ("de Villiers", "Van der Berg"), separated by single spaces.
    """
    toks: list[Tok] = []
    words = 0
    i = pos
    pending: list[Tok] = []  # particles waiting for a name word
    while i < limit and words < max_words:
        m = TOKEN.match(text, i, limit)
        if m is None:
            break
        tok = Tok(m.start(), m.end(), m.group())
        if is_particle(tok):
            if tok.key.startswith(("d'", "d’")) and len(tok.key) > 2:
                # "d'Estaing": the particle and the name in one token.
                rest = Tok(tok.start + 2, tok.end, tok.text[2:])
                if not name_word(rest):
                    break
                toks.extend(pending)
                toks.append(tok)
                pending = []
                words += 1
            else:
                pending.append(tok)
        elif name_word(tok):
            if tok.initials and toks and not toks[-1].initials and not pending:
                break  # "Martin J." : initials come first
            toks.extend(pending)
            toks.append(tok)
            pending = []
            if not tok.initials:
                words += 1
        else:
            break
        sep = SEP.match(text, m.end(), limit)
        if sep is None:
            break
        i = sep.end()
    while toks and toks[-1].initials:
        toks.pop()  # a name does not end with initials
    if not toks or not any(not t.initials and not is_particle(t) for t in toks):
        return pos, []
    return toks[-1].end, toks


def looks_like_job(toks: Iterable[Tok]) -> bool:
    keys = [t.key for t in toks]
    return bool(keys) and (
        keys[0] in JOB_WORDS or all(k in JOB_WORDS or k in PARTICLES for k in keys)
    )


def has_given(toks: Iterable[Tok]) -> bool:
    return any(not t.initials and is_given(t.text) for t in toks)


# ------------------------------------------------------------------------------ lines


@dataclass(frozen=True, slots=True)
class Line:
    start: int
    end: int  # before the line break

    def text(self, doc: str) -> str:
        return doc[self.start : self.end]


def split_lines(text: str) -> list[Line]:
    out: list[Line] = []
    pos = 0
    for m in re.finditer(r"\r?\n|\r", text):
        out.append(Line(pos, m.start()))
        pos = m.end()
    out.append(Line(pos, len(text)))
    return out


def blank(text: str, line: Line) -> bool:
    return not text[line.start : line.end].strip()


def caps_line(text: str, line: Line) -> bool:
    letters = [c for c in text[line.start : line.end] if c.isalpha()]
    return len(letters) >= 4 and sum(c.isupper() for c in letters) >= 0.9 * len(letters)
