"""Generate plain documents and gold JSON from inline-markup sources.

Sources mark entities as ``[[Marie Dubois|PERSON]]``; this script writes the plain document
(markup removed) and ``<name>.json`` gold with computed offsets, so nobody counts characters
by hand. Invariant: the generated trees mirror the annotated tree exactly; files with no
source are removed, and ``--check`` fails when anything is stale.

Usage:
    .venv/bin/python bench/make_gold.py            # regenerate every set
    .venv/bin/python bench/make_gold.py --check    # exit 1 if a generated file is stale
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout, without installing
    sys.path.insert(0, str(ROOT))

from twophase.evaluate import dump_gold, parse_markup  # noqa: E402


@dataclass(frozen=True)
class GoldSet:
    """Annotated sources, and where their plain documents and gold files go."""

    annotated: Path
    docs: Path
    gold: Path


SETS = {
    "examples": GoldSet(
        ROOT / "examples/annotated", ROOT / "examples/corpus", ROOT / "examples/gold"
    ),
    "hardcases": GoldSet(
        ROOT / "tests/data/hardcases/annotated",
        ROOT / "tests/data/hardcases/docs",
        ROOT / "tests/data/hardcases/gold",
    ),
}
SUFFIXES = (".txt", ".md")


def expected(gold_set: GoldSet) -> dict[Path, str]:
    """Every file the set should contain, with its content."""
    files: dict[Path, str] = {}
    for source in sorted(gold_set.annotated.rglob("*")):
        if not source.is_file() or source.suffix not in SUFFIXES:
            continue
        rel = source.relative_to(gold_set.annotated)
        text, spans = parse_markup(source.read_text(encoding="utf-8"), where=str(rel))
        gold_path = gold_set.gold / rel.with_suffix(".json")
        if gold_path in files:
            raise SystemExit(f"{rel}: another source already writes {gold_path.name}")
        files[gold_set.docs / rel] = text
        files[gold_path] = dump_gold(rel.as_posix(), spans)
    return files


def generated(gold_set: GoldSet) -> set[Path]:
    """Files currently in the generated trees."""
    found: set[Path] = set()
    for folder, suffixes in ((gold_set.docs, SUFFIXES), (gold_set.gold, (".json",))):
        if folder.exists():
            found.update(p for p in folder.rglob("*") if p.is_file() and p.suffix in suffixes)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale files, write none")
    parser.add_argument("sets", nargs="*", help=f"any of {', '.join(SETS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.sets) - set(SETS)
    if unknown:
        parser.error(f"unknown set(s): {', '.join(sorted(unknown))}")
    stale: list[str] = []
    for name in args.sets or list(SETS):
        gold_set = SETS[name]
        files = expected(gold_set)
        for path, content in files.items():
            if path.exists() and path.read_text(encoding="utf-8") == content:
                continue
            stale.append(str(path.relative_to(ROOT)))
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8", newline="\n")
        for path in sorted(generated(gold_set) - set(files)):
            stale.append(f"{path.relative_to(ROOT)} (no source)")
            if not args.check:
                path.unlink()
        print(f"{name}: {len(files) // 2} documents")
    for line in stale:
        print(("stale: " if args.check else "wrote: ") + line)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
