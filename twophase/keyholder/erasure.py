"""`forget`: erase a data subject's entities from the vault (GDPR Art. 17).

Invariant: one transaction takes out the entities, the name components no remaining
entity uses (their pseudonyms retired, never given again) and the erased originals in
every receipt; a component another entity still uses is kept.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twophase.errors import UsageError
from twophase.keyholder.audit_log import log_run
from twophase.keyholder.records import DocRecord, doc_record, entity_record
from twophase.vault import Vault

OTHER_TYPES = ("LOCATION", "ORG")


@dataclass(frozen=True, slots=True)
class ForgetResult:
    requested: int
    entities: int  # entities erased
    not_found: list[int]  # 1-based positions of the names the vault does not know
    components_erased: int  # and their pseudonyms retired, never to be given again
    components_kept: int  # still used by an entity that stays
    documents_updated: int  # receipts from which the erased originals were taken out


def forget(
    vault_path: Path, passphrase: str, names: Sequence[str], *, type_: str = "PERSON"
) -> ForgetResult:
    """Erase the entities named by `names` (GDPR Art. 17), in one transaction.

    A name is resolved with assign's own normal forms: for a person, the entity of that
    full name ("Marie Dubois", "DUBOIS Marie" and "Mme Marie Dubois" are one); a single
    word names the family-only or given-only entity of that word. Deleted with the entity:
    its name components no remaining entity uses (their pseudonyms are retired, so never
    given again), and the originals of its occurrences in every document receipt.
    """
    type_ = _entity_type(type_)
    if not names:
        raise UsageError("name at least one entity to forget")
    started = time.time()
    with Vault.open(vault_path, passphrase) as vault:
        keys = vault.keys
        with vault.transaction() as db:
            gone: dict[int, str] = {}  # entity id → its entity key
            not_found: list[int] = []
            for position, name in enumerate(names, 1):
                found = False
                for key in _entity_keys(type_, name):
                    blind = keys.blind(f"{type_}/entity", key)
                    for eid, sealed in db.execute(
                        "SELECT id, record FROM entities WHERE type = ? AND blind = ?",
                        (type_, blind),
                    ):
                        record = entity_record(vault, int(eid), sealed)
                        gone[int(eid)] = str(record["key"])
                        found = True
                if not found:
                    not_found.append(position)
            # Components still in use: decrypt every entity that stays.
            kept: set[tuple[str, str, str]] = set()
            for eid, etype, sealed in list(db.execute("SELECT id, type, record FROM entities")):
                if int(eid) not in gone:
                    record = entity_record(vault, int(eid), sealed)
                    kept |= _components_of(str(etype), str(record["key"]))
            candidates: set[tuple[str, str, str]] = set()
            for key in gone.values():
                candidates |= _components_of(type_, key)
            erased = 0
            for ctype, kind, normal in sorted(candidates - kept):
                real_blind = keys.blind(ctype, normal)
                for cid, pseudo_blind in list(
                    db.execute(
                        "SELECT id, pseudo_blind FROM components "
                        "WHERE type = ? AND kind = ? AND real_blind = ?",
                        (ctype, kind, real_blind),
                    )
                ):
                    db.execute(
                        "INSERT OR IGNORE INTO retired(type, pseudo_blind) VALUES (?, ?)",
                        (ctype, pseudo_blind),
                    )
                    db.execute("DELETE FROM components WHERE id = ?", (cid,))
                    erased += 1
            updated = _strip_receipts(vault, db, set(gone))
            db.executemany("DELETE FROM entities WHERE id = ?", [(i,) for i in gone])
            log_run(
                db,
                "forget",
                started,
                names=len(names),
                entities_forgotten=len(gone),
                not_found=len(not_found),
                components_erased=erased,
                components_kept=len(candidates & kept),
                documents_updated=updated,
            )
    return ForgetResult(
        requested=len(names),
        entities=len(gone),
        not_found=not_found,
        components_erased=erased,
        components_kept=len(candidates & kept),
        documents_updated=updated,
    )


def _entity_type(type_: str) -> str:
    from twophase.detection.recognizers import RECOGNIZERS

    upper = type_.upper()
    if upper not in ("PERSON", *OTHER_TYPES, *RECOGNIZERS):
        known = ", ".join(("PERSON", *OTHER_TYPES, *RECOGNIZERS))
        raise UsageError(f"unknown entity type {type_!r}; one of {known}")
    return upper


def _entity_keys(type_: str, name: str) -> list[str]:
    """The entity keys `resolve` would give this surface (docs/resolution.md)."""
    from twophase.assignment.normalize import core_of, parse_person

    if type_ == "PERSON":
        person = parse_person(name)
        if person is None:
            return []
        if person.solo:
            # Alone, a word is a family or a given name depending on the batch it came in.
            word = person.parts[0].normal
            return [f"{word}|", f"|{word}"]
        return [f"{person.family}|{' '.join(person.given)}"]
    if type_ in OTHER_TYPES:
        core = core_of(name)
        return [core.normal] if core else []
    from twophase.detection.recognizers import canonical

    return [canonical(type_, name)]


def _components_of(type_: str, key: str) -> set[tuple[str, str, str]]:
    """(type, kind, normal) of the name components an entity is rendered from.

    A person's key is `family|given given…` (given names never hold a space, family names
    may); any other entity is one whole component whose normal form is its key.
    """
    if type_ != "PERSON":
        return {(type_, "whole", key)}
    family, _, given = key.partition("|")
    parts = {("PERSON", "given", g) for g in given.split(" ") if g}
    if family:
        parts.add(("PERSON", "family", family))
    return parts


def _strip_receipts(vault: Vault, db: Any, gone: set[int]) -> int:
    """Take the erased entities' originals out of every receipt; returns receipts changed."""
    if not gone:
        return 0
    updated = 0
    for row, sealed in list(db.execute("SELECT id, record FROM documents")):
        record = doc_record(vault, int(row), sealed)
        keep = tuple(r for r in record.replacements if r[2] not in gone)
        if len(keep) == len(record.replacements):
            continue
        stripped = DocRecord(
            record.document,
            record.output_sha256,
            "",  # a hash of a text holding the erased name is data about it too
            record.encoding,
            record.bom,
            keep,
            record.forgotten + len(record.replacements) - len(keep),
        )
        db.execute(
            "UPDATE documents SET record = ? WHERE id = ?",
            (vault.keys.seal("documents", "record", int(row), stripped.pack()), row),
        )
        updated += 1
    return updated
