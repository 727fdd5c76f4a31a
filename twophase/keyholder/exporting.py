"""`export`: the vault's whole mapping, in clear, for the key holder.

Invariant: the mapping never leaves the vault without an audit record of it (a count,
no name).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from twophase.keyholder.audit_log import log_run
from twophase.keyholder.records import entity_record
from twophase.vault import Vault


def export(vault_path: Path, passphrase: str) -> list[dict[str, Any]]:
    """Every entity of the vault: type, original, pseudonym, component pairs.

    The whole mapping leaves the vault here, so the export itself is written to the audit
    log (a count, no name).
    """
    started = time.time()
    with Vault.open(vault_path, passphrase) as vault:
        rows = list(vault.rows("SELECT id, type, record FROM entities ORDER BY id"))
        out: list[dict[str, Any]] = []
        for eid, type_, sealed in rows:
            record = entity_record(vault, int(eid), sealed)
            out.append(
                {
                    "type": type_,
                    "original": record["original"],
                    "pseudonym": record["pseudonym"],
                    "components": record["components"],
                }
            )
        with vault.transaction() as db:
            log_run(db, "export", started, entities=len(out))
    return out
