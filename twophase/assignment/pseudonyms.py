"""Pseudonym candidates: first names, surnames, places, organisations and identifiers.

Assign asks for candidates for one new real component with attempt = 0, 1, 2... and keeps the
first one that is free (not already a pseudonym, not a real name of the batch or vault).

Invariant: every candidate is a pure function of (theme, secret, label, real, attempt, seq),
so runs are reproducible whatever the worker count or document order. The real value enters
HMAC-SHA256 keyed by the vault secret and is never printed; beyond that, identifier
surrogates keep only a shape that identifies no one (mobile or landline, card network digit
and length, NIR with or without key, IPv4 or IPv6). The candidate space grows with the
attempt (realistic pools first, then compounds, then invented names from >= 1e9
possibilities), so probing stays short even when a vault already holds a million surnames.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import ipaddress
import re
from collections.abc import Callable, Sequence
from typing import Final, TypeVar

from twophase.assignment import names
from twophase.assignment.names import Gender, fold, gender_of
from twophase.errors import UsageError

__all__ = ["THEMES", "Gender", "Generator", "check_theme", "format_like", "gender_of"]

THEMES: tuple[str, ...] = ("neutral", "fictional", "tags")


def check_theme(theme: str) -> None:
    """Before a vault is created with `theme`: a vault keeps its theme for life, so a typo
    must stop the run before the file exists."""
    if theme not in THEMES:
        raise UsageError(f"unknown pseudonym theme {theme!r}; choose one of {', '.join(THEMES)}")


T = TypeVar("T")
# (attempts, name, members): attempts 0 .. attempts-1 return one of `members`; `name` tells
# pools apart (the same members under two names would be counted twice, never wrongly).
Pool = tuple[int, str, tuple[str, ...]]

# Attempts 0..3 draw from the real-name pools. At a million surnames they are all taken and
# every probe pays these 4 misses; below a few hundred names they almost always succeed, so
# documents of ordinary size only ever see common French names. Measured trade-off, see
# docs/names.md.
POOL_ATTEMPTS: Final = 4
# Attempts from here on pick from the long invented forms (>= 1e9 candidates each).
LONG_FORM_ATTEMPT: Final = 8
# Pattern surrogates stay in the reserved/documentation ranges for this many attempts.
RESERVED_ATTEMPTS: Final = 8

# ARCEP keeps these blocks of 10,000 numbers for fiction (plan national de numérotation,
# décision 2018-0881): they can never ring a subscriber.
FICTION_LANDLINE_BLOCKS: Final = ("19900", "26191", "35301", "46571", "53649")
FICTION_MOBILE_BLOCK: Final = "63998"
# RFC 5737 documentation networks; RFC 3849 for IPv6.
DOC_NETWORKS: Final = ("192.0.2", "198.51.100", "203.0.113")
_PLATE_LETTERS: Final = "ABCDEFGHJKLMNPQRSTVWXYZ"  # SIV plates never use I, O or U
_PLATE_PAIRS: Final = tuple(
    a + b for a in _PLATE_LETTERS for b in _PLATE_LETTERS if a + b not in ("SS", "WW")
)
_CODE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes
_LABEL: Final = re.compile(r"[A-Z][A-Z0-9_]*")
_LABELS_SEEN: set[str] = set()  # labels that passed _LABEL
_NOT_DIGITS: Final = re.compile(r"[^0-9]")
_NOT_EMAIL: Final = re.compile(r"[^a-z0-9-]")
_ALIASES: Final = {"LOC": "LOCATION", "GPE": "LOCATION", "PER": "PERSON", "ORGANIZATION": "ORG"}


def _distinct(words: Sequence[str]) -> int:
    # Counted after folding: assign compares names case- and accent-insensitively, so "e"
    # and "é" are one choice as far as uniqueness goes.
    return len({fold(w) for w in words})


def space_sizes() -> dict[str, int]:
    """How many distinct candidates (up to case and accents) the last, unbounded tier of each
    name kind offers; docs/names.md quotes these figures."""
    invented = (
        _distinct(names.ONSETS)
        * _distinct(names.VOWELS)
        * _distinct(names.INNER_ONSETS)
        * _distinct(names.VOWELS)
    )
    fiction = (
        _distinct(names.FICTION_HEADS)
        * _distinct(names.FICTION_HEAD_VOWELS)
        * _distinct(names.FICTION_ONSETS)
        * _distinct(names.FICTION_VOWELS)
    )
    return {
        "neutral surname": 2
        * _distinct(names.simple_surnames())
        * invented
        * _distinct(names.SURNAME_ENDINGS),
        "neutral female given": _distinct(names.simple_given("f"))
        * invented
        * _distinct(names.FEMALE_ENDINGS),
        "neutral male given": _distinct(names.simple_given("m"))
        * invented
        * _distinct(names.MALE_ENDINGS),
        "neutral org": _distinct(names.ORG_KINDS)
        * invented
        * _distinct(names.INNER_ONSETS)
        * _distinct(names.BRAND_ENDINGS)
        * (1 + len(names.LEGAL_FORMS)),
        "fictional surname": (fiction * _distinct(names.FICTION_SURNAME_ENDINGS)) ** 2,
        "fictional female given": (fiction * _distinct(names.FICTION_FEMALE_ENDINGS)) ** 2,
        "fictional male given": (fiction * _distinct(names.FICTION_MALE_ENDINGS)) ** 2,
    }


class _Draw:
    """A stream of uniform choices for one attempt, read out of a keyed hash of the attempt.

    The key is the seed HMAC-SHA256(secret, theme, kind, real), computed once per component;
    each 256-bit block is BLAKE2b(attempt, block number) keyed with it. Keyed BLAKE2b is a PRF
    like HMAC at about half the cost per call (1.5 against 2.6 us measured), and the caller
    may probe several attempts per component across millions of components.
    Choices are taken by successive divmod of the block; a new block is drawn before the
    remaining range falls below 2**64 times the requested size, which keeps every choice's
    bias under 2**-64.
    """

    __slots__ = ("_attempt", "_block", "_room", "_seed", "_value")

    def __init__(self, seed: bytes, attempt: int) -> None:
        self._seed = seed
        self._attempt = attempt
        self._block = 0
        self._value = self._hash()
        self._room = 1 << 256

    def _hash(self) -> int:
        data = b"%d/%d" % (self._attempt, self._block)
        return int.from_bytes(hashlib.blake2b(data, key=self._seed, digest_size=32).digest())

    def below(self, n: int) -> int:
        if self._room < n << 64:
            self._block += 1
            self._value = self._hash()
            self._room = 1 << 256
        self._value, r = divmod(self._value, n)
        self._room //= n
        return r

    def pick(self, seq: Sequence[T]) -> T:
        return seq[self.below(len(seq))]

    def digits(self, k: int) -> str:
        return str(self.below(10**k)).zfill(k)


def _capitalise(word: str) -> str:
    return word[:1].upper() + word[1:]


def _ascii(name: str) -> str:
    """The e-mail/domain spelling of a name: "Le Goff" -> "legoff", "Jérôme" -> "jerome"."""
    return _NOT_EMAIL.sub("", fold(name))


def _invented(
    d: _Draw,
    syllables: int,
    endings: Sequence[str],
    heads: Sequence[str] = names.ONSETS,
    head_vowels: Sequence[str] = names.VOWELS,
    onsets: Sequence[str] = names.INNER_ONSETS,
    vowels: Sequence[str] = names.VOWELS,
) -> str:
    """A pronounceable invented word: syllables then a consonant-led ending, capitalised."""
    parts = [d.pick(heads), d.pick(head_vowels)]
    for _ in range(syllables - 1):
        parts += (d.pick(onsets), d.pick(vowels))
    parts.append(d.pick(endings))
    return _capitalise("".join(parts))


def _luhn_digit(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        n = int(c) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str(-total % 10)


def _nir_key(body13: str) -> str:
    return f"{97 - int(body13) % 97:02d}"


class Generator:
    """Candidates for one vault: theme and secret fixed, everything else an argument."""

    __slots__ = ("_inner", "_key", "_last", "_outer", "_prefix", "_theme")

    def __init__(self, theme: str, secret: bytes) -> None:
        if theme not in THEMES:
            raise ValueError(f"unknown pseudonym theme {theme!r}; choose one of {THEMES}")
        if not isinstance(secret, bytes) or len(secret) < 16:
            raise ValueError("the pseudonym secret must be at least 16 bytes")
        self._theme = theme
        self._key = secret
        # HMAC-SHA256 (RFC 2104) with its two padded-key states hashed once: a copy per
        # component instead of hmac.digest's key setup, ~3 against ~5.5 us measured.
        padded = (secret if len(secret) <= 64 else hashlib.sha256(secret).digest()).ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
        self._prefix = b"twophase/pseudonym/v1\x00" + theme.encode() + b"\x00"
        self._last: tuple[str, str, bytes] | None = None

    @property
    def theme(self) -> str:
        return self._theme

    # --- public API ------------------------------------------------------------------------

    def given(self, real: str, attempt: int, gender: Gender | None, seq: int) -> str:
        """A first name of the requested gender (either when None)."""
        _check(attempt, seq, self._theme)
        if gender not in ("f", "m", None):
            raise ValueError("gender must be 'f', 'm' or None")
        if self._theme == "tags":
            return _tag("PRENOM", seq, attempt)
        d = self._draw("given", real, attempt)
        if self._theme == "fictional":
            return _fictional_given(d, attempt, gender)
        return _neutral_given(d, attempt, gender)

    def family(self, real: str, attempt: int, seq: int) -> str:
        """A surname."""
        _check(attempt, seq, self._theme)
        if self._theme == "tags":
            return _tag("PERSON", seq, attempt)
        d = self._draw("family", real, attempt)
        if self._theme == "fictional":
            return _fictional_family(d, attempt)
        return _neutral_family(d, attempt)

    def whole(self, label: str, real: str, attempt: int, seq: int) -> str:
        """A place, organisation or identifier surrogate for an entity taken as a whole."""
        _check(attempt, seq, self._theme)
        if not isinstance(label, str) or label not in _LABELS_SEEN:  # each checked once
            if not isinstance(label, str) or not _LABEL.fullmatch(label):
                raise ValueError("labels are upper-case names such as LOCATION, ORG or EMAIL")
            _LABELS_SEEN.add(label)
        if self._theme == "tags":
            return _tag(label, seq, attempt)
        d = self._draw("whole:" + label, real, attempt)
        fictional = self._theme == "fictional"
        kind = _ALIASES.get(label, label)
        if kind == "PERSON":
            if fictional:
                return f"{_fictional_given(d, attempt, None)} {_fictional_family(d, attempt)}"
            return f"{_neutral_given(d, attempt, None)} {_neutral_family(d, attempt)}"
        if kind == "LOCATION":
            return _fictional_place(d, attempt) if fictional else _neutral_place(d, attempt)
        if kind == "ORG":
            return _fictional_org(d, attempt) if fictional else _neutral_org(d, attempt)
        if kind == "EMAIL":
            return _email(d, attempt, fictional)
        if kind == "URL":
            return _url(d, attempt)
        if kind == "ADDRESS":
            town = _fictional_place(d, attempt) if fictional else _neutral_place(d, attempt)
            return _address(d, town)
        pattern = _PATTERNS.get(kind)
        if pattern is not None:
            return pattern(d, real, attempt)
        return "".join(d.pick(_CODE_ALPHABET) for _ in range(8))

    def pool(self, label: str, kind: str, real: str, gender: Gender | None) -> Pool | None:
        """What attempts 0 .. n-1 for this component can return, when it is a finite pool.

        The chooser skips those attempts once every member is taken, instead of paying a
        keyed hash per refused candidate: at a million surnames the pools are full and each
        new name paid 4 of them, each new mobile number 8 (docs/performance.md). Must stay
        in step with `given`, `family` and `_phone`; tests/test_pseudonyms.py checks it.
        """
        if self._theme == "tags":
            return None
        if kind == "whole" and _ALIASES.get(label, label) == "PHONE":
            return (RESERVED_ATTEMPTS, "PHONE", _fiction_phones(_is_mobile(real)))
        if self._theme != "neutral" or label != "PERSON":
            return None
        if kind == "given":
            if gender is None:
                return (POOL_ATTEMPTS, "given", names.any_given())
            return (POOL_ATTEMPTS, "given" + gender, _given_pool(gender))
        if kind == "family":
            return (POOL_ATTEMPTS, "family", names.surnames())
        return None

    # --- internals -------------------------------------------------------------------------

    def _draw(self, kind: str, real: str, attempt: int) -> _Draw:
        last = self._last
        if last is not None and last[0] == kind and last[1] == real:
            seed = last[2]  # the caller probes attempts 0, 1, 2... of one component in a row
        else:
            # Length-prefixed fields: no two (kind, real) share a message.
            k = kind.encode()
            r = real.encode("utf-8", "surrogatepass")
            msg = b"".join((self._prefix, len(k).to_bytes(4), k, len(r).to_bytes(8), r))
            inner = self._inner.copy()
            inner.update(msg)
            outer = self._outer.copy()
            outer.update(inner.digest())
            seed = outer.digest()  # = hmac.digest(self._key, msg, "sha256")
            self._last = (kind, real, seed)
        return _Draw(seed, attempt)


def _check(attempt: int, seq: int, theme: str) -> None:
    # type() rather than isinstance(): True is not an attempt number.
    if type(attempt) is not int or attempt < 0:
        raise ValueError("attempt must be an integer >= 0")
    if type(seq) is not int or (seq < 1 and theme == "tags"):
        raise ValueError("seq must be an integer, >= 1 for the tags theme")


def _tag(tag: str, seq: int, attempt: int) -> str:
    # A retry gets its own suffix so the caller's probing can never loop on one candidate;
    # "[PERSON-0001-1]" cannot equal any first-try tag, which has no second dash.
    suffix = f"-{attempt}" if attempt else ""
    return f"[{tag}-{seq:04d}{suffix}]"


# --- neutral: realistic French ----------------------------------------------------------------


def _past_pools(attempt: int) -> tuple[bool, bool]:
    """(compound?, long form?) for an attempt once the pools are spent."""
    rest = attempt - POOL_ATTEMPTS
    # Compounds and invented names alternate: every second probe reaches a space of millions
    # to billions, so even a saturated compound space costs at most one extra probe.
    return rest % 2 == 0, rest >= 2


def _neutral_given(d: _Draw, attempt: int, gender: Gender | None) -> str:
    if attempt < POOL_ATTEMPTS:
        if gender is None:
            return d.pick(names.any_given())
        return d.pick(names.female_given() if gender == "f" else names.male_given())
    g: Gender = gender if gender is not None else d.pick(("f", "m"))
    compound, long = _past_pools(attempt)
    if compound:  # "Marie-Laure", "Jean-Marc"
        head = d.pick(names.COMPOUND_HEADS[g])
        tails = names.simple_given(g)
        tail = d.pick(tails)
        while tail == head:  # "Marie-Marie"
            tail = d.pick(tails)
        return f"{head}-{tail}"
    invented = _invented(d, 2, names.FEMALE_ENDINGS if g == "f" else names.MALE_ENDINGS)
    if not long:  # "Bélaline"
        return invented
    # A real first name in front ("Agnès-Bélaline") keeps >= 1e9 candidates and lets
    # gender_of() read the gender back from the first part.
    return f"{d.pick(names.simple_given(g))}-{invented}"


def _neutral_family(d: _Draw, attempt: int) -> str:
    if attempt < POOL_ATTEMPTS:
        return d.pick(names.surnames())
    compound, long = _past_pools(attempt)
    pool = names.simple_surnames()
    if compound:  # "Martin-Lefort"
        first = d.pick(pool)
        second = d.pick(pool)
        while second == first:
            second = d.pick(pool)
        return f"{first}-{second}"
    invented = _invented(d, 2, names.SURNAME_ENDINGS)
    if not long:  # "Pauchiquet"
        return invented
    real = d.pick(pool)  # "Martin-Pauchiquet": >= 1e9 candidates
    return f"{real}-{invented}" if d.below(2) else f"{invented}-{real}"


def _place_stem(d: _Draw, attempt: int) -> str:
    if attempt < POOL_ATTEMPTS:
        return d.pick(names.PLACE_PREFIXES) + d.pick(names.PLACE_SUFFIXES)
    return _invented(d, 2 if attempt < LONG_FORM_ATTEMPT else 3, names.PLACE_STEM_ENDINGS)


def _neutral_place(d: _Draw, attempt: int) -> str:
    stem = _place_stem(d, attempt)
    form = d.below(20)
    if form < 5:  # "Valmorel"
        return stem
    if form < 12:  # "Valmorel-sur-Orne"
        return f"{stem}-{d.pick(names.PLACE_LINKS)}-{d.pick(names.RIVERS)}"
    if form < 14:  # "Valmorel-en-Bresse"
        return f"{stem}-en-{d.pick(names.PAYS)}"
    gender: Gender = d.pick(("f", "m"))
    saint = ("Sainte-" if gender == "f" else "Saint-") + d.pick(names.SAINTS[gender])
    if form < 18 or attempt >= POOL_ATTEMPTS:  # "Saint-Aubin-de-Lenne"
        # Past the pools every form carries the invented stem, so none is a small space.
        return f"{saint}-de-{stem}"
    return f"{saint}-sur-{d.pick(names.RIVERS)}"  # "Saint-Martin-sur-Vire"


def _brand(d: _Draw, syllables: int) -> str:
    """An invented brand such as "Verlane" or "Dorvic"."""
    word = _invented(d, syllables, names.INNER_ONSETS)
    return word + d.pick(names.BRAND_ENDINGS)


def _neutral_org(d: _Draw, attempt: int) -> str:
    if attempt >= LONG_FORM_ATTEMPT:  # "Ateliers Chaubinex SARL": >= 1e9 candidates
        legal = d.pick(("", *names.LEGAL_FORMS))
        return f"{d.pick(names.ORG_KINDS)} {_brand(d, 2)}" + (f" {legal}" if legal else "")
    form = d.below(10)
    if form < 6:  # "Groupe Verlane"
        return f"{d.pick(names.ORG_KINDS)} {_brand(d, 1)}"
    if form < 8:  # "Cabinet Lefort"
        return f"{d.pick(names.ORG_KINDS)} {d.pick(names.surnames())}"
    if form < 9:  # "Lefort & Associés"
        return f"{d.pick(names.surnames())} {d.pick(names.ORG_TAILS)}"
    return f"{_brand(d, 1)} {d.pick(names.LEGAL_FORMS)}"  # "Verlane SAS"


# --- fictional: obviously invented ------------------------------------------------------------


def _fictional_word(d: _Draw, syllables: int, endings: Sequence[str]) -> str:
    return _invented(
        d,
        syllables,
        endings,
        heads=names.FICTION_HEADS,
        head_vowels=names.FICTION_HEAD_VOWELS,
        onsets=names.FICTION_ONSETS,
        vowels=names.FICTION_VOWELS,
    )


def _fictional_name(d: _Draw, attempt: int, endings: Sequence[str]) -> str:
    # Two syllables read best ("Zorvane"); three open millions of candidates; past that two
    # short names joined ("Zorvane-Quibell") give >= 1e10 without turning into tongue-twisters.
    if attempt < 2:
        return _fictional_word(d, 2, endings)
    if attempt < 6:
        return _fictional_word(d, 3, endings)
    return f"{_fictional_word(d, 2, endings)}-{_fictional_word(d, 2, endings)}"


def _fictional_given(d: _Draw, attempt: int, gender: Gender | None) -> str:
    g: Gender = gender if gender is not None else d.pick(("f", "m"))
    endings = names.FICTION_FEMALE_ENDINGS if g == "f" else names.FICTION_MALE_ENDINGS
    return _fictional_name(d, attempt, endings)


def _fictional_family(d: _Draw, attempt: int) -> str:
    return _fictional_name(d, attempt, names.FICTION_SURNAME_ENDINGS)


def _fictional_place(d: _Draw, attempt: int) -> str:
    # "Port-Azerin": a vowel-led invented stem, often behind a harbour/fort/valley word.
    parts = [_capitalise(d.pick(names.FICTION_HEAD_VOWELS))]
    for _ in range(2 if attempt < POOL_ATTEMPTS else 3):
        parts += (d.pick(names.FICTION_ONSETS), d.pick(names.FICTION_VOWELS))
    stem = "".join(parts) + d.pick(names.FICTION_PLACE_ENDINGS)
    if d.below(4) == 0:  # "Zazerin"
        return _capitalise(d.pick(names.FICTION_HEADS)) + stem.lower()
    return f"{d.pick(names.FICTION_PLACE_HEADS)}-{stem}"


def _fictional_org(d: _Draw, attempt: int) -> str:
    return f"{d.pick(names.ORG_KINDS)} {_fictional_name(d, attempt, names.FICTION_SURNAME_ENDINGS)}"


# --- identifiers: same surrogates for every name theme --------------------------------------


def _email(d: _Draw, attempt: int, fictional: bool) -> str:
    if fictional:
        given = _ascii(_fictional_given(d, 0, None))
        family = _ascii(_fictional_family(d, 0))
    else:
        # The person names' ladder: the pools first, then compounds and invented names,
        # which the chooser needs once the batch's real names cover the pools (an e-mail
        # must not show a real name either).
        given = _ascii(_neutral_given(d, attempt, None))
        family = _ascii(_neutral_family(d, attempt))
    style = d.below(6)
    # Name parts always apart, so that the chooser can read them ("mariedubois" hid them).
    local = (
        f"{given}.{family}",
        f"{given}-{family}",
        f"{given}_{family}",
        f"{given[:1]}.{family}",
        f"{family}.{given}",
        f"{family}_{given}",
    )[style]
    if attempt >= POOL_ATTEMPTS:
        local += str(d.below(100 if attempt < LONG_FORM_ATTEMPT else 10_000))
    domain = _ascii(_brand(d, 1 if attempt < LONG_FORM_ATTEMPT else 2))
    # Invented domains may exist by chance; the fictional theme uses the reserved .example
    # TLD (RFC 2606) so its addresses can never reach anyone.
    tld = "example" if fictional else d.pick(names.EMAIL_TLDS)
    return f"{local}@{domain}.{tld}"


def _url(d: _Draw, attempt: int) -> str:
    host = _ascii(_brand(d, 1 if attempt < LONG_FORM_ATTEMPT else 2))
    path = d.pick(names.URL_PATHS)
    return f"https://www.{host}.example" + (f"/{path}" if path else "")


def _address(d: _Draw, town: str) -> str:
    number = 1 + d.below(150)
    street = f"{d.pick(names.STREET_KINDS)} {d.pick(names.STREET_NAMES)}"
    department = 1 + d.below(95)
    if department == 20:  # Corsica has 2A/2B, never 20
        department = 21
    postcode = f"{department:02d}{d.below(100) * 10:03d}"
    return f"{number} {street}, {postcode} {town}"


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9"


def _is_alnum(c: str) -> bool:
    # ASCII only: identifiers are written in ASCII, and one predicate for both counting and
    # filling keeps the two in step whatever Unicode the surface holds.
    return c.isascii() and c.isalnum()


def _digits_of(text: str) -> str:
    return _NOT_DIGITS.sub("", text)  # what _is_digit keeps, in one C pass


def _is_mobile(real: str) -> bool:
    # Keep only the kind of line (mobile or not), never the area: "portable : 06..." must
    # stay a mobile for the text to read right, and the kind identifies no one.
    digits = _digits_of(real)
    if digits.startswith("00"):
        digits = digits[2:]
    if digits.startswith("33"):
        digits = digits[2:]
    return digits.lstrip("0")[:1] in ("6", "7")


@functools.lru_cache(maxsize=1)  # a chooser probes one number's attempts in a row
def _is_mobile_last(real: str) -> bool:
    return _is_mobile(real)


@functools.cache
def _fiction_phones(mobile: bool) -> tuple[str, ...]:
    """Every number `_phone` draws from below RESERVED_ATTEMPTS."""
    blocks = (FICTION_MOBILE_BLOCK,) if mobile else FICTION_LANDLINE_BLOCKS
    return tuple(f"+33{block}{n:04d}" for block in blocks for n in range(10_000))


def _given_pool(gender: Gender) -> tuple[str, ...]:
    return names.female_given() if gender == "f" else names.male_given()


def _phone(d: _Draw, real: str, attempt: int) -> str:
    mobile = _is_mobile_last(real)
    if attempt < RESERVED_ATTEMPTS:
        block = FICTION_MOBILE_BLOCK if mobile else d.pick(FICTION_LANDLINE_BLOCKS)
        return f"+33{block}{d.digits(4)}"
    # 60,000 fiction numbers are spent: fall back to the whole national plan.
    first = d.pick("67") if mobile else d.pick("12345")
    return f"+33{first}{d.digits(8)}"


def _iban(d: _Draw, real: str, attempt: int) -> str:
    bank, branch, account = d.digits(5), d.digits(5), d.digits(11)
    # RIB key: bank || branch || account || key is divisible by 97.
    rib_key = 97 - int(bank + branch + account) * 100 % 97
    bban = f"{bank}{branch}{account}{rib_key:02d}"
    check = 98 - int(bban + "152700") % 97  # "FR00" moved to the end, F=15 R=27
    return f"FR{check:02d}{bban}"


def _nir(d: _Draw, real: str, attempt: int) -> str:
    department = 1 + d.below(95)
    if department == 20:
        department = 21
    body = (
        f"{1 + d.below(2)}{d.digits(2)}{1 + d.below(12):02d}{department:02d}"
        f"{1 + d.below(990):03d}{1 + d.below(999):03d}"
    )
    # A NIR written without its key (13 digits) gets a 13-digit surrogate.
    return body if sum(map(_is_alnum, real)) == 13 else body + _nir_key(body)


def _siren(d: _Draw, real: str, attempt: int) -> str:
    body = f"{1 + d.below(9)}{d.digits(7)}"
    return body + _luhn_digit(body)


def _siret(d: _Draw, real: str, attempt: int) -> str:
    body = _siren(d, real, attempt) + d.digits(4)
    return body + _luhn_digit(body)


def _card(d: _Draw, real: str, attempt: int) -> str:
    digits = _digits_of(real)
    length = len(digits) if 12 <= len(digits) <= 19 else 16
    # Keep the network digit (Visa 4, Mastercard 5/2, Amex 3...) so "carte Visa" still reads
    # right; it says nothing about the holder.
    first = digits[0] if digits[:1] in ("2", "3", "4", "5", "6") else "4"
    if first == "3" and length == 15:
        first += d.pick("47")
    body = first + d.digits(length - len(first) - 1)
    return body + _luhn_digit(body)


def _ip(d: _Draw, real: str, attempt: int) -> str:
    if ":" in real:
        suffix = d.below(1 << 96)
        return str(ipaddress.IPv6Address((0x20010DB8 << 96) | suffix))
    if attempt < RESERVED_ATTEMPTS:
        return f"{d.pick(DOC_NETWORKS)}.{1 + d.below(254)}"
    # RFC 5737 gives only 762 hosts; private 10/8 is never routed on the internet either.
    return f"10.{d.below(256)}.{d.below(256)}.{1 + d.below(254)}"


def _plate(d: _Draw, real: str, attempt: int) -> str:
    return f"{d.pick(_PLATE_PAIRS)}-{1 + d.below(999):03d}-{d.pick(_PLATE_PAIRS)}"


def _birthdate(d: _Draw, real: str, attempt: int) -> str:
    # Adult-to-child birth years first; wider ranges only to guarantee the probing ends.
    if attempt < RESERVED_ATTEMPTS:
        low, high = datetime.date(1935, 1, 1), datetime.date(2007, 12, 31)
    elif attempt < 4 * RESERVED_ATTEMPTS:
        low, high = datetime.date(1900, 1, 1), datetime.date(2024, 12, 31)
    else:
        low, high = datetime.date(1000, 1, 1), datetime.date(2999, 12, 31)
    span = high.toordinal() - low.toordinal() + 1
    return datetime.date.fromordinal(low.toordinal() + d.below(span)).isoformat()


_PATTERNS: Final[dict[str, Callable[[_Draw, str, int], str]]] = {
    "PHONE": _phone,
    "IBAN": _iban,
    "NIR": _nir,
    "SIREN": _siren,
    "SIRET": _siret,
    "CARD": _card,
    "IP": _ip,
    "PLATE": _plate,
    "BIRTHDATE": _birthdate,
}


# --- rendering in the source's style ---------------------------------------------------------

_E164_FR: Final = re.compile(r"\+33(\d{9})")
_GROUPED: Final = frozenset({"IBAN", "CARD", "NIR", "SIRET", "SIREN"})


def _fill(template: str, chars: str, slot: Callable[[str], bool]) -> str:
    """Write chars into the template's slots, keeping every other character in place."""
    it = iter(chars)
    out = []
    for c in template:
        if slot(c):
            new = next(it)
            out.append(new.lower() if c.islower() else new)
        else:
            out.append(c)
    return "".join(out)


def _phone_like(surface: str, national: str) -> str:
    digits = _digits_of(surface)
    # The digits the surface's prefix style calls for: 0X..., 33X..., +33 (0)X..., 0033X...
    for prefix in ("0", "33", "330", "0033", "00330", ""):
        if len(digits) == len(prefix) + 9 and digits.startswith(prefix):
            return _fill(surface, prefix + national, _is_digit)
    # A foreign or odd layout: fall back to the usual French display.
    if surface.lstrip().startswith("+"):
        return f"+33 {national[0]} " + " ".join(national[i : i + 2] for i in range(1, 9, 2))
    return "0" + national[0] + " " + " ".join(national[i : i + 2] for i in range(1, 9, 2))


def format_like(label: str, surface: str, pseudonym: str) -> str:
    """The canonical pseudonym written the way the source surface was written.

    PHONE keeps the surface's layout ("06 12 34 56 78" -> "06 39 98 12 34"); IBAN, CARD,
    NIR, SIRET and SIREN keep their grouping when the lengths match; EMAIL is lower-case
    unless the surface was upper-case. Anything else, and any pseudonym that is not of the
    expected shape (a tag, say), comes back unchanged.
    """
    if label == "PHONE":
        m = _E164_FR.fullmatch(pseudonym)
        return _phone_like(surface, m.group(1)) if m else pseudonym
    if label in _GROUPED:
        compact = "".join(c for c in surface if _is_alnum(c))
        if not (pseudonym.isascii() and pseudonym.isalnum()) or not compact:
            return pseudonym
        chars = pseudonym
        if label == "NIR" and pseudonym.isdigit():
            # The same NIR written with and without its 2-digit key.
            if len(compact) == 13 and len(pseudonym) == 15:
                chars = pseudonym[:13]
            elif len(compact) == 15 and len(pseudonym) == 13:
                chars = pseudonym + _nir_key(pseudonym)
        if len(compact) == len(chars):
            return _fill(surface, chars, _is_alnum)
        if label == "IBAN" and " " in surface.strip():
            return " ".join(pseudonym[i : i + 4] for i in range(0, len(pseudonym), 4))
        return pseudonym
    if label == "EMAIL" and "@" in pseudonym:
        return pseudonym.upper() if surface.isupper() else pseudonym.lower()
    return pseudonym
