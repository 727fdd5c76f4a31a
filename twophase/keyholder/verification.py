"""`verify`: the whole vault checked, header, key, every sealed cell and every index.

Invariant: reads only; a wrong key or a foreign file raises, damaged rows are listed
without their content.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from twophase.errors import TwophaseError, WrongPassphrase, reason_of
from twophase.keyholder.records import doc_record, entity_record, variant_index
from twophase.vault import KdfParams, Vault

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class VerifyResult:
    schema_version: int
    kdf: KdfParams
    components: int
    entities: int
    documents: int
    retired: int
    runs: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(vault_path: Path, passphrase: str) -> VerifyResult:
    """Check the whole vault, reading only: header, key, every sealed cell, every index.

    Opening checks the header (format, schema version, Argon2id parameters at least
    OWASP's minimum) and the key (the data key must unwrap). Then every sealed column of
    every row must decrypt under its own table, column and row, every blind index must be
    the keyed hash of what its row decrypts to, and the unique indexes must hold. A wrong
    key or a foreign file raises; damaged rows are listed in `problems` (no content).
    """
    from twophase.assignment.mapping import comparable

    try:
        vault = Vault.open(vault_path, passphrase)
    except WrongPassphrase as exc:
        raise WrongPassphrase(
            "wrong passphrase for this vault (or its header's salt, KDF parameters, theme "
            "or wrapped key were altered)"
        ) from exc
    with vault:
        keys = vault.keys
        problems: list[str] = []

        def check(label: str, fn: Callable[[], T]) -> T | None:
            try:
                return fn()
            except TwophaseError as exc:
                problems.append(str(exc) if str(exc).startswith("vault row") else f"{label}: {exc}")
            except Exception as exc:
                problems.append(f"{label}: {reason_of(exc)}")
            return None

        integrity = [str(r[0]) for r in vault.rows("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            problems.append(f"SQLite integrity check failed ({len(integrity)} findings)")
        problems += _duplicates(vault)

        components = list(
            vault.rows(
                "SELECT id, type, kind, real_blind, pseudo_blind, real, pseudo FROM components"
            )
        )
        pseudo_blinds: set[tuple[str, bytes]] = set()
        for cid, ctype, kind, real_blind, pseudo_blind, real, pseudo in components:
            label = f"vault row components#{cid}"
            pseudo_blinds.add((ctype, bytes(pseudo_blind)))
            if kind not in ("given", "family", "whole"):
                problems.append(f"{label}: unknown kind")
            plain = check(label, partial(keys.open, "components", "real", int(cid), real))
            if plain is not None and keys.blind(ctype, plain.decode()) != bytes(real_blind):
                problems.append(f"{label}: real_blind is not the index of its name")
            fake = check(label, partial(keys.open, "components", "pseudo", int(cid), pseudo))
            if fake is not None:
                want = keys.blind(ctype, comparable(ctype, fake.decode()))
                if want != bytes(pseudo_blind):
                    problems.append(f"{label}: pseudo_blind is not the index of its pseudonym")

        entity_ids: set[int] = set()
        entities = list(vault.rows("SELECT id, type, blind, link, record FROM entities"))
        for eid, etype, blind, link, sealed in entities:
            label = f"vault row entities#{eid}"
            entity_ids.add(int(eid))
            record = check(label, partial(entity_record, vault, int(eid), sealed))
            if record is None:
                continue
            key = str(record["key"])
            if keys.blind(f"{etype}/entity", key) != bytes(blind):
                problems.append(f"{label}: blind is not the index of its entity")
            if link is not None and bytes(link) != keys.blind("PERSON", key.partition("|")[0]):
                problems.append(f"{label}: link is not the index of its family name")

        documents = list(vault.rows("SELECT id, blind, variant, record FROM documents"))
        for row, blind, variant, sealed in documents:
            label = f"vault row documents#{row}"
            doc = check(label, partial(doc_record, vault, int(row), sealed))
            if doc is None:
                continue
            if keys.blind("document", doc.output_sha256) != bytes(blind):
                problems.append(f"{label}: blind is not the index of its output hash")
            if doc.source_sha256 and variant_index(
                vault, doc.output_sha256, doc.source_sha256
            ) != bytes(variant):
                problems.append(f"{label}: variant is not the index of its hashes")
            if any(r[2] not in entity_ids for r in doc.replacements):
                problems.append(f"{label}: refers to an entity the vault does not hold")

        retired = list(vault.rows("SELECT type, pseudo_blind FROM retired"))
        if any((t, bytes(b)) in pseudo_blinds for t, b in retired):
            problems.append("a retired pseudonym is in use again")

        runs = list(vault.rows("SELECT id, record FROM runs"))
        for run_id, text in runs:
            try:
                if not isinstance(json.loads(text), dict):
                    raise ValueError
            except (TypeError, ValueError):
                problems.append(f"audit record #{run_id} is not a JSON object")

        return VerifyResult(
            schema_version=int(vault.meta["schema_version"].decode()),
            kdf=KdfParams.from_json(vault.meta["kdf"].decode()),
            components=len(components),
            entities=len(entities),
            documents=len(documents),
            retired=len(retired),
            runs=len(runs),
            problems=problems,
        )


_UNIQUE = (
    ("components", "type, kind, real_blind"),
    ("components", "type, pseudo_blind"),
    ("entities", "type, blind"),
    ("documents", "variant"),
)


def _duplicates(vault: Vault) -> list[str]:
    """Unique indexes, checked on the rows: a file edited outside SQLite may lack them."""
    problems = []
    for table, columns in _UNIQUE:
        sql = f"SELECT count(*) FROM (SELECT 1 FROM {table} GROUP BY {columns} HAVING count(*) > 1)"
        (dupes,) = next(vault.rows(sql))
        if dupes:
            problems.append(f"{table}: {dupes} duplicated ({columns})")
    return problems
