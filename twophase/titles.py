"""French civil and professional titles: never part of a name, but they tell gender.

Shared by detect (titles are cut off PERSON spans) and assign (they are stripped before
matching and kept in the rendering).
"""

from __future__ import annotations

import re

# Longest first so that "Mme" wins over "M".
_TITLES: dict[str, str | None] = {
    "monsieur": "m",
    "madame": "f",
    "mademoiselle": "f",
    "mlle": "f",
    "mme": "f",
    "mr": "m",
    "m": "m",
    "docteur": None,
    "dr": None,
    "professeur": None,
    "pr": None,
    "maître": None,
    "maitre": None,
    "me": None,
    "mgr": "m",
    "messieurs": "m",
    "mesdames": "f",
}

TITLE_RE = re.compile(
    r"(?:"
    + "|".join(sorted((re.escape(t) for t in _TITLES), key=len, reverse=True))
    + r")(?:\.|\b)\s*",
    re.IGNORECASE,
)


def leading_title(text: str) -> tuple[int, str | None]:
    """Length of the titles at the start of `text` (0 if none) and the gender they imply.

    Only a title followed by more text counts, so that the surname "Me" or a lone
    "Dr" is not eaten; "M" needs its full stop ("M Dubois" is too rare to risk "M" initials).
    """
    pos = 0
    gender: str | None = None
    while True:
        match = TITLE_RE.match(text, pos)
        if not match or match.end() >= len(text):
            return pos, gender
        word = match.group(0).strip().rstrip(".").lower()
        if word == "m" and not match.group(0).strip().endswith("."):
            return pos, gender
        if match.group(0) == match.group(0).rstrip() and not match.group(0).endswith("."):
            # "Madame" glued to the next word is a name, not a title.
            return pos, gender
        gender = _TITLES.get(word) or gender
        pos = match.end()
