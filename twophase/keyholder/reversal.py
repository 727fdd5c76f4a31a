"""`reverse`: the original bytes of pseudonymized documents, from render's receipts.

Invariant: reverse works per entity id from the receipts, never by recombining name
components, so an entity `forget` erased stays pseudonymized even when its name
components live on in other entities.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from twophase.corpus import Failure, discover
from twophase.errors import UsageError, VaultCorrupt, reason_of
from twophase.files import PRIVATE_FILE, AtomicBatch, private_dir, sha256_hex, sweep_temporaries
from twophase.formats import Edit, apply_edits
from twophase.keyholder.audit_log import list_hash, log_run
from twophase.keyholder.records import DocRecord, doc_record
from twophase.vault import Vault


@dataclass(frozen=True, slots=True)
class ReverseResult:
    documents: int
    reversed: int
    partial: int  # reversed, but with the spans of forgotten entities left as pseudonyms
    unknown: int  # bytes this vault never rendered (also in `failures`)
    seconds: float
    failures: list[Failure] = field(default_factory=list)


def reverse(inputs: list[Path], out: Path, vault_path: Path, passphrase: str) -> ReverseResult:
    """Give back the original bytes of every pseudonymized document under `inputs`.

    Each document is found by the hash of its bytes among the receipts render sealed into
    the vault; a document the vault does not know (edited since, or rendered with another
    vault or without `--vault`) is reported and left out. Outputs are re-identified
    personal data, so they are written owner-only.
    """
    started_wall, started = time.time(), time.perf_counter()
    sources, failures = discover(inputs)
    out = out.resolve()
    if any(Path(s.root) == out for s in sources):
        raise UsageError("the output folder is an input folder; choose another --out")
    done = partial = unknown = 0
    seen: list[tuple[str, str]] = []
    # Written as render writes: a batch of files made durable at once, not an fsync each.
    batch = AtomicBatch()
    staged: list[tuple[str, int]] = []  # (document, spans left pseudonymized)
    folders: set[Path] = set()

    def commit() -> None:
        nonlocal done, partial
        for (rel, left), error in zip(staged, batch.commit(), strict=True):
            if error is not None:
                failures.append(Failure(rel, reason_of(error)))
                continue
            done += 1
            partial += left > 0
        staged.clear()

    with Vault.open(vault_path, passphrase) as vault:
        entities = {int(i) for (i,) in vault.rows("SELECT id FROM entities")}
        # What a killed reverse left staged: re-identified text under hidden names.
        sweep_temporaries(out / s.rel for s in sources)
        try:
            for source in sources:
                try:
                    data = Path(source.path).read_bytes()
                    seen.append((source.rel, sha256_hex(data)))
                    record = _find_record(vault, source.rel, data)
                    if record is None:
                        unknown += 1
                        failures.append(
                            Failure(source.rel, "not an output of this vault (unknown bytes)")
                        )
                        continue
                    original, left = _reversed_bytes(record, data, entities)
                    target = out / source.rel
                    if target.parent not in folders:
                        private_dir(target.parent)
                        folders.add(target.parent)
                    batch.stage((target, original, PRIVATE_FILE, True))
                    staged.append((source.rel, left))
                except Exception as exc:  # one bad document never sinks the batch
                    failures.append(Failure(source.rel, reason_of(exc)))
                    continue
                if batch.full():
                    commit()
            commit()
        except BaseException:
            batch.discard()  # no temporary of re-identified text is left behind
            raise
        with vault.transaction() as db:
            log_run(
                db,
                "reverse",
                started_wall,
                documents=len(sources),
                reversed=done,
                partial=partial,
                unknown=unknown,
                failures=len(failures),
                input_hash=list_hash(seen),
            )
    return ReverseResult(
        documents=len(sources),
        reversed=done,
        partial=partial,
        unknown=unknown,
        seconds=time.perf_counter() - started,
        failures=sorted(failures, key=lambda f: f.document),
    )


def _find_record(vault: Vault, rel: str, data: bytes) -> DocRecord | None:
    blind = vault.keys.blind("document", sha256_hex(data))
    records = [
        doc_record(vault, int(row), sealed)
        for row, sealed in vault.rows("SELECT id, record FROM documents WHERE blind = ?", blind)
    ]
    if not records:
        return None
    distinct = {(r.source_sha256, r.encoding, r.bom, r.replacements): r for r in records}
    if len(distinct) > 1:
        # Two originals rendered to these same bytes: the document's name decides, if it can.
        named = {k: r for k, r in distinct.items() if r.document == rel}
        if len(named) != 1:
            raise VaultCorrupt(
                "several originals are recorded for these exact bytes; reverse cannot choose"
            )
        distinct = named
    return next(iter(distinct.values()))


def _reversed_bytes(record: DocRecord, data: bytes, entities: set[int]) -> tuple[bytes, int]:
    """The original bytes, and how many spans stayed pseudonymized (forgotten entities)."""
    if not data.startswith(record.bom):
        raise VaultCorrupt("the recorded byte-order mark does not match")
    try:
        text = data[len(record.bom) :].decode(record.encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise VaultCorrupt("the output does not decode as recorded") from exc
    # Per entity id: a replacement whose entity is gone from the vault stays as it is.
    edits = [Edit(s, e, orig) for s, e, ent, orig in record.replacements if ent in entities]
    left = record.forgotten + len(record.replacements) - len(edits)
    original = record.bom + apply_edits(text, edits).encode(record.encoding)
    if left == 0 and sha256_hex(original) != record.source_sha256:
        raise VaultCorrupt("the reversed bytes do not match the recorded original")
    return original, left
