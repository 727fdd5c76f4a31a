"""The sealed records key-holder commands read back: document receipts and entity records.

Invariant: a record is opened only under its own table, column and row, and one that does
not unpack to the fields of its schema raises VaultCorrupt, never a half-read value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

from twophase.errors import VaultCorrupt
from twophase.rendering import Receipt
from twophase.vault import Vault

RECORD_SCHEMA = 1  # of the sealed `documents.record`


def variant_index(vault: Vault, output_sha256: str, source_sha256: str) -> bytes:
    """The blind index of one (output, original) pair: a row of `documents` is found by it."""
    return vault.keys.blind("document/variant", f"{output_sha256}|{source_sha256}")


@dataclass(frozen=True, slots=True)
class DocRecord:
    """A sealed `documents.record` (docs/architecture.md): one output, how to undo it."""

    document: str
    output_sha256: str
    source_sha256: str  # "" once `forget` took some replacements out
    encoding: str
    bom: bytes
    replacements: tuple[tuple[int, int, int, str], ...]  # output start, end, entity, original
    forgotten: int

    @classmethod
    def of(cls, receipt: Receipt) -> DocRecord:
        reps = tuple(
            (start, end, entity, original)
            for (start, end, entity), original in zip(
                receipt.replacements, receipt.originals, strict=True
            )
        )
        return cls(
            receipt.document,
            receipt.output_sha256,
            receipt.source_sha256,
            receipt.encoding,
            receipt.bom,
            reps,
            forgotten=0,
        )

    def pack(self) -> bytes:
        data: bytes = msgpack.packb(
            {
                "schema": RECORD_SCHEMA,
                "document": self.document,
                "output_sha256": self.output_sha256,
                "source_sha256": self.source_sha256,
                "encoding": self.encoding,
                "bom": self.bom,
                "replacements": [list(r) for r in self.replacements],
                "forgotten": self.forgotten,
            },
            use_bin_type=True,
        )
        return data


def doc_record(vault: Vault, row: int, sealed: bytes) -> DocRecord:
    plain = vault.keys.open("documents", "record", row, sealed)
    try:
        obj = msgpack.unpackb(plain, raw=False)
        if obj["schema"] != RECORD_SCHEMA:
            raise ValueError("schema")
        return DocRecord(
            str(obj["document"]),
            str(obj["output_sha256"]),
            str(obj["source_sha256"]),
            str(obj["encoding"]),
            bytes(obj["bom"]),
            tuple((int(a), int(b), int(e), str(o)) for a, b, e, o in obj["replacements"]),
            int(obj["forgotten"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise VaultCorrupt(f"vault row documents#{row} (record) is malformed") from exc


def entity_record(vault: Vault, row: int, sealed: bytes) -> dict[str, Any]:
    plain = vault.keys.open("entities", "record", row, sealed)
    try:
        record = msgpack.unpackb(plain, raw=False)
        if not isinstance(record, dict) or not {"key", "original", "pseudonym"} <= record.keys():
            raise ValueError("fields")
        return record
    except (TypeError, ValueError) as exc:
        raise VaultCorrupt(f"vault row entities#{row} (record) is malformed") from exc
