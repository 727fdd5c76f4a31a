"""The key-holder's jobs on an existing vault: export (and, later, reverse, forget, audit,
rekey, verify).

Invariant: these commands never create a vault; they open it with its passphrase and
read or change it inside one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack

from twophase.vault import Vault


def export(vault_path: Path, passphrase: str) -> Iterator[dict[str, Any]]:
    """Every entity of the vault: type, original, pseudonym, component pairs."""
    with Vault.open(vault_path, passphrase) as vault:
        rows = list(vault.rows("SELECT id, type, record FROM entities ORDER BY id"))
        for eid, type_, sealed in rows:
            record = msgpack.unpackb(vault.keys.open("entities", "record", int(eid), sealed))
            yield {
                "type": type_,
                "original": record["original"],
                "pseudonym": record["pseudonym"],
                "components": record["components"],
            }
