"""Batch-wide propagation: every surface variant of every known entity, with its rendering.

This is the two-phase advantage. Detect looks at one document at a time and misses a name
here and there ("Pierre" at a sentence start, "LEFÈVRE" in a heading); assign sees the whole
batch and the vault, so it lists every way each known entity can be written — the mention
surfaces of the batch, and variants derived from their components: family name alone,
given names alone, "Family Given" and "Family, Given" orders, capitals, capitals without
accents — each with the text render must put in its place. Render replaces these surfaces
wherever they stand as whole words outside planned replacements (rendering/propagate.py).

Renderings go through `resolve.render_pieces`, so a propagated "DUBOIS" reads exactly like
a detected one. Case is kept as written: "Rose" the person never matches "rose" the flower,
and a surface without a capital or a digit is never propagated.

Invariant: `variants` is a pure function of its arguments — sorted iteration only, ties
broken on values — so the same batch and vault give the same plan in any order. Only
surfaces whose marked tokens (words.marked_tokens) all occur in the batch are kept: the
plan never carries a name from the vault that no document of this batch contains.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

import msgpack

from twophase.assignment.names import fold as loose_fold
from twophase.assignment.normalize import strip_accents
from twophase.assignment.resolve import (
    Component,
    Known,
    Mention,
    Piece,
    Resolved,
    render_pieces,
    resolve,
    sorted_mentions,
)
from twophase.sidecar import Variant, VariantRow
from twophase.vault import Vault
from twophase.words import marked_tokens

# Candidate ranks: a surface seen as a mention beats one derived from components, which
# beats one known only from the vault, when several entities claim the same surface.
MENTION, DERIVED, VAULT = 0, 1, 2
_NAME_TYPES = ("PERSON", "LOCATION", "ORG")
_Case = Callable[[str], str]
_Key = tuple[int, int, str, int]  # (rank, -weight, label, entity): the least wins


_SPACE: Piece = ("literal", " ", None)


def _title(text: str) -> str:
    """ "DE LA FONTAINE" → "De La Fontaine", "NGUYEN-LAMBERT" → "Nguyen-Lambert"."""
    if text.isascii() and text.isalpha():  # one plain word: the same, without the loop
        return text[:1].upper() + text[1:].lower()
    out = []
    start = True
    for c in text:
        out.append(c.upper() if start else c.lower())
        start = not c.isalpha()
    return "".join(out)


def _upper_plain(text: str) -> str:
    return strip_accents(text.upper())


# The case forms a name is also found in, by index: as written, capitals, capitals without
# accents, and (for a name seen in capitals only) title case: "DUBOIS" is "Dubois" elsewhere.
AS_WRITTEN, UPPER, UPPER_PLAIN, TITLE = 0, 1, 2, 3
_CASE_FNS: tuple[_Case, ...] = (str, str.upper, _upper_plain, _title)


def _all_caps(source: str) -> bool:
    if source.isascii():  # every ASCII letter is cased, and only letters are
        return source.isupper()
    letters = [c for c in source if c.isalpha()]
    return bool(letters) and all(map(str.isupper, letters))


def _cases(source: str) -> tuple[int, ...]:
    """The case forms (indexes into _CASE_FNS) a name written `source` is also found in."""
    return (0, 1, 2, 3) if _all_caps(source) else (0, 1, 2)


def _surface(pieces: Iterable[Piece]) -> str:
    return "".join(source for _, source, _ in pieces)


class _Cased(NamedTuple):
    """One name part in one case form, and what `_keep` needs to know of it."""

    text: str
    found: bool  # every marked token of `text` occurs in the batch
    marked: bool  # it has a marked token at all
    letters: int


_Parts = tuple[tuple[str, Component], ...]  # (text in its case form, component)


class _Group(NamedTuple):
    """A mention's given names, or its family name, in one case form: the joined text,
    whether all its parts are `found`, any `marked`, its letters, and the parts."""

    text: str
    found: bool
    marked: bool
    letters: int
    parts: _Parts


class _Best:
    """The best-ranked form of each surface, built only when it wins.

    Equivalent to keeping every (surface, form) that passes `_keep` and then the least
    (rank, -weight, label, entity) per surface, the first offered on a tie; but a derived
    writing is tested part by part (its marked tokens are the union of its parts', since
    parts are joined by a space or ", "), so a form with a part the batch never wrote, or
    a surface already held by a better form, costs neither a string nor a tuple. At a
    million persons this was most of assign (docs/performance.md).
    """

    def __init__(self, vocabulary: frozenset[str], allow: frozenset[str]) -> None:
        self.vocabulary = vocabulary
        self.allow = allow
        self.best: dict[str, tuple[_Key, tuple[Piece, ...]]] = {}
        self._forms: dict[str, tuple[_Cased, ...]] = {}
        # Groups of a lone given name: a few thousand first names, each in many mentions.
        self._given: dict[tuple[str, Component], tuple[_Group, ...]] = {}

    def _cased(self, text: str) -> _Cased:
        if text.isalpha():  # one token, the usual name part: no regex
            marked = not text.islower()
            return _Cased(text, text in self.vocabulary if marked else True, marked, len(text))
        if " " in text and text.replace(" ", "").isalpha():
            # Words of letters ("Lumen Études"): its tokens are its words, no regex.
            marked_words = [w for w in text.split(" ") if w and not w.islower()]
            found = all(w in self.vocabulary for w in marked_words)
            return _Cased(text, found, bool(marked_words), len(text) - text.count(" "))
        tokens = marked_tokens(text)
        letters = sum(map(str.isalpha, text))
        return _Cased(text, tokens <= self.vocabulary, bool(tokens), letters)

    def forms(self, source: str) -> tuple[_Cased, ...]:
        """A name part in each case form, indexed like _CASE_FNS; title case only for a
        part with no small letter (a name is offered in title case only when all of it is
        in capitals)."""
        got = self._forms.get(source)
        if got is None:
            if source.isascii():
                got = self._forms[source] = self._ascii_forms(source)
                return got
            small = any(c.isalpha() and not c.isupper() for c in source)
            cases = _CASE_FNS[:TITLE] if small else _CASE_FNS
            got = self._forms[source] = tuple(self._cased(fn(source)) for fn in cases)
        return got

    def _ascii_forms(self, source: str) -> tuple[_Cased, ...]:
        """`forms` of an ASCII name part (most of them): its capitals need no accent
        stripping, so UPPER and UPPER_PLAIN are one form, tested once; it has no small
        letter exactly when it is its own capitals."""
        if not source.isalpha():
            upper = source.upper()
            caps = self._cased(upper)
            if source == upper:
                return (caps, caps, caps, self._cased(_title(source)))
            return (self._cased(source), caps, caps)
        vocabulary = self.vocabulary
        letters = len(source)
        upper = source.upper()
        capitals = _Cased(upper, upper in vocabulary, True, letters)
        if source == upper:  # no small letter: title case too
            title = upper[:1] + upper[1:].lower()
            return (capitals, capitals, capitals, _Cased(title, title in vocabulary, True, letters))
        marked = not source.islower()
        written = _Cased(source, source in vocabulary if marked else True, marked, letters)
        return (written, capitals, capitals)

    def mention(self, surface: str, key: _Key, pieces: tuple[Piece, ...]) -> None:
        held = self.best.get(surface)
        if held is not None and held[0] <= key:
            return
        if _keep(surface, key[2], self.vocabulary, self.allow):
            self.best[surface] = (key, pieces)

    def derived(
        self,
        key: _Key,
        text: str,
        marked: bool,
        letters: int,
        first: _Parts,
        sep: str = "",
        second: _Parts = (),
    ) -> None:
        """The writing `text`: `first` (parts joined by spaces), then `sep` and `second`."""
        held = self.best.get(text)
        if held is not None and held[0] <= key:
            return
        # The callers pass only parts that are `found`: what is left of `_keep`.
        if not marked or (letters < 2 and key[2] in _NAME_TYPES):
            return
        if self.allow and loose_fold(text) in self.allow:
            return
        pieces: list[Piece] = []
        for part, comp in first:
            if pieces:
                pieces.append(_SPACE)
            pieces.append(("case", part, comp))
        if second:
            pieces.append(("literal", sep, None))
            for i, (part, comp) in enumerate(second):
                if i:
                    pieces.append(_SPACE)
                pieces.append(("case", part, comp))
        self.best[text] = (key, tuple(pieces))

    def person(self, resolved: Resolved, key: _Key) -> None:
        """Derived writings of a person mention's name: family name alone, given names
        alone, both orders, in each case form; the order `forms_of` always had."""
        given: list[tuple[tuple[_Cased, ...], Component]] = []
        family: list[tuple[tuple[_Cased, ...], Component]] = []
        given_src: list[str] = []
        family_src: list[str] = []
        for style, src, comp in resolved.pieces:
            if comp is not None and style == "case":
                if comp.kind == "given":
                    given.append((self.forms(src), comp))
                    given_src.append(src)
                elif comp.kind == "family":
                    family.append((self.forms(src), comp))
                    family_src.append(src)
        if not given and not family:
            return
        derived = self.derived
        cases = _cases("".join(given_src + family_src).replace(" ", ""))
        # Each case form joined once: the mixed writings below reuse them.
        gs: Sequence[_Group] | None = None
        if len(given) == 1:  # a first name recurs across the batch: its groups are kept
            gs = self._given.get((given_src[0], given[0][1]))
            if gs is None:
                gs = self._given[(given_src[0], given[0][1])] = _groups(given[0])
        elif given:
            gs = [_group(given, case) for case in cases]
        fs = [_group(family, case) for case in cases] if family else None
        # Capitals without accents are the capitals themselves for an ASCII name: the
        # same writings, each offered again for nothing (the least key holds already).
        plain = gs is None or gs[UPPER_PLAIN] != gs[UPPER]
        plain = plain or fs is None or fs[UPPER_PLAIN] != fs[UPPER]
        if not plain:
            cases = tuple(case for case in cases if case != UPPER_PLAIN)
        for case in cases:
            g = gs[case] if gs is not None else None
            f = fs[case] if fs is not None else None
            if g is not None and g.found and (f is None or not g.text.isupper()):
                # A first name alone, never in capitals: "PIERRE" in a text in capitals is
                # more often the stone ("PIERRE DE TAILLE") than a man already named in full.
                derived(key, g.text, g.marked, g.letters, g.parts)
            if f is not None and f.found:
                derived(key, f.text, f.marked, f.letters, f.parts)
            if g is not None and f is not None and g.found and f.found:
                marked, letters = g.marked or f.marked, g.letters + f.letters
                derived(key, f"{g.text} {f.text}", marked, letters, g.parts, " ", f.parts)
                derived(key, f"{f.text} {g.text}", marked, letters, f.parts, " ", g.parts)
                derived(key, f"{f.text}, {g.text}", marked, letters, f.parts, ", ", g.parts)
        # Mixed: the family name in capitals next to the given name as written, both orders.
        if gs is not None and fs is not None:
            g = gs[AS_WRITTEN]
            if g.found:
                for case in (UPPER, UPPER_PLAIN) if fs[UPPER_PLAIN] != fs[UPPER] else (UPPER,):
                    f = fs[case]
                    if f.found:
                        marked, letters = g.marked or f.marked, g.letters + f.letters
                        derived(key, f"{f.text} {g.text}", marked, letters, f.parts, " ", g.parts)
                        derived(key, f"{g.text} {f.text}", marked, letters, g.parts, " ", f.parts)

    def place(self, resolved: Resolved, key: _Key) -> None:
        for style, source, comp in resolved.pieces:
            if comp is not None and style == "case":
                forms = self.forms(source)
                for case in _cases(source):
                    c = forms[case]
                    if c.found:
                        self.derived(key, c.text, c.marked, c.letters, ((c.text, comp),))


def _groups(name: tuple[tuple[_Cased, ...], Component]) -> tuple[_Group, ...]:
    """`_group` of one name in each of its case forms."""
    forms, comp = name
    return tuple(_Group(c.text, c.found, c.marked, c.letters, ((c.text, comp),)) for c in forms)


def _group(names: list[tuple[tuple[_Cased, ...], Component]], case: int) -> _Group:
    """Given names (or the family name) of a mention in one case form, joined."""
    if len(names) == 1:
        forms, comp = names[0]
        c = forms[case]
        return _Group(c.text, c.found, c.marked, c.letters, ((c.text, comp),))
    parts = [(forms[case], comp) for forms, comp in names]
    return _Group(
        " ".join(c.text for c, _ in parts),
        all(c.found for c, _ in parts),
        any(c.marked for c, _ in parts),
        sum(c.letters for c, _ in parts),
        tuple((c.text, comp) for c, comp in parts),
    )


def _keep(surface: str, label: str, vocabulary: frozenset[str], allow: frozenset[str]) -> bool:
    words = surface.split(" ")
    if "".join(words).isalpha():
        # Letters and spaces ("Marie Dubois"): its marked tokens are its words with a
        # capital, found without the regex (a million surfaces at scale).
        marked = [w for w in words if w and not w.islower()]
        if not marked or not all(w in vocabulary for w in marked):
            return False
    else:
        tokens = marked_tokens(surface)
        if not tokens or not tokens <= vocabulary:
            return False  # lower case only ("rose", an e-mail), or absent from the batch
    if allow and loose_fold(surface) in allow:
        return False
    # Initials alone ("J."), one letter ("Q"): too short to be found safely.
    if label not in _NAME_TYPES:
        return True
    letters = 0
    for c in surface:
        if c.isalpha():
            letters += 1
            if letters == 2:
                return True
    return False


class Forms:
    """Every writing of the known entities, collected, then rendered into variants."""

    def __init__(self, vocabulary: frozenset[str], allow: frozenset[str] = frozenset()) -> None:
        self._best = _Best(vocabulary, allow)
        self._sorted: list[str] | None = None

    def sort(self) -> None:
        """Sort the surfaces now, before the pseudonyms are known (`variants` would)."""
        self._sorted = sorted(self._best.best)

    def add(
        self,
        mentions: Mapping[Mention, Resolved],
        entity_of: Mapping[Mention, int],
        weights: Mapping[int, int],
        rank: int = MENTION,
    ) -> None:
        """Each mention's surface and each writing derived from its components."""
        self._sorted = None
        best = self._best
        for mention in sorted_mentions(mentions):
            resolved = mentions[mention]
            entity = entity_of.get(mention)
            if entity is None:
                continue
            label, weight = resolved.entity.type, weights.get(entity, 0)
            best.mention(mention.text, (rank, -weight, label, entity), resolved.pieces)
            if label == "PERSON":
                best.person(resolved, (max(rank, DERIVED), -weight, label, entity))
            elif label in ("LOCATION", "ORG"):
                best.place(resolved, (max(rank, DERIVED), -weight, label, entity))

    def variants(self, pseudonym: Callable[[Component], str]) -> tuple[Variant, ...]:
        """One variant per surface: the best-ranked form, rendered; sorted by surface."""
        return tuple(Variant(*row) for row in self.variant_rows(pseudonym))

    def variant_rows(
        self, pseudonym: Callable[[Component], str], rendered: dict[Piece, str] | None = None
    ) -> list[VariantRow]:
        """`variants` as plain (surface, text, entity, label) rows: what the plan packs,
        without an object per variant (millions at scale). `rendered`: pieces rendered
        already, given to be completed (the caller renders mentions with them too)."""
        best = self._best.best
        out = []
        # A piece renders the same in every surface it is part of: rendered once each.
        if rendered is None:
            rendered = {}
        for surface in self._sorted if self._sorted is not None else sorted(best):
            key, pieces = best[surface]
            text = render_pieces(pieces, pseudonym, rendered)
            if text != surface:
                out.append((surface, text, key[3], key[2]))
        return out


def _mentioned(text: str, vocabulary: frozenset[str]) -> bool:
    for token in re.findall(r"[^\W_]+", text):
        for case in (token, token.upper(), strip_accents(token.upper()), _title(token)):
            if case in vocabulary:
                return True
    return False


def vault_mentions(
    vault: Vault, known: Known, skip: set[int], vocabulary: frozenset[str]
) -> tuple[dict[Mention, Resolved], dict[Mention, int]]:
    """The vault's entities but `skip`, as mentions (decrypts them all).

    Each entity's display form (its longest surface) is resolved again as a lone mention,
    which gives the same components it was mapped with; one whose components are not all
    in the vault any more (forgotten) is left out, and so is one none of whose words, in
    any case form, occurs in the batch (the cheap test comes before resolution).
    """
    open_ = vault.keys.open
    originals: dict[Mention, int] = {}
    # Streamed: ~11 us an entity, and memory only for the entities this batch may contain.
    for eid, type_, sealed in vault.rows("SELECT id, type, record FROM entities ORDER BY id"):
        if int(eid) in skip:
            continue
        record = msgpack.unpackb(open_("entities", "record", int(eid), sealed))
        mention = Mention(str(type_), str(record["original"]))
        if _mentioned(mention.text, vocabulary):
            originals.setdefault(mention, int(eid))
    if not originals:
        return {}, {}
    resolution = resolve(originals, known)
    mentions: dict[Mention, Resolved] = {}
    for mention, resolved in resolution.mentions.items():
        comps = [c for _, _, c in resolved.pieces if c is not None]
        if mention in originals and comps and all(known.has(c) for c in comps):
            mentions[mention] = resolved
    return mentions, originals
