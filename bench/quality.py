"""Detection quality and leaks of the real pipeline (detect → assign → render) on gold sets.

Runs the library on each set in a temporary workdir with a fresh vault, then prints, per
label, precision, recall and F1 (exact span and overlap) and label-blind character
coverage, twice: for the spans detect wrote ("detected") and for what render actually
replaced ("replaced": planned replacements plus batch-wide propagation). Then the leak rate
of the rendered output: the share of distinct (document, gold surface) pairs still readable
as a whole word.

Sets: ``hardcases`` (tests/data/hardcases), ``examples`` (examples/corpus and gold), and
``wikineural`` (WikiNEuRal-fr dev set, 50 sentences a document; ``--skip`` and ``--limit``
select sentences). ``--baseline`` measures the pipeline as it was before issue 4: model and
pattern spans merged as they come (no context rules, no lists) and no propagation.

Invariant: WikiNEuRal (CC BY-NC-SA 4.0) is read from ../shared at run time and its text
only ever lands in a temporary folder; leaked surfaces are only written with ``--json``.

Example:
    .venv/bin/python bench/quality.py --model fr_core_news_md --limit 2000
    .venv/bin/python bench/quality.py --sets hardcases --model fr_core_news_sm
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout, without installing
    sys.path.insert(0, str(ROOT))

from twophase.evaluate import (  # noqa: E402
    GoldSpan,
    LeakReport,
    Report,
    format_report,
    leak_rate,
    load_conll,
    load_gold_json,
    score,
    write_documents,
)
from twophase.formats import decode  # noqa: E402
from twophase.spans import Span  # noqa: E402

DEFAULT_CONLL = ROOT.parent / "shared/data/wikineural-fr/val.conllu"
PASSPHRASE = "bench quality passphrase"
SETS = ("hardcases", "examples", "wikineural")


@dataclass(frozen=True, slots=True)
class SetResult:
    name: str
    documents: int
    seconds: float
    detected: Report
    replaced: Report
    leaks: LeakReport
    flagged: int  # documents the render leak check reported


def replaced_spans(workdir: Path, docs: Path) -> dict[str, list[Span]]:
    """What render replaced, in input coordinates, labelled: planned spans + propagation."""
    from twophase.formats import format_for
    from twophase.sidecar import iter_sidecars, read_manifest, read_plan

    sources = read_manifest(workdir)
    plan = read_plan(workdir)
    planned = {d.document: d for d in plan.documents}
    try:
        from twophase.rendering import propagate
    except ImportError:  # before batch-wide propagation existed
        propagate = None  # type: ignore[assignment]
    matcher = propagate.matcher_for(plan) if propagate is not None else None
    out: dict[str, list[Span]] = {}
    for source, sidecar in zip(sources, iter_sidecars(workdir, sources), strict=True):
        if sidecar is None or source.rel not in planned:
            continue
        doc = planned[source.rel]
        rows = list(doc.replacements)
        text = format_for(source.rel).extract(Path(source.path).read_bytes())
        widen = getattr(propagate, "widened", None)  # session 7: a known person's name whole
        if matcher is not None and widen is not None:
            rows = list(widen(text, rows, matcher))
        ranges = {(r[0], r[1]) for r in rows}
        spans = [s for s in sidecar.spans if (s.start, s.end) in ranges]
        detected = {(s.start, s.end) for s in spans}
        spans += [Span(a, b, "PERSON", text[a:b]) for a, b in ranges - detected]  # widened
        if matcher is not None:
            spans += [
                Span(h.start, h.end, h.label, text[h.start : h.end])
                for h in propagate.hits(text, rows, matcher)
            ]
        out[source.rel] = sorted(spans)
    return out


def run_set(
    name: str,
    docs: Path,
    gold: Mapping[str, Sequence[GoldSpan]],
    model: str,
    tmp: Path,
    extra: Mapping[str, Any],
    theme: str = "neutral",
) -> SetResult:
    """The whole pipeline through the library, as `twophase all` runs it (one worker)."""
    from twophase.assignment import assign_into
    from twophase.detection import detect
    from twophase.executors import LocalExecutor
    from twophase.rendering import render
    from twophase.sidecar import iter_sidecars, read_manifest
    from twophase.vault import KdfParams, Vault

    work, out, vault_path = tmp / f"{name}-work", tmp / f"{name}-out", tmp / f"{name}.vault"
    executor = LocalExecutor(1)  # in-process: the model is loaded once for every set
    started = time.perf_counter()
    detected = detect([docs], work, model=model, executor=executor, **extra)
    kdf = KdfParams(memory_kib=19 * 1024, iterations=2, lanes=1)  # a throwaway vault
    with Vault.open(vault_path, PASSPHRASE, create=True, kdf=kdf, theme=theme) as vault:
        assign_into(vault, work, command="bench")
    rendered_result = render(work, out, executor=executor)
    seconds = time.perf_counter() - started
    if detected.failures:
        print(f"{name}: {len(detected.failures)} documents failed", file=sys.stderr)
    sources = read_manifest(work)
    predicted = {c.document: list(c.spans) for c in iter_sidecars(work, sources) if c is not None}
    rendered = {
        p.relative_to(out).as_posix(): decode(p.read_bytes()).text
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }
    return SetResult(
        name,
        len(sources),
        seconds,
        score(gold, predicted),
        score(gold, replaced_spans(work, docs)),
        leak_rate(gold, rendered),
        len(getattr(rendered_result, "leaks", ())),
    )


def vault_cost(entities: int, tmp: Path) -> None:
    """Time assign's pass over the vault (propagation decrypts every entity) at this size.

    A first batch of synthetic sidecars maps `entities` invented full names; then a batch of
    one document is assigned, whose text shares a few words with them, and timed.
    """
    import random

    from twophase.assignment import assign_into
    from twophase.assignment import propagate as assign_propagate
    from twophase.corpus import Source
    from twophase.sidecar import Sidecar, read_plan, write_manifest, write_sidecar
    from twophase.vault import KdfParams, Vault

    rng = random.Random(4)
    letters = "abcdefghijklmnopqrstuvwxyz"

    def word() -> str:
        return "".join(rng.choice(letters) for _ in range(rng.randint(5, 9))).capitalize()

    names = sorted({f"{word()} {word()}" for _ in range(entities)})
    spent: list[float] = []
    decrypt = assign_propagate.vault_forms

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return decrypt(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    setattr(assign_propagate, "vault_forms", timed)  # noqa: B010
    kdf = KdfParams(memory_kib=19 * 1024, iterations=2, lanes=1)
    vault_path = tmp / "cost.vault"
    for step, batch in (("fill", names), ("timed", names[:3])):
        work = tmp / f"cost-{step}"
        work.mkdir(mode=0o700, parents=True)
        per_doc = 1000
        sources = []
        for n, first in enumerate(range(0, len(batch), per_doc)):
            rel = f"d{n:05d}.txt"
            text = "".join(f"{name}.\n" for name in batch[first : first + per_doc])
            spans, pos = [], 0
            for name in batch[first : first + per_doc]:
                spans.append(Span(pos, pos + len(name), "PERSON", name))
                pos += len(name) + 2
            sources.append(Source(rel, str(tmp), str(tmp / rel)))
            words = tuple(sorted({w for name in batch for w in name.split()}))
            write_sidecar(work, Sidecar(rel, "0" * 64, "synthetic", tuple(spans), words))
            (tmp / rel).write_text(text, "utf-8")
        write_manifest(work, sources)
        started = time.perf_counter()
        with Vault.open(vault_path, PASSPHRASE, create=True, kdf=kdf) as vault:
            result = assign_into(vault, work, command="bench")
        seconds = time.perf_counter() - started
        print(
            f"vault cost, {step}: {result.mentions} mentions, {result.entities_new} new and "
            f"{result.entities_reused} known entities, assign {seconds:.2f} s "
            f"(of which reading the vault's entities for propagation {spent[-1]:.2f} s), "
            f"{len(read_plan(work).variants)} variants planned"
        )


def plain_pipeline() -> None:
    """Patch this process back to model + patterns only, and no batch-wide propagation."""
    from twophase.assignment import propagate as assign_propagate
    from twophase.detection import context

    def merge(text: str, patterns: list[Span], ner: list[Span], lists: Any = None) -> list[Span]:
        kept = list(patterns)
        for span in ner:  # a pattern span wins over any model span it overlaps
            if not any(p.start < span.end and span.start < p.end for p in patterns):
                kept.append(span)
        return sorted(kept)

    setattr(context, "refine", merge)  # noqa: B010  (pipeline calls context.refine)
    setattr(assign_propagate, "variants", lambda *args, **kwargs: ())  # noqa: B010


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fr_core_news_md", help="spaCy model")
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated: " + ",".join(SETS))
    parser.add_argument("--conll", type=Path, default=DEFAULT_CONLL, help="WikiNEuRal CoNLL file")
    parser.add_argument("--skip", type=int, default=0, help="WikiNEuRal sentences to skip")
    parser.add_argument("--limit", type=int, help="WikiNEuRal sentences to use (default all)")
    parser.add_argument("--allow", type=Path, help="passed to detect: surfaces never replaced")
    parser.add_argument("--deny", type=Path, help="passed to detect: surfaces always replaced")
    parser.add_argument("--json", type=Path, help="write the reports (with leaks) here")
    parser.add_argument("--keep", type=Path, help="keep workdirs and outputs here (private)")
    parser.add_argument("--baseline", action="store_true", help="model + patterns only")
    parser.add_argument(
        "--vault-cost", type=int, metavar="N", help="time assign against a vault of N entities"
    )
    parser.add_argument(
        "--theme",
        default="neutral",
        help="pseudonym theme; `tags` makes pseudonyms that never read like a real name",
    )
    args = parser.parse_args(argv)

    if args.vault_cost:
        with tempfile.TemporaryDirectory(prefix="twophase-quality-") as tmp_name:
            vault_cost(args.vault_cost, Path(tmp_name))
        return 0
    if args.baseline:
        plain_pipeline()
    extra: dict[str, Any] = {}
    if args.allow:
        extra["allow"] = args.allow
    if args.deny:
        extra["deny"] = args.deny
    results: list[SetResult] = []
    with tempfile.TemporaryDirectory(prefix="twophase-quality-") as tmp_name:
        tmp = Path(tmp_name)
        if args.keep:
            tmp = args.keep
            tmp.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in args.sets.split(","):
            if name == "hardcases":
                base = ROOT / "tests/data/hardcases"
                docs, gold = base / "docs", load_gold_json(base / "gold")
            elif name == "examples":
                docs, gold = ROOT / "examples/corpus", load_gold_json(ROOT / "examples/gold")
            elif name == "wikineural":
                total = None if args.limit is None else args.skip + args.limit
                sentences = load_conll(args.conll, limit=total)[args.skip :]
                docs = tmp / "wikineural-docs"
                gold = write_documents(sentences, docs, per_document=50, stem="wikineural")
            else:
                parser.error(f"unknown set {name!r}")
            results.append(run_set(name, docs, gold, args.model, tmp, extra, args.theme))
    for r in results:
        print(
            f"\n=== {r.name}{' (baseline)' if args.baseline else ''}: {r.documents} documents, "
            f"{args.model}, theme {args.theme}, "
            f"{r.seconds:.1f} s, render leak check flagged {r.flagged} document(s)"
        )
        print("--- detected (sidecar spans)")
        print(format_report(r.detected))
        print("--- replaced (planned + propagated)")
        print(format_report(r.replaced))
        print("--- leaks in rendered output")
        print(format_report(r.leaks))
    if args.json:
        payload = {
            "model": args.model,
            "baseline": args.baseline,
            "theme": args.theme,
            "sets": [asdict(r) for r in results],
        }
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
