"""The vault side of assign: what is already mapped, and new pseudonyms chosen injectively.

Invariant (checked on every candidate, in one deterministic order): a new pseudonym is
used by no other component of its type, was never retired by `forget`, and is not the
real name or component of any entity of the vault or the batch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgpack

from twophase.assignment.names import Gender
from twophase.assignment.normalize import fold, strip_accents
from twophase.assignment.pseudonyms import Generator
from twophase.assignment.resolve import Component, EntityKey, Known, identifier_key
from twophase.vault import Vault

_PARTS = re.compile(r"[\s'’-]+")
# Pseudonyms that read as names, and so must not show a real person's name as a part.
_NAMED = frozenset(("PERSON", "ORG", "LOCATION", "EMAIL"))
# The words of an e-mail address: "marie-laure.dubois2@verlane.fr" -> marie, laure, dubois…
_EMAIL_PARTS = re.compile(r"[^a-z]+")
# Refusals within a pool tier before the chooser lists which of its members are free (a
# keyed hash per member, 10,000 for the mobile fiction block): small batches never pay it.
POOL_WATCH_AFTER = 256
# When real names cover the generators' pools, nearly every compound candidate has a real
# part; past this many candidates the parts rule yields rather than exhaust the generator
# (the whole candidate is still never a real name). Measured: the 1M bench needs it.
STRICT_PARTS_ATTEMPTS = 16
# Past this many refused candidates the generators' space is exhausted: a bug, not bad luck.
MAX_ATTEMPTS = 10_000


def comparable(type_: str, text: str) -> str:
    """The form under which a real name and a pseudonym count as the same string."""
    if type_ == "PERSON":
        return fold(text)
    if type_ in ("LOCATION", "ORG"):
        return strip_accents(fold(text))
    # A phone candidate ("+33" and 9 digits, not 0-led) is its own E.164 form: no regex.
    if type_ == "PHONE" and len(text) == 12 and text[:3] == "+33" and text[3] != "0":
        digits = text[3:]
        if digits.isascii() and digits.isdigit():
            return text
    try:
        return identifier_key(type_, text)
    except Exception:  # a surrogate the recognizer would not parse is still a string
        return fold(text)


class VaultIndex(Known):
    """Blind-index view of the vault's components and entities, loaded once per run."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        keys = vault.keys
        self._blind = keys.blind
        self.components: dict[tuple[str, str, bytes], tuple[int, bytes]] = {}
        self.taken: set[tuple[str, bytes]] = set()  # pseudonyms and real names, by type
        self.pseudonyms: set[tuple[str, bytes]] = set()  # the vault's pseudonyms, by type
        self.person_reals: set[bytes] = set()  # real given and family names
        for cid, type_, kind, real_blind, pseudo_blind, pseudo in vault.rows(
            "SELECT id, type, kind, real_blind, pseudo_blind, pseudo FROM components"
        ):
            self.components[(type_, kind, bytes(real_blind))] = (int(cid), bytes(pseudo))
            self.taken.add((type_, bytes(real_blind)))
            self.taken.add((type_, bytes(pseudo_blind)))
            self.pseudonyms.add((type_, bytes(pseudo_blind)))
            if type_ == "PERSON":
                self.person_reals.add(bytes(real_blind))
        for type_, pseudo_blind in vault.rows("SELECT type, pseudo_blind FROM retired"):
            self.taken.add((type_, bytes(pseudo_blind)))
        self.entities: dict[tuple[str, bytes], int] = {
            (type_, bytes(blind)): int(eid)
            for eid, type_, blind in vault.rows("SELECT id, type, blind FROM entities")
        }

    def blind(self, type_: str, normal: str) -> bytes:
        return self._blind(type_, normal)

    def entity_blind(self, key: EntityKey) -> bytes:
        return self._blind(f"{key.type}/entity", key.key)

    def given_as_pseudonyms(self, blinds: Mapping[Component, bytes]) -> int:
        """How many of these real components an earlier run chose as someone else's
        pseudonym, when they were not real names of the vault yet. Consistency keeps those
        pseudonyms, so the outputs may show such a name for another person."""
        if not self.pseudonyms:
            return 0
        return sum((comp.type, blind) in self.pseudonyms for comp, blind in blinds.items())

    def has(self, component: Component) -> bool:
        # A first run asks this of every name in the batch: no keyed hash for an empty vault.
        return bool(self.components) and self._key(component) in self.components

    def _key(self, component: Component) -> tuple[str, str, bytes]:
        return (component.type, component.kind, self.blind(component.type, component.normal))

    def pseudonym_of(self, component: Component) -> str:
        cid, sealed = self.components[self._key(component)]
        return self.vault.keys.open("components", "pseudo", cid, sealed).decode()

    def linked_entity(self, family: Component) -> EntityKey | None:
        if not self.entities:  # no query per bare surname into an empty vault
            return None
        rows = list(
            self.vault.rows(
                "SELECT id, record FROM entities WHERE type = 'PERSON' AND link = ? LIMIT 2",
                self.blind("PERSON", family.normal),
            )
        )
        if len(rows) != 1:
            return None
        eid, sealed = rows[0]
        record = msgpack.unpackb(self.vault.keys.open("entities", "record", int(eid), sealed))
        return EntityKey("PERSON", str(record["key"]))


class _PoolState:
    """A generator pool of one type: its free members' blind indexes, once worth listing."""

    __slots__ = ("attempts", "free", "members", "refused")

    def __init__(self, attempts: int, members: tuple[str, ...]) -> None:
        self.attempts = attempts
        self.members = members
        self.refused = 0
        self.free: set[bytes] | None = None  # None: not listed yet


class Chooser:
    """Picks each new component's pseudonym: first candidate that keeps the map injective."""

    def __init__(
        self,
        index: VaultIndex,
        generator: Generator,
        batch_reals: set[Component],
        blinds: Mapping[Component, bytes] | None = None,
    ):
        """`blinds`: the batch components' blind indexes, when the caller has them already."""
        self.index = index
        self.generator = generator
        self.taken = set(index.taken)
        for comp in batch_reals:
            blind = blinds.get(comp) if blinds is not None else None
            if blind is None:
                blind = index.blind(comp.type, comp.normal)
            self.taken.add((comp.type, blind))
            if comp.type == "PERSON":
                index.person_reals.add(blind)
        self.seq: dict[tuple[str, str], int] = {}
        for type_, kind, _ in index.components:
            self.seq[(type_, kind)] = self.seq.get((type_, kind), 0) + 1
        self._pools: dict[tuple[str, str], _PoolState] = {}
        self._real_part: dict[str, bool] = {}  # person_reals no longer changes

    def choose(self, comp: Component, gender: str | None) -> tuple[str, bytes]:
        seq = self.seq.get((comp.type, comp.kind), 0) + 1
        self.seq[(comp.type, comp.kind)] = seq
        g: Gender | None = "f" if gender == "f" else "m" if gender == "m" else None
        pool = self._pool(comp, g)
        # A pool whose every member is taken would refuse each of its attempts: skip them.
        start = pool.attempts if pool is not None and pool.free is not None and not pool.free else 0
        for attempt in range(start, MAX_ATTEMPTS):
            if comp.kind == "given":
                candidate = self.generator.given(comp.normal, attempt, g, seq)
            elif comp.kind == "family":
                candidate = self.generator.family(comp.normal, attempt, seq)
            else:
                candidate = self.generator.whole(comp.type, comp.normal, attempt, seq)
            blind = self.index.blind(comp.type, comparable(comp.type, candidate))
            if (comp.type, blind) in self.taken:
                if pool is not None and attempt < pool.attempts and pool.free is None:
                    pool.refused += 1
                    if pool.refused >= POOL_WATCH_AFTER:
                        self._list_free(comp.type, pool)
                continue
            if attempt < STRICT_PARTS_ATTEMPTS and self._shows_a_real_name(comp.type, candidate):
                continue
            self._take(comp.type, blind)
            return candidate, blind
        raise RuntimeError(f"no free {comp.type} pseudonym after {MAX_ATTEMPTS} candidates")

    def _pool(self, comp: Component, gender: Gender | None) -> _PoolState | None:
        pool = self.generator.pool(comp.type, comp.kind, comp.normal, gender)
        if pool is None:
            return None
        attempts, name, members = pool
        if attempts > STRICT_PARTS_ATTEMPTS:  # _list_free counts on the parts rule holding
            return None
        state = self._pools.get((comp.type, name))
        if state is None:
            state = self._pools[(comp.type, name)] = _PoolState(attempts, members)
        return state

    def _list_free(self, type_: str, pool: _PoolState) -> None:
        """The members a pool attempt could still return. Pool attempts come before
        STRICT_PARTS_ATTEMPTS, so a member showing a real name is as refused as a taken
        one ("Saint-Martin" once Martin is a real first name), and stays so: the real
        names do not change while choosing."""
        blind = self.index.blind
        pool.free = {
            b
            for m in pool.members
            if (type_, b := blind(type_, comparable(type_, m))) not in self.taken
            and not self._shows_a_real_name(type_, m)
        }

    def _take(self, type_: str, blind: bytes) -> None:
        self.taken.add((type_, blind))
        for (pool_type, _), pool in self._pools.items():
            if pool.free and pool_type == type_:
                pool.free.discard(blind)

    def _shows_a_real_name(self, type_: str, candidate: str) -> bool:
        """A pseudonym must not carry a real person's name as one of its parts: a compound
        first name ("Marie-France" next to a real Marie), an organisation ("Cabinet
        Dubois"), a place ("Saint-Martin-sur-Vire") or an e-mail address
        ("marie.dubois@…"). The reader would see that name, and the leak check cannot tell
        it from a leak."""
        if type_ not in _NAMED:
            return False
        if type_ == "EMAIL":  # one-letter words are initials ("m.dubois"), not names
            words = _EMAIL_PARTS.split(fold(candidate))
            return any(len(w) > 1 and self._is_real_part(w) for w in words)
        person = type_ == "PERSON"
        if person and candidate.isalpha() and "ʼ" not in candidate:
            return False  # one word, which fold leaves one word: no part to show
        folded = fold(candidate)
        # Single words and hyphen-joined segments, so "Le Gall" in "Londoutel-Le Gall" counts.
        parts = set(_PARTS.split(folded)) | set(folded.split("-"))
        if person:
            parts.discard(folded)  # the whole name: the taken set already rules it out
        return any(part and self._is_real_part(part) for part in parts)

    def _is_real_part(self, part: str) -> bool:
        real = self._real_part.get(part)
        if real is None:
            real = self._real_part[part] = (
                self.index.blind("PERSON", part) in self.index.person_reals
            )
        return real
