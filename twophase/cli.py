"""The command line: parse options, call one library function, map errors to exit codes.

Exit status: 0 every document succeeded; 1 some documents failed (reported by path and
reason) and the rest were written; 2 the run could not start and nothing was written;
3 the leak check found known original surfaces still readable in some written documents
(reported by path and count, never the text; it wins over 1); 4 an internal error (a bug:
its class name only, the traceback with TWOPHASE_DEBUG=1, since a message may quote data);
130 interrupted (Ctrl-C), 143 terminated (SIGTERM), after the run cleaned up; 141 the
reader of the output went away (`| head`).
Heavy modules (spaCy, the vault) are imported inside the commands so `--help` is instant.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, Literal

from cyclopts import App, Parameter

from twophase.errors import TwophaseError, UsageError

app = App(
    name="twophase",
    help="Pseudonymize French documents in batch: detect, assign, render.",
    version_flags=["--version"],
    # Ctrl-C reaches main(), which says what to do next (cyclopts would exit 130 silently).
    suppress_keyboard_interrupt=False,
)

OK, SOME_FAILED, CANNOT_START, LEAKED, INTERNAL = 0, 1, 2, 3, 4
INTERRUPTED, BROKEN_PIPE, TERMINATED = 130, 141, 143

Workers = Annotated[int | None, Parameter(help="Worker processes (default: one per core).")]
Workdir = Annotated[Path, Parameter(help="Folder for sidecars and the plan (private: 0700).")]
VaultPath = Annotated[Path, Parameter(help="The encrypted vault file (created if missing).")]
KnownVault = Annotated[Path, Parameter(help="The encrypted vault file (must exist).")]
PassFile = Annotated[
    Path | None, Parameter(help="Read the passphrase from this file (else $TWOPHASE_PASSPHRASE).")
]
Model = Annotated[
    str,
    Parameter(help="spaCy model package; NAME:fast runs NER alone, no parser (~2x faster)."),
]
Theme = Annotated[
    Literal["neutral", "fictional", "tags"], Parameter(help="Pseudonym theme of a new vault.")
]
ExecutorSpec = Annotated[
    str, Parameter(help="local (default), dask-local, dask://HOST:PORT or dask+tls://HOST:PORT.")
]
AllowFile = Annotated[
    Path | None,
    Parameter(help="Surfaces never pseudonymized, one a line (case and accents ignored)."),
]
DenyFile = Annotated[
    Path | None,
    Parameter(help="Surfaces always pseudonymized, one a line, optional TAB LABEL (PERSON)."),
]


def _passphrase(path: Path | None, *, confirm: bool = False, new: bool = False) -> str:
    """The passphrase from `path`, else the environment, else the terminal.

    `new`: rekey's new passphrase, from its own variable and always typed twice.
    """
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise UsageError(f"cannot read the passphrase file {path}: {exc.strerror}") from exc
        except UnicodeDecodeError:  # its message would quote the passphrase's bytes
            raise UsageError(f"the passphrase file {path} is not UTF-8 text") from None
        if not text:  # as an empty $TWOPHASE_PASSPHRASE: never a vault's passphrase
            raise UsageError(f"the passphrase file {path} is empty")
        return text
    what, variable, flag = (
        ("new passphrase", "TWOPHASE_NEW_PASSPHRASE", "--new-passphrase-file")
        if new
        else ("passphrase", "TWOPHASE_PASSPHRASE", "--passphrase-file")
    )
    env = os.environ.get(variable)
    if env:
        return env
    if not sys.stdin.isatty():
        raise UsageError(f"no {what}: set {variable} or use {flag}")
    first = getpass.getpass(f"{'New vault' if new else 'Vault'} passphrase: ")
    if (confirm or new) and getpass.getpass("Again: ") != first:
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


def _report(failures: list[Any], leaks: list[Any] | None = None) -> int:
    for leak in leaks or []:
        print(
            f"leak: {leak.document}: {leak.count} known original surface(s) still readable",
            file=sys.stderr,
        )
    first: dict[str, Any] = {}  # `all`: a document detect failed is missing later too
    for failure in failures:
        first.setdefault(failure.document, failure)
    failures = list(first.values())
    for failure in failures:
        print(f"failed: {failure.document}: {failure.reason}", file=sys.stderr)
    if failures:
        print(f"{len(failures)} document(s) failed; the others were processed.", file=sys.stderr)
    if leaks:
        print(
            f"{len(leaks)} written document(s) still show known names; review them before "
            "sharing, add the missed surfaces to a --deny list and run again.",
            file=sys.stderr,
        )
        return LEAKED
    return SOME_FAILED if failures else OK


def _executor(spec: str, workers: int | None) -> Any:
    from twophase.executors import make_executor

    if workers is not None and workers < 1:  # 0 or -1 ran on one core, silently
        raise UsageError(f"--workers must be at least 1 (got {workers})")
    return make_executor(spec, workers)


@app.command
def detect(
    inputs: list[Path],
    *,
    workdir: Workdir,
    workers: Workers = None,
    model: Model = "fr_core_news_md",
    executor: ExecutorSpec = "local",
    allow: AllowFile = None,
    deny: DenyFile = None,
) -> int:
    """Find the entities of every document; one sidecar per document in the workdir.

    Documents already detected with the same bytes, detector and lists are skipped.

    Example: twophase detect corpus/ --workdir work/ --workers 2 --deny always.txt
    """
    from twophase.detection import detect as run

    with _progress() as bar:
        cb = _callback(bar)
        result = run(
            inputs,
            workdir,
            model=model,
            executor=_executor(executor, workers),
            progress=lambda d, t: cb("detect", d, t),
            allow=allow,
            deny=deny,
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
    from twophase.assignment import assign as run

    result = run(
        workdir, vault, _passphrase(passphrase_file, confirm=not vault.exists()), theme=theme
    )
    print(
        f"assign: {result.documents} documents, {result.mentions} mentions, "
        f"{result.entities_new} new and {result.entities_reused} known entities "
        f"in {result.seconds:.1f} s",
        file=sys.stderr,
    )
    _warn_given_as_pseudonyms("assign", result.given_as_pseudonyms)
    return _report(result.failures)


def _warn_given_as_pseudonyms(command: str, count: int) -> None:
    if count:
        print(
            f"{command}: note: {count} real name(s) of this batch were chosen by earlier runs "
            "as pseudonyms of other people; consistency keeps those pseudonyms, so outputs "
            "may show such a name for someone else (docs/resolution.md)",
            file=sys.stderr,
        )


@app.command
def render(
    *,
    workdir: Workdir,
    out: Annotated[Path, Parameter(help="Output folder; mirrors the input tree.")],
    workers: Workers = None,
    executor: ExecutorSpec = "local",
    vault: Annotated[
        Path | None,
        Parameter(help="Record what was replaced in this vault, so `reverse` knows the outputs."),
    ] = None,
    passphrase_file: PassFile = None,
) -> int:
    """Write the pseudonymized documents from the plan.

    A document changed since detect is refused; the others are written. With --vault,
    the replacements are sealed into the vault so that `twophase reverse` can undo them.

    Example: TWOPHASE_PASSPHRASE=secret twophase render --workdir work/ --out pseudo/ --vault v.db
    """
    from twophase.rendering import render as run

    with _progress() as bar:
        cb = _callback(bar)
        if vault is not None:
            from twophase.keyholder import render_recorded

            result = render_recorded(
                workdir,
                out,
                vault,
                _passphrase(passphrase_file),
                executor=_executor(executor, workers),
                progress=lambda d, t: cb("render", d, t),
            )
        else:
            print(
                "render: no --vault, so `twophase reverse` will not know these outputs",
                file=sys.stderr,
            )
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
    return _report(result.failures, result.leaks)


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
    allow: AllowFile = None,
    deny: DenyFile = None,
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
            allow=allow,
            deny=deny,
        )
    d, a, r = result.detect, result.assign, result.render
    print(
        f"all: {d.documents} documents, {a.entities_new} new and {a.entities_reused} known "
        f"entities, {r.rendered} written (detect {d.seconds:.1f} s, assign {a.seconds:.1f} s, "
        f"render {r.seconds:.1f} s)",
        file=sys.stderr,
    )
    _warn_given_as_pseudonyms("all", a.given_as_pseudonyms)
    return _report(d.failures + a.failures + r.failures, r.leaks)


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
def export(*, vault: KnownVault, passphrase_file: PassFile = None) -> int:
    """Print the vault's mapping as JSON lines, one entity a line (this is personal data).

    Example: twophase export --vault v.db > mapping.jsonl
    """
    from twophase.keyholder import export as run

    for line in run(vault, _passphrase(passphrase_file)):
        print(json.dumps(line, ensure_ascii=False))
    return OK


@app.command
def reverse(
    inputs: list[Path],
    *,
    out: Annotated[Path, Parameter(help="Output folder for the originals (owner-only files).")],
    vault: KnownVault,
    passphrase_file: PassFile = None,
) -> int:
    """Re-identify pseudonymized documents: write back their original bytes, exactly.

    Needs only the vault and the outputs. A document the vault does not know (edited, or
    rendered without --vault) is reported and left out; entities erased by `forget`
    stay pseudonymized.

    Example: TWOPHASE_PASSPHRASE=secret twophase reverse pseudo/ --out originals/ --vault v.db
    """
    from twophase.keyholder import reverse as run

    result = run(inputs, out, vault, _passphrase(passphrase_file))
    partial = f" ({result.partial} keep forgotten entities pseudonymized)" if result.partial else ""
    print(
        f"reverse: {result.reversed} of {result.documents} documents restored{partial} "
        f"in {result.seconds:.1f} s",
        file=sys.stderr,
    )
    return _report(result.failures)


@app.command
def forget(
    names: list[str] | None = None,
    *,
    vault: KnownVault,
    type_: Annotated[
        str, Parameter(name="--type", help="PERSON (default), LOCATION, ORG, EMAIL, PHONE, ...")
    ] = "PERSON",
    names_file: Annotated[
        Path | None,
        Parameter(help="Read the names from this file, one a line (kept out of `ps` and history)."),
    ] = None,
    passphrase_file: PassFile = None,
) -> int:
    """Erase a data subject's mapping (GDPR Art. 17); reverse then leaves it pseudonymized.

    Give the full name as one argument, or in --names-file. Name components that other
    entities still use are kept (docs/security.md says what that implies); the others are
    deleted and their pseudonyms never given again. The audit log records counts, never
    the name.

    Example: TWOPHASE_PASSPHRASE=secret twophase forget --vault v.db "Marie Dubois"
    """
    from twophase.keyholder import forget as run

    wanted = list(names or [])
    if names_file is not None:
        try:
            lines = names_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):  # a decoding error would quote the names
            raise UsageError(f"cannot read {names_file} as UTF-8 text") from None
        wanted += [line.strip() for line in lines if line.strip()]
    if not wanted:
        raise UsageError("no name to forget: give names, or --names-file FILE")
    result = run(vault, _passphrase(passphrase_file), wanted, type_=type_)
    for position in result.not_found:
        print(f"forget: name #{position}: no such {type_.upper()} in the vault", file=sys.stderr)
    print(
        f"forget: {result.entities} entities erased, {result.components_erased} name "
        f"components erased and retired, {result.components_kept} kept (shared), "
        f"{result.documents_updated} document records updated",
        file=sys.stderr,
    )
    return SOME_FAILED if result.not_found else OK


@app.command
def audit(
    *,
    vault: KnownVault,
    json_: Annotated[bool, Parameter(name="--json", help="One JSON object per line.")] = False,
) -> int:
    """Show the vault's runs: when, which command, counts, tool and model versions.

    The audit log holds no personal data and is read without the passphrase.

    Example: twophase audit --vault v.db --json
    """
    from twophase.keyholder import audit as run

    runs = run(vault)
    if json_:
        for entry in runs:
            print(json.dumps(entry.as_json(), sort_keys=True))
        return OK
    print(_audit_table(runs))
    return OK


_AUDIT_COLUMNS = (
    ("#", "id"),
    ("started", "started"),
    ("ended", "ended"),
    ("command", "command"),
    ("docs", "documents"),
    ("mentions", "mentions"),
    ("new", "entities_new"),
    ("reused", "entities_reused"),
    ("failed", "failures"),
    ("tool", "tool_version"),
)


def _audit_table(runs: list[Any]) -> str:
    rows = [[h for h, _ in _AUDIT_COLUMNS] + ["model", "other"]]
    for entry in runs:
        record = entry.as_json()
        shown = {k for _, k in _AUDIT_COLUMNS} | {"detectors", "models", "input_hash"}
        other = " ".join(f"{k}={v}" for k, v in sorted(record.items()) if k not in shown)
        rows.append(
            [str(record.get(k, "-")) for _, k in _AUDIT_COLUMNS]
            + [",".join(entry.models) or "-", other or "-"]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False)) + "  " + r[-1]
        for r in rows
    )


@app.command
def rekey(
    *,
    vault: KnownVault,
    passphrase_file: PassFile = None,
    new_passphrase_file: Annotated[
        Path | None,
        Parameter(help="Read the new passphrase from this file (else $TWOPHASE_NEW_PASSPHRASE)."),
    ] = None,
) -> int:
    """Change the vault's passphrase: the data key is re-wrapped, no row is re-encrypted.

    Atomic: afterwards the vault opens with the new passphrase only. Copies of the vault
    made before still open with the old one.

    Example: TWOPHASE_PASSPHRASE=old TWOPHASE_NEW_PASSPHRASE=new twophase rekey --vault v.db
    """
    from twophase.keyholder import rekey as run

    old = _passphrase(passphrase_file)
    result = run(vault, old, _passphrase(new_passphrase_file, new=True))
    print(
        f"rekey: new passphrase set (Argon2id {result.kdf.memory_kib // 1024} MiB, "
        f"{result.kdf.iterations} passes, {result.kdf.lanes} lanes)",
        file=sys.stderr,
    )
    return OK


@app.command
def verify(*, vault: KnownVault, passphrase_file: PassFile = None) -> int:
    """Check the vault's integrity: header, key, every row decrypts, every index holds.

    Exit 0: intact; 1: damaged or tampered rows (listed, without content); 2: wrong
    passphrase or not a twophase vault. Reads only.

    Example: TWOPHASE_PASSPHRASE=secret twophase verify --vault v.db
    """
    from twophase.keyholder import verify as run

    result = run(vault, _passphrase(passphrase_file))
    for problem in result.problems:
        print(f"verify: {problem}", file=sys.stderr)
    kdf = result.kdf
    print(
        f"verify: schema {result.schema_version}, Argon2id {kdf.memory_kib // 1024} MiB "
        f"{kdf.iterations} passes; {result.components} components, {result.entities} "
        f"entities, {result.documents} documents, {result.retired} retired, "
        f"{result.runs} runs: " + ("intact" if result.ok else f"{len(result.problems)} problem(s)"),
        file=sys.stderr,
    )
    return OK if result.ok else SOME_FAILED


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same cleanup runs: the worker pool stopped,
    staged temporaries and `all`'s temporary workdir removed."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(format="twophase: %(message)s", level=logging.WARNING)
    # Handlers belong to the main thread; an embedding caller gets its own back after.
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        return _main(argv)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str] | None) -> int:
    try:
        code = app(argv, result_action="return_value")
    except TwophaseError as exc:
        print(f"twophase: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print("twophase: interrupted; rerun the same command to finish", file=sys.stderr)
        return TERMINATED if isinstance(exc, Terminated) else INTERRUPTED
    except BrokenPipeError:
        # `twophase spans | head`: the reader is gone; say nothing more, to anyone.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
    except Exception as exc:
        if os.environ.get("TWOPHASE_DEBUG"):
            raise
        # A bug. Its message or traceback might quote a name of the batch: the class only.
        print(
            f"twophase: internal error ({type(exc).__name__}); rerun with TWOPHASE_DEBUG=1 "
            "for the traceback (it may show document data) and report it",
            file=sys.stderr,
        )
        return INTERNAL
    return code if isinstance(code, int) else OK


if __name__ == "__main__":
    sys.exit(main())
