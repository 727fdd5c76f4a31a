"""`rekey`: the vault's data key wrapped under a new passphrase.

Invariant: the header's salt, KDF parameters and wrapped key change in one transaction
with the audit record, so the vault opens with the old passphrase or the new one, never
neither; no row is re-encrypted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from twophase.errors import UsageError
from twophase.keyholder.audit_log import log_run
from twophase.vault import KdfParams, Vault


@dataclass(frozen=True, slots=True)
class RekeyResult:
    kdf: KdfParams


def rekey(
    vault_path: Path, passphrase: str, new_passphrase: str, *, kdf: KdfParams | None = None
) -> RekeyResult:
    """Wrap the vault's data key under `new_passphrase` (new salt); no row is re-encrypted.

    Atomic: the header's salt, KDF parameters and wrapped key change in one transaction,
    so the vault opens with the old passphrase or the new one, never neither.
    """
    if not new_passphrase:
        raise UsageError("the new passphrase is empty")
    started = time.time()
    with Vault.open(vault_path, passphrase) as vault:
        params = vault.rewrap(new_passphrase, kdf, audit=lambda db: log_run(db, "rekey", started))
    return RekeyResult(params)
