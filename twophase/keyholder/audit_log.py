"""The vault's audit log: one JSON record a run, appended by every command, read by `audit`.

Invariant: a record holds times, counts, versions and hashes, never a name or any document
text; that is why `audit` reads it without the passphrase.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from twophase.errors import VaultCorrupt
from twophase.vault.store import clear_parts


@dataclass(frozen=True, slots=True)
class AuditRun:
    """One run of the audit log: the stored JSON record (counts and versions, no names)."""

    id: int
    record: dict[str, Any]

    @property
    def command(self) -> str:
        return str(self.record.get("command", "?"))

    @property
    def models(self) -> list[str]:
        """`model==version` of each detector fingerprint the run used."""
        return sorted({str(d).split("|", 1)[0] for d in self.record.get("detectors", [])})

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, **self.record, "models": self.models}


def audit(vault_path: Path) -> list[AuditRun]:
    """The audit log, oldest first. Needs no passphrase: it holds no personal data."""
    with clear_parts(vault_path) as parts:
        runs: list[AuditRun] = []
        for run_id, text in sorted(parts.runs):
            try:
                record = json.loads(text)
            except ValueError as exc:
                raise VaultCorrupt(f"audit record #{run_id} is not JSON") from exc
            if not isinstance(record, dict):
                raise VaultCorrupt(f"audit record #{run_id} is not a JSON object")
            runs.append(AuditRun(run_id, record))
    return runs


def log_run(db: Any, command: str, started: float, **counts: object) -> None:
    """Append one audit record: when, what, how many, which version. Never a name."""
    record = {
        "command": command,
        "started": iso(started),
        "ended": iso(time.time()),
        "tool_version": version("twophase"),
        **counts,
    }
    db.execute("INSERT INTO runs(record) VALUES (?)", (json.dumps(record, sort_keys=True),))


def iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def list_hash(items: Iterable[tuple[str, str]]) -> str:
    """A hash of the batch's document list: tells runs apart without naming a document."""
    digest = hashlib.sha256()
    for name, sha in sorted(items):
        digest.update(f"{name}\0{sha}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
