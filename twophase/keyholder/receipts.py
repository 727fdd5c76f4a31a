"""Render's receipts sealed into the vault, so that `reverse` can find its outputs again.

Invariant: one `documents` row per (output, original) pair, written in one transaction;
recording the same render twice changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from twophase.errors import SidecarMismatch
from twophase.executors import Executor, LocalExecutor
from twophase.keyholder.audit_log import iso, list_hash, log_run
from twophase.keyholder.records import DocRecord, variant_index
from twophase.rendering import RenderResult, prepare, render
from twophase.sidecar import read_plan_vault
from twophase.vault import Vault


def record_receipts(
    vault: Vault, result: RenderResult, *, command: str, started: float, amend_last_run: bool
) -> int:
    """Seal every receipt of `result` into `documents`, in one transaction; return how many.

    One row per (output, original) pair, found again by keyed hashes of the two sha256: the
    same render recorded twice changes nothing, and two originals that happen to render
    to the same bytes both stay known. `amend_last_run` (for `all`): the run record assign
    wrote moments ago under the same lock is completed with render's counts instead of
    adding a second record for one run.
    """
    keys = vault.keys
    with vault.transaction() as db:
        next_id = vault.next_id("documents")
        for receipt in result.receipts:
            blind = keys.blind("document", receipt.output_sha256)
            variant = variant_index(vault, receipt.output_sha256, receipt.source_sha256)
            found = list(db.execute("SELECT id FROM documents WHERE variant = ?", (variant,)))
            row = int(found[0][0]) if found else next_id
            sealed = keys.seal("documents", "record", row, DocRecord.of(receipt).pack())
            if found:
                db.execute("UPDATE documents SET record = ? WHERE id = ?", (sealed, row))
            else:
                db.execute(
                    "INSERT INTO documents(id, blind, variant, record) VALUES (?, ?, ?, ?)",
                    (row, blind, variant, sealed),
                )
                next_id += 1
        counts = {
            "rendered": result.rendered,
            "render_failures": len(result.failures),
        }
        last = list(db.execute("SELECT id, record FROM runs ORDER BY id DESC LIMIT 1"))
        if amend_last_run and last:
            # Safe: the flock is held since assign wrote this record, no other run between.
            run_id, text = last[0]
            record = {**json.loads(text), **counts, "ended": iso(time.time())}
            db.execute(
                "UPDATE runs SET record = ? WHERE id = ?",
                (json.dumps(record, sort_keys=True), run_id),
            )
        else:
            log_run(
                db,
                command,
                started,
                documents=result.documents,
                failures=len(result.failures),
                input_hash=list_hash((r.document, r.source_sha256) for r in result.receipts),
                **counts,
            )
    return len(result.receipts)


def render_recorded(
    workdir: Path,
    out: Path,
    vault_path: Path,
    passphrase: str,
    *,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RenderResult:
    """`render`, then its receipts sealed into the vault so that `reverse` knows the outputs.

    The worker pool is forked before the vault is opened, so no worker ever held the key;
    a wrong passphrase or a plan of another vault stops before anything is written.
    """
    started = time.time()
    plan_vault = read_plan_vault(workdir)
    executor = executor or LocalExecutor()
    try:
        prepare(workdir, executor)  # before the fork, which comes before the key
        executor.start()
        with Vault.open(vault_path, passphrase) as vault:
            if plan_vault != vault.vault_id:
                raise SidecarMismatch(
                    f"{workdir}: the plan was made with another vault; give that vault"
                )
            result = render(workdir, out, executor=executor, progress=progress)
            record_receipts(vault, result, command="render", started=started, amend_last_run=False)
        return result
    finally:
        executor.close()
