"""Pattern recognizers: structured personal data (e-mail, phone, IBAN, NIR, ...) in French text.

A regex proposes candidates, then each is validated (checksum, numbering plan, calendar,
context word) before it becomes a Span, so that a look-alike number is left alone.

Invariant: `find_patterns(text)` returns spans sorted by start and non-overlapping, with
`text[span.start:span.end] == span.text`; it never raises, whatever the text.

Speed: this runs on every document beside spaCy, so each recognizer either starts from a
rare literal found with `str.find` ("@", "://", "né", ...) or shares one scan of the text.
The numeric identifiers (phone, IBAN, NIR, SIRET, SIREN, card) all contain a run of at
least seven digits; one scan finds those runs and their regexes only search small windows
around them. Only ASCII digits count: `[0-9]`, never `\\d`, which also takes other scripts'.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator

import phonenumbers
from stdnum import iban as _iban
from stdnum import luhn as _luhn
from stdnum.fr import nir as _nir
from stdnum.fr import siren as _siren
from stdnum.fr import siret as _siret

from twophase.spans import Span

__all__ = ["RECOGNIZERS", "VERSION", "canonical", "find_patterns"]

VERSION = "1"

# Overlaps go to the longer span; ties between equal spans to the more specific label: a
# checksum over a fixed structure (IBAN, NIR) says more than Luhn alone, and a 14-digit
# Luhn number is far more often a SIRET than a Diners card in French paperwork.
_SPECIFICITY = (
    "IBAN",
    "NIR",
    "SIRET",
    "SIREN",
    "CARD",
    "PHONE",
    "BIRTHDATE",
    "EMAIL",
    "IP",
    "URL",
    "PLATE",
    "ADDRESS",
)
_RANK = {label: rank for rank, label in enumerate(_SPECIFICITY)}
RECOGNIZERS: tuple[str, ...] = tuple(sorted(_SPECIFICITY))

_Hit = tuple[int, int, str]  # start, end, label

_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")
_WS = re.compile(r"\s+")
_NUMBER_NOISE = re.compile(r"[\s.\-]")  # what canonical() drops from identifiers


def _compact(surface: str) -> str:
    return _NUMBER_NOISE.sub("", surface).upper()


def _finds(text: str, needle: str) -> Iterator[int]:
    """Every index of `needle` in `text`, left to right (str.find is far faster than re)."""
    i = text.find(needle)
    while i != -1:
        yield i
        i = text.find(needle, i + 1)


# --- EMAIL -------------------------------------------------------------------------------
# Grow the address around each "@": a regex that starts with the local part would try
# every word of the document.
_EMAIL_DOMAIN = re.compile(r"(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}(?![\w\-])")


def _emails(text: str) -> Iterator[_Hit]:
    for at in _finds(text, "@"):
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        if domain is None:
            continue
        start, stop = at, max(0, at - 65)
        while start > stop and (text[start - 1].isalnum() or text[start - 1] in "._%+-"):
            start -= 1
        if start == stop and stop > 0:
            continue  # local part longer than RFC 5321's 64 characters: not an address
        while start < at and text[start] == ".":
            start += 1
        if start == at or text[at - 1] == ".":
            continue
        yield start, domain.end(), "EMAIL"


# --- URL ---------------------------------------------------------------------------------
_URL = re.compile(r"(?<![\w@/.\-])(?:[hH][tT][tT][pP][sS]?://|[wW]{3}\.)[^\s<>\"'«»\[\]{}|\\^`]+")
_URL_SCHEME_BEFORE = re.compile(r"[hH][tT][tT][pP][sS]?\Z")
_URL_HOST = re.compile(
    r"(?:[^\W_](?:[\w\-]*[^\W_])?\.)+[^\W\d_]{2,63}|localhost"
    r"|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|\[[0-9A-Fa-f:.]+\]"
)
_URL_SPLIT = re.compile(r"[/?#]")
_URL_TRAILING = ".,;:!?'\"»)"


def _url_starts(text: str) -> list[int]:
    starts = set()
    for i in _finds(text, "://"):
        scheme = _URL_SCHEME_BEFORE.search(text, max(0, i - 5), i)
        if scheme:
            starts.add(scheme.start())
    for needle in ("ww.", "WW."):
        starts.update(i - 1 for i in _finds(text, needle) if i and text[i - 1] in "wW")
    return sorted(starts)


def _urls(text: str) -> Iterator[_Hit]:
    done = 0
    for candidate in _url_starts(text):
        m = _URL.match(text, candidate) if candidate >= done else None
        if m is None:
            continue
        start, end = m.span()
        done = end
        # Sentence punctuation after a URL is not part of it; a ")" is, when it closes a "(".
        while end > start and text[end - 1] in _URL_TRAILING:
            if text[end - 1] == ")" and text.count("(", start, end) >= text.count(")", start, end):
                break
            end -= 1
        surface = text[start:end]
        rest = surface.split("://", 1)[1] if "://" in surface else surface
        hostport = _URL_SPLIT.split(rest, maxsplit=1)[0].rsplit("@", 1)[-1]
        host = hostport.rsplit(":", 1)[0] if hostport.count(":") == 1 else hostport
        if _URL_HOST.fullmatch(host):
            yield start, end, "URL"


# --- IP ----------------------------------------------------------------------------------
_IPV4 = re.compile(r"(?<![\w.])[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?!\w|\.[0-9])")
_IPV4_HINT = re.compile(r"\.[0-9]{1,3}\.[0-9]")  # literal "." first: a fast scan
# Possessive groups: after a failed validation the engine must not backtrack to a shorter
# prefix ("fe80::1:2" -> "fe80::1"), which could be a valid but wrong address.
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}+"
    r"(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?(?![\w:]|\.[0-9])"
)
_IPV6_HINT = re.compile(r":(?:[0-9A-Fa-f]{1,4}:|:)")


def _back_over(text: str, i: int, chars: frozenset[str], limit: int) -> int:
    """The smallest j >= i - limit such that text[j:i] is made of `chars` only."""
    stop = max(0, i - limit)
    while i > stop and text[i - 1] in chars:
        i -= 1
    return i


def _ips(text: str) -> Iterator[_Hit]:
    done = 0
    for hint in _IPV4_HINT.finditer(text):
        start = _back_over(text, hint.start(), _DIGITS, 3)
        m = _IPV4.match(text, start) if start >= done else None
        if m is None:
            continue
        done = m.end()
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        yield m.start(), m.end(), "IP"
    done = 0
    for hint in _IPV6_HINT.finditer(text):
        start = _back_over(text, hint.start(), _HEX | {":"}, 40)
        m = _IPV6.match(text, start) if start >= done else None
        if m is None:
            continue
        done = m.end()
        surface, end = m.group(), m.end()
        if surface.endswith(":") and not surface.endswith("::"):
            surface, end = surface[:-1], end - 1  # "fe80::1:" ends a clause
        if "::" not in surface and surface.count(":") != 7:
            continue  # times like 12:30:45
        if not any(c in _HEX for c in surface):
            continue  # a bare "::" is punctuation
        try:
            ipaddress.IPv6Address(surface)
        except ValueError:
            continue
        yield m.start(), end, "IP"


# --- numeric identifiers: PHONE, IBAN, NIR, SIRET, SIREN, CARD ------------------------------
# Every one of them holds a run of at least 7 digits with at most two separators between two
# digits ("+33 (0)6", "FR76 3000"), and none is longer than ~45 characters, so a window of
# _MARGIN characters around each such run (found by the digit scan below) holds every match
# whole, with room for the look-arounds. French typography puts no-break spaces (U+00A0,
# U+202F) inside numbers.
_RUN_TAIL = r"(?:[ \u00a0\u202f.\-()/]{0,2}[0-9]){6,}"
_MARGIN = 50

_SP = "[ \u00a0\u202f]"
_PSEP = "[ .\\-\u00a0\u202f]"
_NSEP = "[ .\u00a0\u202f]"
_CSEP = "[ \\-\u00a0\u202f]"

# Look-arounds on digit *and* separator+digit keep a number from being cut out of a longer
# spaced run: a phone inside an IBAN, a SIREN at the head of a SIRET. Each lookbehind sits
# after the first character and re-reads it: a pattern that starts with a plain character
# class lets sre skip ahead to candidates, one that starts with a lookbehind is tried at
# every position (5x slower).
_PHONE_FR = re.compile(
    rf"0(?<![0-9+]0)(?<![0-9]{_PSEP}0)[1-9](?:{_PSEP}?[0-9][0-9]){{4}}(?!{_PSEP}?[0-9])"
)
_PHONE_INTL = re.compile(r"(?:\+(?<![\w+]\+)[1-9]|0(?<![\w+]0)033)[0-9 \u00a0\u202f.\-()]{5,24}+")
_PHONE_GROUP_TAIL = re.compile(r"[ \u00a0\u202f.\-]+[0-9()]+\Z")
# ARCEP reserves 06 39 98 xx xx for fiction; libphonenumber calls it invalid, but examples
# and test corpora use it, and pseudonymizing a fictional number is harmless.
_FICTION_PREFIX = "+3363998"

_IBAN = re.compile(
    rf"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z][0-9][0-9](?:{_SP}?[A-Z0-9]{{4}}){{2,7}}"
    rf"(?:{_SP}?[A-Z0-9]{{1,4}})?(?![A-Za-z0-9])"
)
_IBAN_LAST_GROUP = re.compile(rf"{_SP}?[A-Z0-9]{{1,4}}\Z")
_NIR = re.compile(
    rf"[1-478](?<!\w[1-478])(?<![0-9]{_NSEP}[1-478]){_NSEP}?[0-9]{{2}}{_NSEP}?[0-9]{{2}}{_NSEP}?"
    rf"(?:[0-9]{{2}}|2[AB]){_NSEP}?[0-9]{{3}}{_NSEP}?[0-9]{{3}}{_NSEP}?[0-9]{{2}}(?!{_NSEP}?[0-9])"
)
# SIRET = SIREN + 5 digits; one regex, so the SIREN head of a SIRET is never a match.
_COMPANY = re.compile(
    rf"[0-9](?<![0-9][0-9])(?<![0-9]{_NSEP}[0-9])[0-9]{{2}}{_NSEP}?[0-9]{{3}}{_NSEP}?[0-9]{{3}}"
    rf"(?P<siret>{_NSEP}?[0-9]{{5}})?(?!{_NSEP}?[0-9])"
)
# A bare 9-digit Luhn number is one in ten of all 9-digit numbers: demand a word that
# announces a company number shortly before it. 45 characters reach over the usual
# "RCS de Boulogne-sur-Mer sous le numéro".
_SIREN_CONTEXT = re.compile(r"(?i:\bsire[nt]\b|\brcs\b|immatricul|\bn\s?[°º])")
_SIREN_CONTEXT_WINDOW = 45
_CARD = re.compile(
    rf"[0-9](?<![0-9][0-9])(?<![0-9]{_CSEP}[0-9])"
    rf"(?:[0-9]{{3}}(?:{_CSEP}[0-9]{{4}}){{2,3}}(?:{_CSEP}[0-9]{{1,3}})?"
    rf"|[0-9]{{3}}{_CSEP}[0-9]{{6}}{_CSEP}[0-9]{{4,5}}|[0-9]{{12,18}})"
    rf"(?!{_CSEP}?[0-9])"
)


_PHONE_NOISE = re.compile(r"[\s.\-]")


@functools.lru_cache(maxsize=4096)
def _phone(dialled: str) -> tuple[str, bool] | None:
    """(E.164, valid) for a number stripped of separators; None if it does not parse.

    Cached: libphonenumber costs ~50 us a call, and a batch repeats the same numbers (mail
    signatures, letterheads) over and over.
    """
    try:
        number = phonenumbers.parse(dialled, "FR")
    except phonenumbers.NumberParseException:
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    valid = phonenumbers.is_valid_number(number) or (
        len(e164) == 12 and e164.startswith(_FICTION_PREFIX)
    )
    return e164, valid


def _valid_phone(surface: str) -> bool:
    parsed = _phone(_PHONE_NOISE.sub("", surface))
    return parsed is not None and parsed[1]


def _phones(text: str, pos: int, endpos: int) -> Iterator[_Hit]:
    for m in _PHONE_FR.finditer(text, pos, endpos):
        if _valid_phone(m.group()):
            yield m.start(), m.end(), "PHONE"
    for m in _PHONE_INTL.finditer(text, pos, endpos):
        surface = m.group().rstrip(" \u00a0\u202f.-(")
        after = m.start() + len(surface)
        if after < len(text) and text[after] in _DIGITS:
            continue  # glued to a longer digit run
        # Trailing groups may belong to the next number or to a street number: shed them
        # one by one until the rest is a valid number.
        while sum(c in _DIGITS for c in surface) >= 7:
            if surface.count("(") == surface.count(")") and _valid_phone(surface):
                yield m.start(), m.start() + len(surface), "PHONE"
                break
            tail = _PHONE_GROUP_TAIL.search(surface)
            if tail is None:
                break
            surface = surface[: tail.start()]


@functools.lru_cache(maxsize=4096)
def _checksum_ok(label: str, compact: str) -> bool:
    """Cached: a batch repeats the same identifiers (the firm's SIRET, its IBAN)."""
    if label == "IBAN":
        return bool(_iban.is_valid(compact))
    if label == "NIR":
        return bool(_nir.is_valid(compact))
    if label == "SIRET":
        return bool(_siret.is_valid(compact))
    if label == "SIREN":
        return bool(_siren.is_valid(compact))
    # CARD. Issuer prefixes 2-6 cover Mastercard, Visa, Amex, Diners, Discover, JCB and CB;
    # the check halves the Luhn false alarms on order and invoice numbers.
    return 13 <= len(compact) <= 19 and compact[0] in "23456" and bool(_luhn.is_valid(compact))


def _ibans(text: str, pos: int, endpos: int) -> Iterator[_Hit]:
    for m in _IBAN.finditer(text, pos, endpos):
        surface = m.group()
        # The regex may swallow a following code of 1-4 capitals ("... 189 BIC"): drop
        # trailing groups until the checksum holds.
        while len(surface) >= 15:
            if _checksum_ok("IBAN", _compact(surface)):
                yield m.start(), m.start() + len(surface), "IBAN"
                break
            last = _IBAN_LAST_GROUP.search(surface)
            if last is None:
                break
            surface = surface[: last.start()]


def _nirs(text: str, pos: int, endpos: int) -> Iterator[_Hit]:
    for m in _NIR.finditer(text, pos, endpos):
        if _checksum_ok("NIR", _compact(m.group())):
            yield m.start(), m.end(), "NIR"


def _company_numbers(text: str, pos: int, endpos: int) -> Iterator[_Hit]:
    for m in _COMPANY.finditer(text, pos, endpos):
        digits = _compact(m.group())
        if m["siret"]:
            if _checksum_ok("SIRET", digits):
                yield m.start(), m.end(), "SIRET"
        elif _checksum_ok("SIREN", digits) and _SIREN_CONTEXT.search(
            text, max(0, m.start() - _SIREN_CONTEXT_WINDOW), m.start()
        ):
            yield m.start(), m.end(), "SIREN"


def _cards(text: str, pos: int, endpos: int) -> Iterator[_Hit]:
    for m in _CARD.finditer(text, pos, endpos):
        if _checksum_ok("CARD", _compact(m.group())):
            yield m.start(), m.end(), "CARD"


_NUMERIC: tuple[Callable[[str, int, int], Iterator[_Hit]], ...] = (
    _phones,
    _ibans,
    _nirs,
    _company_numbers,
    _cards,
)


def _numeric_ids(text: str, runs: list[tuple[int, int]]) -> Iterator[_Hit]:
    windows: list[list[int]] = []
    for run_start, run_end in runs:
        start, end = max(0, run_start - _MARGIN), min(len(text), run_end + _MARGIN)
        if windows and start <= windows[-1][1]:
            windows[-1][1] = end
        else:
            windows.append([start, end])
    for start, end in windows:
        for finder in _NUMERIC:
            yield from finder(text, start, end)


# --- PLATE -------------------------------------------------------------------------------
_PLATE_LETTER = "[A-HJ-NP-TV-Z]"  # SIV plates use no I, O or U
# Found by the digit scan from its middle block; the letters are checked here.
_PLATE_TAIL = (
    rf"(?<={_PLATE_LETTER}{{2}}[\- ][0-9])[0-9]{{2}}"
    rf"(?P<plate_sep>[\- ]){_PLATE_LETTER}{{2}}(?![\w\-])"
)
_WORD_OR_DASH = re.compile(r"[\w\-]")
# SIV rules: SS is never issued. With a space separator, two capitals are also often a word
# of an all-caps heading ("LE 123 DE"): keep those out.
_PLATE_WORDS = frozenset({"SS", "LE", "LA", "DE", "EN", "ET", "NE", "CE", "SE", "SA", "ES", "ME"})


def _plate(text: str, m: re.Match[str]) -> _Hit | None:
    start = m.start() - 3
    left, right = text[start : start + 2], text[m.end() - 2 : m.end()]
    sep = m["plate_sep"]
    if text[start + 2] != sep or (start > 0 and _WORD_OR_DASH.match(text, start - 1)):
        return None
    if text[m.start() : m.start() + 3] == "000" or "SS" in (left, right):
        return None
    if sep == " " and (left in _PLATE_WORDS or right in _PLATE_WORDS):
        return None
    return start, m.end(), "PLATE"


# --- ADDRESS -----------------------------------------------------------------------------
_STREET_TYPES = [
    "rue", "ruelle", "avenue", "av", "boulevard", "bd", "bld", "blvd", "place", "allée",
    "allées", "impasse", "imp", "chemin", "quai", "route", "rte", "cours", "square", "sq",
    "passage", "faubourg", "fbg", "faub", "cité", "villa", "sentier", "résidence", "hameau",
    "lieu-dit", "esplanade", "promenade", "parvis", "rond-point", "montée", "traverse",
    "venelle", "chaussée",
]  # fmt: skip
# Case variants spelled out instead of (?i:...): sre skips a branch on its first literal
# only when the match is case-sensitive, and this alternation is tried at every number.
_STREET_TYPE_RE = "|".join(
    sorted({v for t in _STREET_TYPES for v in (t, t.capitalize(), t.upper())}, key=len)[::-1]
)
# Words that are street types in an address but ordinary nouns after a number elsewhere
# ("2 cours particuliers", "3 place libre"): these need a capitalised street name.
_AMBIGUOUS_TYPES = frozenset(
    {"cours", "place", "passage", "route", "square", "villa", "promenade", "résidence", "cité"}
)
_CAP = "[A-ZÀ-ÖØ-Þ]"
# Numbers in a street name are dates ("rue du 8 Mai 1945", "place du 19-Mars-1962"): a day
# before a capitalised month, or a year. Anything looser would swallow a phone number that
# follows the street.
_NAME_NUMBER = rf"(?:[0-9]{{1,2}}(?:er)?(?=[ \-]{_CAP})|(?:1[89]|20)[0-9]{{2}}(?![0-9]))"
# Capitalised words that follow an address on the same line in letterheads and signatures
# ("69003 Lyon Tél. : ...") and are no part of it.
_NOT_ADDRESS = (
    r"(?!(?:Tél|Tel|Téléphone|Fax|Mobile|Portable|Courriel|Mail|Email|E-mail|Site|France"
    r"|CEDEX|Cedex)(?![\w\-]))"
)
_NAME_WORD = rf"(?:{_NOT_ADDRESS}{_CAP}(?:[\w'’\-]*\w)?|{_CAP}\.|{_NAME_NUMBER})"
_LOW_WORD = r"[a-zà-öø-ÿ][\w'’\-]*\w"
_PARTICLE = r"(?:(?:de|du|des|la|le|les|aux|au)[ \u00a0]+|[ldLD]['’])"
_TOWN_WORD = rf"{_NOT_ADDRESS}{_CAP}[\w'’\-]*"
# The house number's first digit is consumed by the digit scan.
_ADDRESS_TAIL = rf"""
    [0-9]{{0,3}}(?:[ ]?(?:bis|ter|quater|[A-Da-d])(?!\w))?,?[ \u00a0]+
    (?P<type>{_STREET_TYPE_RE})(?![\w\-])\.?[ \u00a0]+
    (?P<name>{_PARTICLE}*(?P<first>{_NAME_WORD}|{_LOW_WORD})
        (?:[ \u00a0]+{_PARTICLE}*{_NAME_WORD}|-{_NAME_WORD})*)
    (?:                                       # postcode and town, same line or the next
        (?:[ \u00a0]*[,–\-][ \u00a0]*|[ \u00a0]*\r?\n[ \t\u00a0]*|[ \u00a0]+)
        (?:F-)?[0-9]{{2}}[ \u00a0]?[0-9]{{3}}[ \u00a0]+
        {_TOWN_WORD}(?:[ ]{_TOWN_WORD}|[ ](?:sur|sous|en|lès|les|le|la|de|du|des)(?=[ ]{_CAP}))*
        (?:[ ](?:CEDEX|Cedex|cedex)(?:[ ][0-9]{{1,2}})?)?
    )?
    (?!\w)
    """


def _address(m: re.Match[str]) -> _Hit | None:
    if m["type"].lower() in _AMBIGUOUS_TYPES and m["first"][0].islower():
        return None
    return m.start(), m.end(), "ADDRESS"


# --- one scan over the digits ------------------------------------------------------------
# Addresses, licence plates and the numeric identifiers' runs all start at the first digit
# of a number; sharing one scan halves the cost, as every pass over the text costs ~10 ns a
# character in sre. Each lookbehind sits after the first digit (see _PHONE_FR). The address
# comes first so that its house number is not taken for the start of a run.
_DIGIT_SCAN = re.compile(
    rf"""
    [0-9](?<![0-9][0-9])(?:
        (?<![\w,.\-/][0-9])(?P<address>{_ADDRESS_TAIL})
      | (?P<run>{_RUN_TAIL})
      | (?P<plate>{_PLATE_TAIL})
    )
    """,
    re.VERBOSE,
)


def _digit_scan(text: str) -> Iterator[_Hit]:
    runs: list[tuple[int, int]] = []
    for m in _DIGIT_SCAN.finditer(text):
        if m["run"] is not None:
            runs.append(m.span())
            continue
        hit = _address(m) if m["address"] is not None else _plate(text, m)
        if hit is not None:
            yield hit
    yield from _numeric_ids(text, runs)


# --- BIRTHDATE ---------------------------------------------------------------------------
_MONTHS = {
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fevr": 2, "fév": 2,
    "fev": 2, "mars": 3, "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7,
    "août": 8, "aout": 8, "septembre": 9, "sept": 9, "octobre": 10, "oct": 10, "novembre": 11,
    "nov": 11, "décembre": 12, "decembre": 12, "déc": 12, "dec": 12,
}  # fmt: skip
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = (
    rf"(?:(?P<d1>[0-3]?[0-9]|1er)[ \u00a0]+(?P<m1>(?i:{_MONTH_RE}))\.?[ \u00a0]+(?P<y1>[0-9]{{4}})"
    r"|(?P<d2>[0-3]?[0-9])(?P<sep>[/.\-])(?P<m2>[01]?[0-9])(?P=sep)(?P<y2>[0-9]{4}|[0-9]{2})"
    r"|(?P<y3>[0-9]{4})-(?P<m3>[01][0-9])-(?P<d3>[0-3][0-9]))(?!\w)"
)
_DATE_FULL = re.compile(_DATE)
# Cues: "né", "née", "nés", "né(e)", "(date de) naissance", "DDN". The accent is required
# ("ne le" is a negation) except in capitals, where French often drops it: "NEE LE".
# Found with str.find on these needles, then checked by the regex.
_BIRTH_NEEDLES = (
    ("né", 0),
    ("Né", 0),
    ("NÉ", 0),
    ("NE", 0),
    ("aissance", 1),
    ("AISSANCE", 1),
    ("DDN", 0),
)
_BIRTH_CUE = re.compile(
    r"(?<!\w)(?:[Nn][éÉ][eE]?[sS]?(?:\([eE]\)|·[eE])?|NEE?S?(?:\(E\))?(?=[ \u00a0]+LE[ \u00a0])"
    r"|[Nn]aissance|NAISSANCE|DDN)(?!\w)"
)
# Between the cue and the date: a few words ("le", "à Lyon (69) le", " : ") but no digit and
# no sentence end, so "né en 1985, marié le 3 juin 2010" does not yield the wedding date.
# Possessive: dates start with a digit, so the date can only start where the gap stops.
_BIRTH_DATE_AFTER = re.compile(rf"(?:\([0-9]{{2,3}}\)|[^.;\n0-9]){{0,50}}+(?P<date>{_DATE})")


def _date_iso(m: re.Match[str]) -> str | None:
    """ISO form of a _DATE match; None if not a calendar date or the century is unknown."""
    if m["y1"]:
        day, month, year = m["d1"], _MONTHS[m["m1"].lower()], m["y1"]
    elif m["y2"]:
        day, month, year = m["d2"], int(m["m2"]), m["y2"]
    else:
        day, month, year = m["d3"], int(m["m3"]), m["y3"]
    if len(year) != 4:
        return None
    try:
        return datetime.date(int(year), month, 1 if day == "1er" else int(day)).isoformat()
    except ValueError:
        return None


def _birthdates(text: str) -> Iterator[_Hit]:
    cues = sorted(i - back for needle, back in _BIRTH_NEEDLES for i in _finds(text, needle))
    for i in cues:
        cue = _BIRTH_CUE.match(text, max(0, i))
        m = _BIRTH_DATE_AFTER.match(text, cue.end()) if cue else None
        if m is None:
            continue
        date = _DATE_FULL.fullmatch(m["date"])
        if date is None:
            continue
        if date["y2"] and len(date["y2"]) == 2:
            ok = 1 <= int(date["d2"]) <= 31 and 1 <= int(date["m2"]) <= 12
        else:
            ok = _date_iso(date) is not None
        if ok:
            yield m.start("date"), m.end("date"), "BIRTHDATE"


# --- assembly ----------------------------------------------------------------------------
def _resolve(hits: list[_Hit]) -> list[_Hit]:
    """Keep a non-overlapping subset: longest first, then most specific, then leftmost."""
    hits.sort(key=lambda h: (h[0] - h[1], _RANK[h[2]], h[0]))
    starts: list[int] = []
    kept: list[_Hit] = []
    for hit in hits:
        start, end, _ = hit
        i = bisect_right(starts, start)
        if i and kept[i - 1][1] > start:
            continue
        if i < len(kept) and kept[i][0] < end:
            continue
        starts.insert(i, start)
        kept.insert(i, hit)
    return kept


def find_patterns(text: str) -> list[Span]:
    """All validated pattern entities in `text`, sorted by start, non-overlapping."""
    hits: list[_Hit] = [*_emails(text), *_urls(text)]
    # Every other recognizer needs a digit; most short texts (titles, cells) have none.
    if any(d in text for d in "0123456789"):
        hits.extend(_ips(text))
        hits.extend(_digit_scan(text))
        hits.extend(_birthdates(text))
    if not hits:
        return []
    return [Span(s, e, label, text[s:e]) for s, e, label in _resolve(hits)]


# --- canonical forms ---------------------------------------------------------------------
_ADDRESS_PUNCT = re.compile(r"\s*[,–]\s*|\s+-\s+")  # not the hyphen of "Paul-Bert"
_URL_PARTS = re.compile(r"(?P<scheme>[a-zA-Z]+://)?(?P<host>[^/?#]*)(?P<rest>.*)", re.DOTALL)


def _collapse(surface: str) -> str:
    return _WS.sub(" ", surface).strip().casefold()


def canonical(label: str, surface: str) -> str:
    """The form under which mentions of one entity are grouped.

    PHONE -> E.164; EMAIL -> lower case; IBAN, NIR, SIRET, SIREN, CARD, PLATE -> upper case
    without spaces, dots or dashes; IP -> compressed form; URL -> scheme and host lower
    case, path kept; BIRTHDATE -> ISO date when day, month and 4-digit year are known;
    ADDRESS (commas and dashes between its parts ignored) and any other label -> whitespace
    collapsed, case-folded.
    """
    if label == "PHONE":
        parsed = _phone(_PHONE_NOISE.sub("", surface))
        return parsed[0] if parsed else _compact(surface)
    if label == "EMAIL":
        return surface.strip().lower()
    if label in ("IBAN", "NIR", "SIRET", "SIREN", "CARD", "PLATE"):
        return _compact(surface)
    if label == "IP":
        try:
            return ipaddress.ip_address(surface.strip()).compressed
        except ValueError:
            return surface.strip().lower()
    if label == "URL":
        m = _URL_PARTS.fullmatch(surface.strip())
        assert m is not None  # every group is optional
        rest = "" if m["rest"] == "/" else m["rest"]
        return (m["scheme"] or "").lower() + m["host"].lower() + rest
    if label == "BIRTHDATE":
        date = _DATE_FULL.fullmatch(surface.strip())
        iso = _date_iso(date) if date else None
        return iso if iso else _collapse(surface)
    if label == "ADDRESS":
        # "12, rue X\n75011 Paris" and "12 rue X – 75011 Paris" are one address.
        return _collapse(_ADDRESS_PUNCT.sub(" ", surface).replace("’", "'"))
    return _collapse(surface)
