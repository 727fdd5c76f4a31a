"""The command line: parse options, call one library function, map errors to exit codes.

Exit status: 0 every document succeeded; 1 some documents failed (reported by path and
reason) and the rest were written; 2 the run could not start and nothing was written.
Heavy modules (spaCy, the vault) are imported inside the commands so `--help` is instant.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

from cyclopts import App, Parameter

from twophase.errors import TwophaseError, UsageError

app = App(
    name="twophase",
    help="Pseudonymize French documents in batch: detect, assign, render.",
    version_flags=["--version"],
)

OK, SOME_FAILED, CANNOT_START = 0, 1, 2

Workers = Annotated[int | None, Parameter(help="Worker processes (default: one per core).")]
Workdir = Annotated[Path, Parameter(help="Folder for sidecars and the plan (private: 0700).")]
VaultPath = Annotated[Path, Parameter(help="The encrypted vault file (created if missing).")]
PassFile = Annotated[
    Path | None, Parameter(help="Read the passphrase from this file (else $TWOPHASE_PASSPHRASE).")
]
Model = Annotated[str, Parameter(help="spaCy model package.")]
Theme = Annotated[str, Parameter(help="Pseudonym theme of a new vault: neutral, fictional, tags.")]
ExecutorSpec = Annotated[str, Parameter(help="local (default), dask-local, or dask://HOST:PORT.")]


def _passphrase(path: Path | None, *, confirm: bool = False) -> str:
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise UsageError(f"cannot read the passphrase file {path}: {exc.strerror}") from exc
    env = os.environ.get("TWOPHASE_PASSPHRASE")
    if env:
        return env
    if not sys.stdin.isatty():
        raise UsageError("no passphrase: set TWOPHASE_PASSPHRASE or use --passphrase-file")
    first = getpass.getpass("Vault passphrase: ")
    if confirm and getpass.getpass("Again: ") != first:
        raise UsageError("the two passphrases differ")
    return first


def _progress() -> Any:
    """A rich progress bar on stderr showing counts only, never document text."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not sys.stderr.isatty(),
    )


def _callback(bar: Any) -> Any:
    tasks: dict[str, Any] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total)
        bar.update(tasks[phase], completed=done, total=total)

    return update


def _report(failures: list[Any]) -> int:
    for failure in failures:
        print(f"failed: {failure.document}: {failure.reason}", file=sys.stderr)
    if failures:
        print(f"{len(failures)} document(s) failed; the others were processed.", file=sys.stderr)
        return SOME_FAILED
    return OK


def _executor(spec: str, workers: int | None) -> Any:
    from twophase.executors import make_executor

    return make_executor(spec, workers)


@app.command
def detect(
    inputs: list[Path],
    *,
    workdir: Workdir,
    workers: Workers = None,
    model: Model = "fr_core_news_md",
    executor: ExecutorSpec = "local",
) -> int:
    """Find the entities of every document; one sidecar per document in the workdir.

    Documents already detected with the same bytes and detector are skipped.

    Example: twophase detect corpus/ --workdir work/ --workers 2
    """
    from twophase.detect import detect as run

    with _progress() as bar:
        cb = _callback(bar)
        result = run(
            inputs,
            workdir,
            model=model,
            executor=_executor(executor, workers),
            progress=lambda d, t: cb("detect", d, t),
        )
    print(
        f"detect: {result.documents} documents ({result.detected} detected, "
        f"{result.cached} unchanged), {result.words} words in {result.seconds:.1f} s",
        file=sys.stderr,
    )
    return _report(result.failures)


@app.command
def assign(
    *,
    workdir: Workdir,
    vault: VaultPath,
    passphrase_file: PassFile = None,
    theme: Theme = "neutral",
) -> int:
    """Group the batch's mentions into entities and give each a pseudonym, in the vault.

    One transaction: the vault is either fully updated or unchanged. Writes the plan.

    Example: TWOPHASE_PASSPHRASE=secret twophase assign --workdir work/ --vault v.db
    """
    from twophase.assign import assign as run

    result = run(
        workdir, vault, _passphrase(passphrase_file, confirm=not vault.exists()), theme=theme
    )
    print(
        f"assign: {result.documents} documents, {result.mentions} mentions, "
        f"{result.entities_new} new and {result.entities_reused} known entities "
        f"in {result.seconds:.1f} s",
        file=sys.stderr,
    )
    return _report(result.failures)


@app.command
def render(
    *,
    workdir: Workdir,
    out: Annotated[Path, Parameter(help="Output folder; mirrors the input tree.")],
    workers: Workers = None,
    executor: ExecutorSpec = "local",
) -> int:
    """Write the pseudonymized documents from the plan.

    A document changed since detect is refused; the others are written.

    Example: twophase render --workdir work/ --out pseudonymized/
    """
    from twophase.render import render as run

    with _progress() as bar:
        cb = _callback(bar)
        result = run(
            workdir,
            out,
            executor=_executor(executor, workers),
            progress=lambda d, t: cb("render", d, t),
        )
    print(
        f"render: {result.rendered} of {result.documents} documents written "
        f"in {result.seconds:.1f} s",
        file=sys.stderr,
    )
    return _report(result.failures)


@app.command(name="all")
def all_(
    inputs: list[Path],
    *,
    out: Annotated[Path, Parameter(help="Output folder; mirrors the input tree.")],
    vault: VaultPath,
    workdir: Annotated[
        Path | None, Parameter(help="Keep sidecars here (default: temporary).")
    ] = None,
    workers: Workers = None,
    passphrase_file: PassFile = None,
    model: Model = "fr_core_news_md",
    theme: Theme = "neutral",
    executor: ExecutorSpec = "local",
) -> int:
    """Detect, assign and render in one run.

    Example: TWOPHASE_PASSPHRASE=secret twophase all corpus/ --out pseudo/ --vault v.db
    """
    from twophase.run import run_all

    passphrase = _passphrase(passphrase_file, confirm=not vault.exists())
    with _progress() as bar:
        result = run_all(
            inputs,
            out,
            vault,
            passphrase,
            workdir=workdir,
            model=model,
            theme=theme,
            executor=_executor(executor, workers),
            progress=_callback(bar),
        )
    d, a, r = result.detect, result.assign, result.render
    print(
        f"all: {d.documents} documents, {a.entities_new} new and {a.entities_reused} known "
        f"entities, {r.rendered} written (detect {d.seconds:.1f} s, assign {a.seconds:.1f} s, "
        f"render {r.seconds:.1f} s)",
        file=sys.stderr,
    )
    return _report(d.failures + a.failures + r.failures)


@app.command
def spans(*, workdir: Workdir) -> int:
    """Print the detected entities as JSON lines, one document a line.

    Example: twophase spans --workdir work/ > spans.jsonl
    """
    from twophase.sidecar import iter_sidecars, read_manifest

    sources = read_manifest(workdir)
    for sidecar in iter_sidecars(workdir, sources):
        if sidecar is None:
            continue
        entities = [
            {"start": s.start, "end": s.end, "label": s.label, "text": s.text}
            for s in sidecar.spans
        ]
        print(json.dumps({"document": sidecar.document, "entities": entities}, ensure_ascii=False))
    return OK


@app.command
def export(*, vault: VaultPath, passphrase_file: PassFile = None) -> int:
    """Print the vault's mapping as JSON lines, one entity a line (this is personal data).

    Example: twophase export --vault v.db > mapping.jsonl
    """
    from twophase.keyholder import export as run

    for line in run(vault, _passphrase(passphrase_file)):
        print(json.dumps(line, ensure_ascii=False))
    return OK


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(format="twophase: %(message)s", level=logging.WARNING)
    try:
        code = app(argv, result_action="return_value")
    except TwophaseError as exc:
        print(f"twophase: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("twophase: interrupted; rerun the same command to finish", file=sys.stderr)
        return 130
    return code if isinstance(code, int) else OK


if __name__ == "__main__":
    sys.exit(main())
