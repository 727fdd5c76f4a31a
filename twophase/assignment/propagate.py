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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

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
)
from twophase.sidecar import Variant
from twophase.vault import Vault
from twophase.words import marked_tokens

# Candidate ranks: a surface seen as a mention beats one derived from components, which
# beats one known only from the vault, when several entities claim the same surface.
MENTION, DERIVED, VAULT = 0, 1, 2
_NAME_TYPES = ("PERSON", "LOCATION", "ORG")
_Case = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Form:
    """One way an entity is written: its pieces, whence it comes, and how often it is seen."""

    entity: int
    label: str
    pieces: tuple[Piece, ...]
    rank: int
    weight: int  # mentions of the entity in the batch: the more frequent entity wins a tie


def _title(text: str) -> str:
    """ "DE LA FONTAINE" → "De La Fontaine", "NGUYEN-LAMBERT" → "Nguyen-Lambert"."""
    out = []
    start = True
    for c in text:
        out.append(c.upper() if start else c.lower())
        start = not c.isalpha()
    return "".join(out)


def _cases(source: str) -> list[_Case]:
    """The case forms a name written `source` is also found in."""
    cases: list[_Case] = [lambda s: s, str.upper, lambda s: strip_accents(s.upper())]
    letters = [c for c in source if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        cases.append(_title)  # seen in capitals only: "DUBOIS" is "Dubois" elsewhere
    return cases


def _surface(pieces: Iterable[Piece]) -> str:
    return "".join(source for _, source, _ in pieces)


def _person_forms(resolved: Resolved) -> Iterator[tuple[Piece, ...]]:
    """Derived writings of a person mention's name, as pieces over its components."""
    named = [(s, src, c) for s, src, c in resolved.pieces if c is not None and s == "case"]
    given = [p for p in named if p[2] is not None and p[2].kind == "given"]
    family = [p for p in named if p[2] is not None and p[2].kind == "family"]
    if not given and not family:
        return
    for case in _cases(_surface(given + family).replace(" ", "")):
        g = _joined([(s, case(src), c) for s, src, c in given])
        f = _joined([(s, case(src), c) for s, src, c in family])
        if g and (not family or not _surface(g).isupper()):
            # A first name alone, never in capitals: "PIERRE" in a text in capitals is more
            # often the stone ("PIERRE DE TAILLE") than a man already named in full.
            yield g
        if f:
            yield f
        if g and f:
            yield (*g, ("literal", " ", None), *f)
            yield (*f, ("literal", " ", None), *g)
            yield (*f, ("literal", ", ", None), *g)
    # Mixed: the family name in capitals next to the given name as written, both orders.
    if given and family:
        g = _joined(given)
        for case in (str.upper, lambda s: strip_accents(s.upper())):
            f = _joined([(s, case(src), c) for s, src, c in family])
            yield (*f, ("literal", " ", None), *g)
            yield (*g, ("literal", " ", None), *f)


def _joined(pieces: Sequence[Piece]) -> tuple[Piece, ...]:
    out: list[Piece] = []
    for piece in pieces:
        if out:
            out.append(("literal", " ", None))
        out.append(piece)
    return tuple(out)


def _place_forms(resolved: Resolved) -> Iterator[tuple[Piece, ...]]:
    for style, source, comp in resolved.pieces:
        if comp is not None and style == "case":
            for case in _cases(source):
                yield (("case", case(source), comp),)


def forms_of(
    mentions: Mapping[Mention, Resolved],
    entity_of: Mapping[Mention, int],
    weights: Mapping[int, int],
    rank: int = MENTION,
) -> Iterator[tuple[str, Form]]:
    """(surface, form) for each mention and each writing derived from its components."""
    for mention in sorted(mentions, key=lambda m: (m.label, m.text)):
        resolved = mentions[mention]
        entity = entity_of.get(mention)
        if entity is None:
            continue
        label, weight = resolved.entity.type, weights.get(entity, 0)
        yield mention.text, Form(entity, label, resolved.pieces, rank, weight)
        derived = _person_forms(resolved) if label == "PERSON" else ()
        if label in ("LOCATION", "ORG"):
            derived = _place_forms(resolved)
        for pieces in derived:
            yield _surface(pieces), Form(entity, label, pieces, max(rank, DERIVED), weight)


def _keep(surface: str, label: str, vocabulary: frozenset[str], allow: frozenset[str]) -> bool:
    tokens = marked_tokens(surface)
    if not tokens or not tokens <= vocabulary:
        return False  # lower case only ("rose", an e-mail), or absent from the batch
    if loose_fold(surface) in allow:
        return False
    # Initials alone ("J."), one letter ("Q"): too short to be found safely.
    return not (label in _NAME_TYPES and sum(c.isalpha() for c in surface) < 2)


def variants(
    forms: Iterable[tuple[str, Form]],
    pseudonym: Callable[[Component], str],
    vocabulary: frozenset[str],
    allow: frozenset[str] = frozenset(),
) -> tuple[Variant, ...]:
    """One variant per surface: the best-ranked form, rendered; sorted by surface."""
    best: dict[str, tuple[tuple[int, int, str, int], Form]] = {}
    for surface, form in forms:
        if not _keep(surface, form.label, vocabulary, allow):
            continue
        key = (form.rank, -form.weight, form.label, form.entity)
        held = best.get(surface)
        if held is None or key < held[0]:
            best[surface] = (key, form)
    out = []
    for surface in sorted(best):
        form = best[surface][1]
        text = render_pieces(form.pieces, pseudonym)
        if text != surface:
            out.append(Variant(surface, text, form.entity, form.label))
    return tuple(out)


def _mentioned(text: str, vocabulary: frozenset[str]) -> bool:
    for token in re.findall(r"[^\W_]+", text):
        for case in (token, token.upper(), strip_accents(token.upper()), _title(token)):
            if case in vocabulary:
                return True
    return False


def vault_forms(
    vault: Vault, known: Known, skip: set[int], vocabulary: frozenset[str]
) -> list[tuple[str, Form]]:
    """Writings of the vault's entities that this batch did not mention (decrypts them all).

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
        return []
    resolution = resolve(originals, known)
    mentions: dict[Mention, Resolved] = {}
    for mention, resolved in resolution.mentions.items():
        comps = [c for _, _, c in resolved.pieces if c is not None]
        if mention in originals and comps and all(known.has(c) for c in comps):
            mentions[mention] = resolved
    return list(forms_of(mentions, originals, {}, rank=VAULT))
