"""`twophase all`: the three phases in one run, one worker pool, one key derivation.

Order matters for the key: the model is loaded and the worker pool forked first, then the
vault is opened, so no worker process ever had key material in its memory, and a wrong
passphrase stops the run before any detection work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from twophase.assignment import AssignResult, assign_into
from twophase.assignment.pseudonyms import check_theme
from twophase.corpus import discover
from twophase.detection import DEFAULT_MODEL, DetectResult, detect
from twophase.detection.lists import read_lists
from twophase.detection.pipeline import fingerprint
from twophase.executors import Executor, LocalExecutor
from twophase.files import remove_tree, temporary_workdir
from twophase.keyholder import record_receipts
from twophase.rendering import RenderResult, check_places, render
from twophase.vault import KdfParams, Vault

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class AllResult:
    detect: DetectResult
    assign: AssignResult
    render: RenderResult

    @property
    def failures(self) -> list[str]:
        failed = {f.document for f in self.detect.failures}
        failed |= {f.document for f in self.assign.failures}
        failed |= {f.document for f in self.render.failures}
        return sorted(failed)


def run_all(
    inputs: list[Path],
    out: Path,
    vault_path: Path,
    passphrase: str,
    *,
    workdir: Path | None = None,
    model: str = DEFAULT_MODEL,
    theme: str = "neutral",
    executor: Executor | None = None,
    kdf: KdfParams | None = None,
    progress: Progress | None = None,
    allow: Path | None = None,
    deny: Path | None = None,
) -> AllResult:
    """Detect, assign and render `inputs` into `out`; a temporary workdir is removed after."""
    discover(inputs)  # usage errors (missing input, name clash) before any heavy work
    read_lists(allow, deny)  # and a bad --allow or --deny file, before the vault exists
    check_theme(theme)
    fingerprint(model)  # a model that is not installed, before the vault exists
    check_places(out, [given for given in inputs if given.is_dir()], workdir)
    executor = executor or LocalExecutor()
    temporary = workdir is None
    work = temporary_workdir() if workdir is None else workdir
    try:
        executor.preload_model(model)
        executor.start()
        with Vault.open(vault_path, passphrase, create=True, theme=theme, kdf=kdf) as vault:
            detected = detect(
                inputs,
                work,
                model=model,
                executor=executor,
                progress=_phase(progress, "detect"),
                allow=allow,
                deny=deny,
            )
            assigned = assign_into(vault, work, command="all")
            rendered = render(work, out, executor=executor, progress=_phase(progress, "render"))
            # A second, short transaction on the vault already open (the key is not derived
            # again): what render replaced, sealed, so `reverse` needs no workdir.
            record_receipts(
                vault, rendered, command="all", started=time.time(), amend_last_run=True
            )
        return AllResult(detected, assigned, rendered)
    except BaseException:
        executor.terminate()  # no queued work to wait for: the run is over
        raise
    finally:
        executor.close()
        if temporary:  # every name of the batch is in there
            remove_tree(work)


def _phase(progress: Progress | None, name: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    callback = progress
    return lambda done, total: callback(name, done, total)
