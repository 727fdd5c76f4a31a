"""`export`: the vault's whole mapping, in clear, for the key holder.

Invariant: the mapping never leaves the vault without an audit record of it (a count,
no name), committed before the first entity is handed out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from twophase.keyholder.audit_log import log_run
from twophase.keyholder.records import entity_record
from twophase.vault import Vault


def export(vault_path: Path, passphrase: str) -> Iterator[dict[str, Any]]:
    """Every entity of the vault, in id order: type, original, pseudonym, component pairs.

    Streamed, one entity decrypted at a time: a list of the whole mapping held 1.4 GB at
    a million entities (docs/performance.md). The whole mapping may leave the vault here,
    so the audit record (a count, no name) is committed first; an export cut short, by
    the reader or by a damaged row, stays recorded as asked for. Nothing is opened, and
    no passphrase checked, before the first entity is asked for.
    """
    started = time.time()
    with Vault.open(vault_path, passphrase) as vault:
        ((count,),) = vault.rows("SELECT count(*) FROM entities")
        with vault.transaction() as db:
            log_run(db, "export", started, entities=int(count))
        for eid, type_, sealed in vault.rows("SELECT id, type, record FROM entities ORDER BY id"):
            record = entity_record(vault, int(eid), sealed)
            yield {
                "type": type_,
                "original": record["original"],
                "pseudonym": record["pseudonym"],
                "components": record["components"],
            }
