"""Normal forms: what makes two surfaces the same name.

Invariant: normal forms are pure functions of the surface (no batch state), so the same
surface always finds the same vault row, in any run.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from twophase.titles import TITLE_RE, leading_title

_APOSTROPHES = str.maketrans({c: "'" for c in "’‘`´ʼ′"})
_HYPHENS = str.maketrans({c: "-" for c in "‐‑‒–—―−"})
_TYPOGRAPHIC = re.compile("[" + re.escape("".join(map(chr, _APOSTROPHES | _HYPHENS))) + "]")
_SPACES = re.compile(r"\s+")
_SPACED_HYPHEN = re.compile(r"\s*-\s*")


def fold(text: str) -> str:
    """NFC, one apostrophe, one hyphen, single spaces, case-folded."""
    # ASCII needs no composition and holds no typographic dash; "`" is its one apostrophe.
    # The shortcuts matter: assign folds every token of a million names (docs/performance.md).
    if text.isalpha():  # one plain word ("ʼ" is a letter, yet an apostrophe here)
        if text.isascii():
            return text.lower()
        if "ʼ" not in text:
            return unicodedata.normalize("NFC", text).casefold()
    elif text.isascii() and text.isalnum():
        return text.lower()
    elif (
        text.isascii()
        and text.isprintable()  # so " " is its only space character
        and "`" not in text
        and "  " not in text
        and " -" not in text
        and "- " not in text
        and text[:1] != " "
        and text[-1:] != " "
    ):
        # Words already single-spaced, hyphens unspaced ("Saint-Aubin-de-Lenne", "Groupe
        # Verlane"): what the regexes below would give (most candidates a chooser folds).
        return text.lower()
    return _fold_general(text)


def _fold_general(text: str) -> str:
    if not text.isascii() or "`" in text:
        text = unicodedata.normalize("NFC", text)
        # Searched first: translating through a dict costs ~1 us a call even when it
        # changes nothing, and most accented names hold no typographic mark.
        if _TYPOGRAPHIC.search(text):
            text = text.translate(_APOSTROPHES).translate(_HYPHENS)
    text = _SPACES.sub(" ", text).strip()
    if "-" in text:
        text = _SPACED_HYPHEN.sub("-", text)
    return text.casefold()


def strip_accents(text: str) -> str:
    if text.isascii():  # nothing to decompose
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


# ---------------------------------------------------------------------------- persons

PARTICLES = frozenset(
    [
        "de",
        "du",
        "des",
        "d'",
        "le",
        "la",
        "les",
        "van",
        "von",
        "der",
        "den",
        "ten",
        "ter",
        "di",
        "da",
        "del",
        "della",
        "dos",
        "das",
        "y",
    ]
)
_TOKEN = re.compile(r"[^\s,]+")
_INITIALS = re.compile(r"^(?:[^\W\d_]\.-?)+$")


class NamePart(NamedTuple):
    """A run of the surface that is one name component: where, what kind, normal form."""

    start: int
    end: int
    kind: str  # "given" or "family"
    normal: str
    initials: bool = False


class PersonName(NamedTuple):
    parts: tuple[NamePart, ...]
    gender: str | None  # from a title, when the surface carried one
    solo: bool  # one bare token: given or family is decided by the batch

    @property
    def given(self) -> tuple[str, ...]:
        return tuple(p.normal for p in self.parts if p.kind == "given")

    @property
    def family(self) -> str:
        return " ".join(p.normal for p in self.parts if p.kind == "family")


def _is_caps(token: str) -> bool:
    if token.isascii() and not token.isupper():  # a lower-case letter, or no letter at all
        return False
    if token.isalpha():  # no full stop, so no initials; every character a letter
        if token.isascii():
            return len(token) >= 2  # and upper, from the test above
        return len(token) >= 2 and all(c.isupper() for c in token)
    if _INITIALS.match(token):
        return False
    letters = [c for c in token if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def parse_person(surface: str) -> PersonName | None:
    """Split a PERSON surface into given names and one family name (docs/resolution.md)."""
    words = surface.split(" ")
    # Words of letters, one space apart (no empty word), no title: the usual name ("Marie
    # Dubois"), parsed without the general path's regexes (a million names at scale;
    # tests/test_resolution.py checks both agree).
    if "" not in words and "".join(words).isalpha() and TITLE_RE.match(surface) is None:
        return _parse_words(surface, words)
    return _parse_general(surface)


def _parse_words(surface: str, words: list[str]) -> PersonName | None:
    """`_parse_tokens` of a surface whose tokens are `words`, letters only, one space
    apart: one and two words (most names) unrolled, each word folded once."""
    if len(words) == 1:
        return PersonName((NamePart(0, len(surface), "family", fold(surface)),), None, solo=True)
    if len(words) == 2:  # "Marie Dubois", "DUBOIS Marie"
        return _parse_two(surface, words[0], words[1])
    tokens = []
    start = 0
    for word in words:
        tokens.append((start, start + len(word), word))
        start += len(word) + 1
    return _parse_tokens(surface, 0, None, tokens)


def _parse_two(surface: str, one: str, two: str) -> PersonName:
    """`_parse_words` of two words."""
    f1, f2 = fold(one), fold(two)
    c1, c2 = _is_caps(one), _is_caps(two)
    if c1 != c2:  # one word in capitals: it is the family name, and so is a particle
        family1, family2 = c1 or f1 in PARTICLES, c2 or f2 in PARTICLES
    else:
        family1, family2 = f1 in PARTICLES or f1.startswith("d'"), True
    end1 = len(one)
    if family1 and family2:
        return PersonName((NamePart(0, len(surface), "family", fold(surface)),), None, solo=False)
    if family1:
        first = NamePart(0, end1, "family", f1)
        return PersonName((first, NamePart(end1 + 1, len(surface), "given", f2)), None, False)
    given = NamePart(0, end1, "given", f1)
    return PersonName((given, NamePart(end1 + 1, len(surface), "family", f2)), None, False)


def _parse_general(surface: str) -> PersonName | None:
    cut, gender = leading_title(surface)
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(surface, cut)]
    tokens = [t for t in tokens if any(c.isalpha() for c in t[2])]
    return _parse_tokens(surface, cut, gender, tokens)


def _parse_tokens(
    surface: str, cut: int, gender: str | None, tokens: list[tuple[int, int, str]]
) -> PersonName | None:
    """`parse_person` once the title is cut and the tokens with a letter listed."""
    if not tokens:
        return None
    comma = surface.find(",", cut)
    roles: list[str]
    if comma > 0 and tokens[0][0] < comma < tokens[-1][0]:
        roles = ["family" if start < comma else "given" for start, _, _ in tokens]
    elif any(caps := [_is_caps(t) for _, _, t in tokens]) and not all(caps):
        roles = [
            "family" if c or fold(t) in PARTICLES else "given"
            for (_, _, t), c in zip(tokens, caps, strict=True)
        ]
    elif len(tokens) == 1:
        return PersonName((_part(tokens[0], "family"),), gender, solo=True)
    else:
        first_family = len(tokens) - 1
        for i in range(len(tokens) - 1):
            folded = fold(tokens[i][2])
            if folded in PARTICLES or folded.startswith("d'"):
                first_family = i
                break
        roles = ["given" if i < first_family else "family" for i in range(len(tokens))]
    parts: list[NamePart] = []
    family = [t for t, r in zip(tokens, roles, strict=True) if r == "family"]
    for token, role in zip(tokens, roles, strict=True):
        if role == "given":
            parts.append(_part(token, "given"))
    if family:
        start, end = family[0][0], family[-1][1]
        parts.append(NamePart(start, end, "family", fold(surface[start:end])))
    # Given parts come in token order, the family part last: only it can be out of place.
    if len(parts) > 1 and parts[-1].start < parts[-2].start:
        parts.sort(key=lambda p: p.start)
    return PersonName(tuple(parts), gender, solo=False)


def _part(token: tuple[int, int, str], kind: str) -> NamePart:
    start, end, text = token
    initials = kind == "given" and "." in text and bool(_INITIALS.match(text))
    return NamePart(start, end, kind, fold(text), initials)


def initials_of(name: str) -> str:
    """ "Jean-Pierre" → "J.-P.", "Claire" → "C." """
    return "-".join(piece[:1].upper() + "." for piece in name.split("-") if piece)


# ------------------------------------------------------------------ places, organisations

_LEADING = re.compile(
    r"^(?:(?:à|a|au|aux|en|de|du|des|d'|l'|le|la|les|chez|vers|sur)\s*(?<=')|"
    r"(?:à|a|au|aux|en|de|du|des|le|la|les|chez|vers|sur)\s+)+",
    re.IGNORECASE,
)
LEGAL_FORMS = ("SA", "SAS", "SASU", "SARL", "EURL", "SNC", "SCI", "SCOP", "GIE", "SEL", "SELARL")
_LEGAL = re.compile(
    r"(?:[\s,]+(?:"
    + "|".join(LEGAL_FORMS)
    + r")\.?)+$|^(?:(?:"
    + "|".join(LEGAL_FORMS)
    + r")\s+)+",
)


class Core(NamedTuple):
    """The part of a place or organisation surface that is the name itself."""

    start: int
    end: int
    normal: str


def core_of(surface: str) -> Core | None:
    """Articles, prepositions and legal forms are kept in the rendering, not matched on."""
    start, end = 0, len(surface)
    lead = _LEADING.match(surface)
    if lead and lead.end() < end:
        start = lead.end()
    legal = _LEGAL.search(surface, start)
    if legal and legal.start() > start:
        end = legal.start()
    elif legal and legal.start() == start and legal.end() < end:
        start = legal.end()
    text = surface[start:end]
    if not any(c.isalnum() for c in text):
        return None
    return Core(start, end, strip_accents(fold(text)))


def transfer_case(source: str, pseudonym: str) -> str:
    """Write `pseudonym` in the case style of `source`: CAPS stays CAPS, lower stays lower."""
    if source.isascii():  # the same rule, without a list per call (ASCII letters are cased)
        if source.islower():
            return pseudonym.lower()
        if source.isupper() and sum(map(str.isalpha, source)) >= 2:
            return pseudonym.upper()
        return pseudonym
    letters = [c for c in source if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return pseudonym.upper()
    if letters and all(c.islower() for c in letters):
        return pseudonym.lower()
    return pseudonym
