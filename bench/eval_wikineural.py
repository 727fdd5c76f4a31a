"""Score twophase detection on WikiNEuRal French sentences, through the real command line.

Writes the first N sentences as plain documents (50 sentences a document, one a line) into a
temporary folder, runs ``twophase detect`` and ``twophase spans`` on them, and prints
precision, recall and F1 for PERSON, LOCATION and ORG, exact and overlapping.

Invariant: the dataset (CC BY-NC-SA 4.0) is read from ../shared at run time and its text
only ever lands in a temporary folder (or one given with --keep); never in the repository.

Example:
    .venv/bin/python bench/eval_wikineural.py \\
        --conll ../shared/data/wikineural-fr/val.conllu --limit 2000 --workers 4
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout, without installing
    sys.path.insert(0, str(ROOT))

from twophase.evaluate import (  # noqa: E402
    CONLL_LABELS,
    format_report,
    load_conll,
    load_predictions,
    score,
    to_json,
    write_documents,
)

DEFAULT_CONLL = ROOT.parent / "shared/data/wikineural-fr/val.conllu"


def twophase_command(given: str | None) -> list[str]:
    """The twophase executable: the one given, the venv's, or `python -m twophase.cli`."""
    if given:
        return [given]
    venv = Path(sys.executable).with_name("twophase")
    if venv.exists():
        return [str(venv)]
    found = shutil.which("twophase")
    return [found] if found else [sys.executable, "-m", "twophase.cli"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conll", type=Path, default=DEFAULT_CONLL, help="BIO CoNLL file")
    parser.add_argument("--limit", type=int, default=1000, help="sentences to use (default 1000)")
    parser.add_argument("--per-document", type=int, default=50, help="sentences a document")
    parser.add_argument("--workdir", type=Path, help="twophase workdir (default: temporary)")
    parser.add_argument("--keep", type=Path, help="write the documents and gold here and keep them")
    parser.add_argument("--workers", type=int, help="passed to twophase detect")
    parser.add_argument("--model", help="spaCy model, passed to twophase detect")
    parser.add_argument("--twophase", help="twophase executable (default: the venv's)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)

    sentences = load_conll(args.conll, limit=args.limit)
    if not sentences:
        parser.error(f"no sentences in {args.conll}")
    with tempfile.TemporaryDirectory(prefix="twophase-eval-") as tmp:
        base = args.keep or Path(tmp)
        docs, gold_dir = base / "docs", base / "gold"
        workdir = args.workdir or Path(tmp) / "work"
        gold = write_documents(
            sentences, docs, gold_dir, per_document=args.per_document, stem="wikineural"
        )
        command = [*twophase_command(args.twophase), "detect", str(docs), "--workdir", str(workdir)]
        if args.workers is not None:
            command += ["--workers", str(args.workers)]
        if args.model:
            command += ["--model", args.model]
        started = time.perf_counter()
        detect = subprocess.run(command, check=False)
        seconds = time.perf_counter() - started
        if detect.returncode not in (0, 1):  # 1: some documents failed, the rest are scored
            print(f"twophase detect exited with {detect.returncode}", file=sys.stderr)
            return detect.returncode
        spans = subprocess.run(
            [*twophase_command(args.twophase), "spans", "--workdir", str(workdir)],
            check=True,
            capture_output=True,
            text=True,
        )
        predicted = load_predictions(spans.stdout.splitlines())
    report = score(gold, predicted, labels=set(CONLL_LABELS.values()))
    print(
        f"{len(sentences)} sentences from {args.conll.name} in {len(gold)} documents; "
        f"detect took {seconds:.1f} s"
    )
    print(format_report(report))
    if args.json:
        args.json.write_text(to_json(report) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
