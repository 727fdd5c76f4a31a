"""What counts as a whole word, for every phase that looks for known surfaces in text.

Detect (deny lists), render (batch-wide propagation) and the leak check must agree on one
rule, or the leak check would flag what propagation deliberately left alone (or miss what
it should have replaced). Invariant: `whole_word` depends only on the characters next to
the match, so a match is accepted or refused the same way in every document.
"""

from __future__ import annotations

import re

HYPHENS = "-\u2010\u2011"
_TOKEN = re.compile(r"[^\W_]+")


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def whole_word(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] stands alone: no letter or digit glued to either end.

    A hyphen between letters joins a compound, so "Rose" is not a word of "Rose-Marie" nor
    "Jean" of "Saint-Jean"; an apostrophe elides, so "Annecy" is a word of "d'Annecy".
    """
    if start > 0:
        before = text[start - 1]
        if _word_char(before) and _word_char(text[start]):
            return False
        if before in HYPHENS and start >= 2 and _word_char(text[start - 2]):
            return False
    if end < len(text):
        after = text[end]
        if _word_char(after) and _word_char(text[end - 1]):
            return False
        if after in HYPHENS and end + 1 < len(text) and _word_char(text[end + 1]):
            return False
    return True


def marked_tokens(text: str) -> set[str]:
    """Runs of letters or digits with an upper-case letter or a digit: the only tokens a
    propagated surface needs to be found (names are capitalised, identifiers have digits).
    """
    return {m.group() for m in _TOKEN.finditer(text) if not m.group().islower()}


def vocabulary(text: str) -> tuple[str, ...]:
    """The distinct marked tokens of a document, sorted.

    Assign keeps a surface variant only if all its marked tokens occur in the batch, so the
    plan never carries a name (from the vault, say) that no document of the batch contains.
    """
    return tuple(sorted(marked_tokens(text)))
