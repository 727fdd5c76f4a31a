"""Entity resolution: batch mentions → entities made of components, and how each mention
is rewritten from its components' pseudonyms.

Pseudonyms belong to components (a given name, a family name, a whole place or
identifier), never to a mention, so every variant of a name is rewritten the same way:
"Marie Dubois", "Mme Dubois", "DUBOIS Marie" all use the family component "dubois".
Invariant: resolution is a pure function of the batch's mentions and the vault's
contents; document order and worker count cannot change it.
"""

from __future__ import annotations

import functools
import operator
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple, cast

from twophase.assignment import names
from twophase.assignment.names import gender_of
from twophase.assignment.normalize import (
    NamePart,
    PersonName,
    core_of,
    fold,
    initials_of,
    parse_person,
    transfer_case,
)
from twophase.assignment.pseudonyms import format_like
from twophase.detection.recognizers import canonical

# Component, EntityKey, Mention and Resolved are named tuples rather than frozen dataclasses: a
# million-entity batch hashes and compares them tens of millions of times, and a tuple does
# that in C (docs/performance.md). Same fields, same order, same immutability.


class Component(NamedTuple):
    """One mapped unit: `type` PERSON/LOCATION/..., `kind` given/family/whole."""

    type: str
    kind: str
    normal: str


class EntityKey(NamedTuple):
    type: str
    key: str


# A mention is rewritten from pieces: literal source text, or a component written in the
# style of the source text it replaces.
Piece = tuple[str, str, Component | None]  # (style, source text, component)


class Mention(NamedTuple):
    label: str
    text: str


class Resolved(NamedTuple):
    entity: EntityKey
    pieces: tuple[Piece, ...]


@dataclass(slots=True)
class Resolution:
    mentions: dict[Mention, Resolved] = field(default_factory=dict)
    components: set[Component] = field(default_factory=set)
    genders: dict[Component, str | None] = field(default_factory=dict)
    # The longest surface of each entity, its display form in exports.
    displays: dict[EntityKey, Mention] = field(default_factory=dict)
    # Family component of full-name entities, for linking later family-only mentions.
    links: dict[EntityKey, Component] = field(default_factory=dict)


class Known:
    """What the vault already knows, asked by component or by family link."""

    def has(self, component: Component) -> bool:
        return False

    def linked_entity(self, family: Component) -> EntityKey | None:
        """The one vault entity whose family is `family`, or None (none or several)."""
        return None


def sorted_mentions(mentions: Iterable[Mention]) -> list[Mention]:
    """`sorted(set(mentions))`: by label, then text. A batch has a handful of labels, so
    each label's mentions are sorted by text alone: strings compared, not tuples (half the
    time on a million mentions). Duplicates are dropped keeping the input's order, so a
    label's mentions given in order (a resolution's) are sorted in one pass."""
    by_label: dict[str, list[Mention]] = {}
    for mention in dict.fromkeys(mentions):
        by_label.setdefault(mention.label, []).append(mention)
    out: list[Mention] = []
    for label in sorted(by_label):
        out += sorted(by_label[label], key=_text)
    return out


_text = operator.itemgetter(1)  # Mention.text


def resolve(mentions: Iterable[Mention], known: Known | None = None) -> Resolution:
    known = known or Known()
    unique = sorted_mentions(mentions)
    result = Resolution()
    persons = [(m, parse_person(m.text)) for m in unique if m.label == "PERSON"]
    people = _People([(m, p) for m, p in persons if p is not None], known)
    for mention, name in persons:
        if name is not None:
            result.mentions[mention] = people.resolve(mention, name)
    for mention in unique:
        if mention.label == "PERSON":
            continue
        if mention.label in ("LOCATION", "ORG") and people.is_person(mention.text):
            # The model often calls a bare surname a place; the batch knows better.
            name = parse_person(mention.text)
            if name is not None:
                result.mentions[mention] = people.resolve(mention, name)
                continue
        resolved = _resolve_other(mention)
        if resolved is not None:
            result.mentions[mention] = resolved
    # One set comprehension rather than an add() per piece; None (literal pieces) dropped.
    components = {comp for resolved in result.mentions.values() for _, _, comp in resolved.pieces}
    components.discard(None)
    result.components = cast(set[Component], components)
    displays = result.displays
    for mention, (entity, _) in result.mentions.items():
        # The longest text, the least of equal lengths: (-len(text), text) compared.
        shown = displays.get(entity)
        if (
            shown is None
            or len(mention.text) > len(shown.text)
            or (len(mention.text) == len(shown.text) and mention.text < shown.text)
        ):
            displays[entity] = mention
    result.genders = people.genders()
    result.links = people.links
    return result


def _resolve_other(mention: Mention) -> Resolved | None:
    if mention.label in ("LOCATION", "ORG"):
        core = core_of(mention.text)
        if core is None:
            return None
        comp = Component(mention.label, "whole", core.normal)
        pieces: list[Piece] = []
        if core.start:
            pieces.append(("literal", mention.text[: core.start], None))
        pieces.append(("case", mention.text[core.start : core.end], comp))
        if core.end < len(mention.text):
            pieces.append(("literal", mention.text[core.end :], None))
        return Resolved(EntityKey(mention.label, core.normal), tuple(pieces))
    key = identifier_key(mention.label, mention.text)
    comp = Component(mention.label, "whole", key)
    return Resolved(EntityKey(mention.label, key), (("format", mention.text, comp),))


_PHONE_NOISE = re.compile(r"[\s.\-]")  # what recognizers.canonical strips before parsing
_FR_NATIONAL = re.compile(r"0[1-9][0-9]{8}")
_FR_E164 = re.compile(r"\+33[1-9][0-9]{8}")


def identifier_key(label: str, surface: str) -> str:
    """`recognizers.canonical`, with French numbers in their two plain layouts mapped
    directly: libphonenumber costs ~50 us a number and gives the same E.164 for these (a
    French number is 9 digits after the 0 or +33, never 0-led; tests/test_resolution.py)."""
    if label == "PHONE":
        dialled = _PHONE_NOISE.sub("", surface)
        if _FR_NATIONAL.fullmatch(dialled):
            return "+33" + dialled[1:]
        if _FR_E164.fullmatch(dialled):
            return dialled
    return canonical(label, surface)


class _People:
    """Batch-wide view of person names, used to decide what a partial name refers to."""

    def __init__(self, names: list[tuple[Mention, PersonName]], known: Known) -> None:
        self.known = known
        self.full: dict[str, set[tuple[str, ...]]] = defaultdict(set)  # family → given tuples
        self.given_names: set[str] = set()
        self.family_names: set[str] = set()
        self.links: dict[EntityKey, Component] = {}
        self._title_gender: dict[str, Counter[str]] = defaultdict(Counter)
        self.fulls: set[str] = set()
        self._by_given: dict[str, set[tuple[str, tuple[str, ...]]]] | None = None
        for mention, name in names:
            if name.solo:
                continue
            if len(name.parts) == 2 and name.gender is None:
                # One given name and a family name, in either order (most names): what
                # the general loop below records for them, without its lists.
                one, two = name.parts
                given_part, family_part = (one, two) if one.kind == "given" else (two, one)
                if (
                    given_part.kind == "given"
                    and family_part.kind == "family"
                    and not given_part.initials
                    and family_part.normal
                ):
                    self.given_names.add(given_part.normal)
                    self.family_names.add(family_part.normal)
                    self.full[family_part.normal].add((given_part.normal,))
                    self.fulls.add(fold(mention.text))
                    continue
            # name.given, its parts that are not initials, and name.family, in one pass.
            given_parts: list[str] = []
            spelled: list[str] = []
            families: list[str] = []
            for part in name.parts:
                if part.kind == "given":
                    given_parts.append(part.normal)
                    if not part.initials:
                        spelled.append(part.normal)
                elif part.kind == "family":
                    families.append(part.normal)
            all_given = tuple(given_parts)
            given = tuple(spelled)
            self.given_names.update(given)
            family = " ".join(families)
            if family:
                self.family_names.add(family)
                if given and len(given) == len(all_given):
                    self.full[family].add(given)
                    self.fulls.add(fold(mention.text))
            if name.gender and all_given:
                self._title_gender[all_given[0]][name.gender] += 1

    def is_person(self, text: str) -> bool:
        """A surface that is exactly a person's name, a family name or a given name here."""
        normal = fold(text)
        if normal in self.family_names or normal in self.given_names or normal in self.fulls:
            return True
        return self.known.has(Component("PERSON", "family", normal))

    def _role_of_solo(self, normal: str, titled: bool) -> str:
        """A bare "Dubois" or "Marie": family unless the batch or lexicon says given."""
        if titled:
            return "family"
        family = normal in self.family_names or self.known.has(
            Component("PERSON", "family", normal)
        )
        given = normal in self.given_names or self.known.has(Component("PERSON", "given", normal))
        if family:
            return "family"
        if given or is_first_name(normal):
            return "given"
        return "family"

    def resolve(self, mention: Mention, name: PersonName) -> Resolved:
        if len(name.parts) == 2 and not name.solo:
            two = self._resolve_two(mention.text, name.parts[0], name.parts[1])
            if two is not None:
                return two
        text = mention.text
        pieces: list[Piece] = []
        pos = 0
        given_full: list[str] = []
        parts = name.parts
        if name.solo:
            role = self._role_of_solo(parts[0].normal, name.gender is not None)
            parts = (NamePart(parts[0].start, parts[0].end, role, parts[0].normal),)
            family = parts[0].normal if role == "family" else ""
        elif parts[-1].kind == "family":  # a parse has one family part, most often last
            family = parts[-1].normal
        else:
            family = name.family
        for part in parts:
            if part.start > pos:
                pieces.append(("literal", text[pos : part.start], None))
            source = text[part.start : part.end]
            if part.kind == "family":
                pieces.append(("case", source, Component("PERSON", "family", part.normal)))
            elif part.initials:
                full = self._expand_initials(part.normal, family)
                comp = Component("PERSON", "given", full or part.normal)
                pieces.append(("initials", source, comp))
                given_full.append(full or part.normal)
            else:
                pieces.append(("case", source, Component("PERSON", "given", part.normal)))
                given_full.append(part.normal)
            pos = part.end
        if pos < len(text):
            pieces.append(("literal", text[pos:], None))
        return Resolved(self._entity(tuple(given_full), family), tuple(pieces))

    def _resolve_two(self, text: str, one: NamePart, two: NamePart) -> Resolved | None:
        """`resolve` of a spelled given name and a family name, in either order (most
        mentions), without the general loop; None for any other two parts."""
        if one.kind == "given" and two.kind == "family":
            given, family = one, two
        elif one.kind == "family" and two.kind == "given":
            family, given = one, two
        else:
            return None
        if given.initials or not family.normal:
            return None
        family_comp = Component("PERSON", "family", family.normal)
        given_comp = Component("PERSON", "given", given.normal)
        first, second = (given_comp, family_comp) if one is given else (family_comp, given_comp)
        pieces: list[Piece] = []
        if one.start > 0:
            pieces.append(("literal", text[: one.start], None))
        pieces.append(("case", text[one.start : one.end], first))
        if two.start > one.end:
            pieces.append(("literal", text[one.end : two.start], None))
        pieces.append(("case", text[two.start : two.end], second))
        if two.end < len(text):
            pieces.append(("literal", text[two.end :], None))
        # What _entity gives a given name and a family name.
        key = EntityKey("PERSON", f"{family.normal}|{given.normal}")
        self.links[key] = family_comp
        return Resolved(key, tuple(pieces))

    def _expand_initials(self, initials: str, family: str) -> str | None:
        """ "J.-P." with family Martin → "jean-pierre" when exactly one batch name fits."""
        fits = {
            g[0]
            for g in self.full.get(family, ())
            if g and initials_of(g[0]).casefold() == initials.casefold()
        }
        return fits.pop() if len(fits) == 1 else None

    def _entity(self, given: tuple[str, ...], family: str) -> EntityKey:
        if given and family:
            key = EntityKey("PERSON", f"{family}|{' '.join(given)}")
            self.links[key] = Component("PERSON", "family", family)
            return key
        if family:
            candidates = self.full.get(family, set())
            if len(candidates) == 1:
                (only,) = candidates
                return EntityKey("PERSON", f"{family}|{' '.join(only)}")
            if not candidates:
                linked = self.known.linked_entity(Component("PERSON", "family", family))
                if linked is not None:
                    return linked
            return EntityKey("PERSON", f"{family}|")
        owners = self._owners().get(given[0], set())
        if len(owners) == 1:
            ((f, g),) = owners
            return EntityKey("PERSON", f"{f}|{' '.join(g)}")
        return EntityKey("PERSON", f"|{' '.join(given)}")

    def _owners(self) -> dict[str, set[tuple[str, tuple[str, ...]]]]:
        """Full names by each given name they contain: a lone "Pierre" looks up its owners
        instead of scanning every full name of the batch (a million at scale)."""
        if self._by_given is None:
            self._by_given = defaultdict(set)
            for f, gs in self.full.items():
                for g in gs:
                    for name in g:
                        self._by_given[name].add((f, g))
        return self._by_given

    def genders(self) -> dict[Component, str | None]:
        out: dict[Component, str | None] = {}
        for given in self.given_names | set(self._title_gender):
            gender: str | None = gender_of(given)
            if gender is None and self._title_gender.get(given):
                gender = self._title_gender[given].most_common(1)[0][0]
            out[Component("PERSON", "given", given)] = gender
        return out


@functools.cache
def _first_names() -> frozenset[str]:
    return frozenset(names.fold(n) for n in names.any_given())


def is_first_name(normal: str) -> bool:
    """Known to the first-name lexicon, whatever its gender (Camille counts)."""
    return names.fold(normal) in _first_names()


def render_pieces(
    pieces: Iterable[Piece],
    pseudonym: Callable[[Component], str],
    rendered: dict[Piece, str] | None = None,
) -> str:
    """A mention rewritten: literal text kept, each component in its source's style.
    `rendered` keeps pieces rendered already: a batch repeats its names' pieces ("Dubois"
    in "Dubois", "Marie Dubois", "Dubois, Marie"), millions of times at scale."""
    if rendered is None:
        return "".join([render_piece(piece, pseudonym) for piece in pieces])
    parts = []
    for piece in pieces:
        part = rendered.get(piece)
        if part is None:
            part = rendered[piece] = render_piece(piece, pseudonym)
        parts.append(part)
    return "".join(parts)


def render_piece(piece: Piece, pseudonym: Callable[[Component], str]) -> str:
    """One piece of a mention rewritten; a mention's rendering is its pieces' joined."""
    style, source, comp = piece
    if comp is None:
        return source
    if style == "initials":
        return initials_of(pseudonym(comp))
    if style == "format":
        return format_like(comp.type, source, pseudonym(comp))
    return transfer_case(source, pseudonym(comp))


__all__ = [
    "Component",
    "EntityKey",
    "Known",
    "Mention",
    "Resolution",
    "Resolved",
    "fold",
    "identifier_key",
    "render_piece",
    "render_pieces",
    "resolve",
    "sorted_mentions",
]
