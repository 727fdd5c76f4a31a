"""Assign at scale: a million new entities from 100,000 documents' sidecars, one transaction.

Synthesizes the sidecars (the documents themselves need not exist for assign), then runs
`twophase.assign` into a fresh vault in a child process and prints the time of each step,
the peak memory of that process, and an injectivity check of the result read back from the
vault: every component pseudonym distinct within its type and never a real name of the
batch, every entity pseudonym distinct within its type. Invariant: the same arguments give
the same sidecars; a workdir made earlier with the same arguments is reused.

Kinds of batch:
  mixed     (default) persons ("Given Surname", with "SURNAME Given" and bare "Surname" in
            other documents), places, organisations, e-mails and phones, ~10 new entities
            and ~8 recurring ones per document: the issue 6 target (1e6 new under 60 s).
  surnames  issue 3's "beyond the pools": N distinct synthetic surnames, each a PERSON
            family-only mention ("Kervoliac"), or with --given a first name too.

Run: .venv/bin/python bench/assign_scale.py                      (1e6 entities, mixed)
     .venv/bin/python bench/assign_scale.py --kind surnames      (1e6 distinct surnames)
     .venv/bin/python bench/assign_scale.py --entities 20000 --docs 2000   (quick)
     ... --profile /tmp/assign.prof   (cProfile of the assign child; see pstats)
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import itertools
import json
import random
import resource
import shlex
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import measure
import synth

from twophase.assignment import names
from twophase.corpus import Source
from twophase.sidecar import SIDECAR_SCHEMA, Sidecar, write_manifest, write_sidecar
from twophase.spans import Span
from twophase.words import vocabulary

PASSPHRASE = "bench passphrase, not a secret"
STAMP = "bench-stamp.json"
HERE = Path(__file__).resolve()


# --- synthetic batches -----------------------------------------------------------------------

_PROSE_WORDS = " Le La Les Il Elle Nous Article Madame Monsieur Objet Cordialement 2024 15 h 30"


def _mixed(
    docs: int, entities: int, seed: int, first_names: int = 0
) -> Iterator[list[tuple[str, str]]]:
    """Each document's mentions (label, text): its share of the new entities, plus recurring
    ones and other forms of persons introduced in earlier documents."""
    rng = random.Random(seed)
    givens = sorted(names.any_given())
    if first_names:  # only the first N of the lexicon's first names
        givens = givens[:: max(1, len(givens) // first_names)][:first_names]
    words = synth.distinct_words(entities)
    # Shares of the new entities: persons 40%, places 20%, organisations 20%, e-mails and
    # phones 10% each.
    kinds = ["PERSON"] * 4 + ["LOCATION"] * 2 + ["ORG"] * 2 + ["EMAIL", "PHONE"]
    common = [
        ("LOCATION", "Paris"),
        ("LOCATION", "Lyon"),
        ("LOCATION", "Marseille"),
        ("ORG", "Transports Rhodaniens SA"),
        ("ORG", "Lumen Études SARL"),
        ("PERSON", "Marie Dubois"),
        ("PERSON", "Mme Dubois"),
        ("PERSON", "Jean-Pierre Martin"),
    ]
    recent: list[tuple[str, str]] = []  # (given, family) of persons already mentioned
    made = 0
    for d in range(docs):
        share = (entities - made) // (docs - d)
        mentions: list[tuple[str, str]] = list(rng.sample(common, 4))
        for i in range(share):
            kind = kinds[(made + i) % len(kinds)]
            word = next(words)
            if kind == "PERSON":
                given = rng.choice(givens)
                mentions.append(("PERSON", f"{given} {word}"))
                recent.append((given, word))
            elif kind == "LOCATION":
                mentions.append(("LOCATION", word))
            elif kind == "ORG":
                mentions.append(("ORG", f"{word} {rng.choice(('Conseil', 'Industrie'))} SAS"))
            elif kind == "EMAIL":
                mentions.append(("EMAIL", f"{synth.ascii_fold(word).lower()}@exemple.fr"))
            else:
                n = made + i
                mentions.append(("PHONE", f"06 {n // 10**6 % 100:02d} {n // 10**4 % 100:02d} "
                                          f"{n // 100 % 100:02d} {n % 100:02d}"))  # fmt: skip
        made += share
        # Earlier persons again, in other forms: "SURNAME Given" and the bare surname.
        for given, family in rng.sample(recent, min(4, len(recent))):
            mentions.append(("PERSON", f"{family.upper()} {given}"))
            mentions.append(("PERSON", family))
        recent = recent[-2000:]
        yield mentions


def _surnames(docs: int, entities: int, given: bool, seed: int) -> Iterator[list[tuple[str, str]]]:
    rng = random.Random(seed)
    givens = sorted(names.any_given())
    words = synth.distinct_words(entities)
    made = 0
    for d in range(docs):
        share = (entities - made) // (docs - d)
        made += share
        batch = itertools.islice(words, share)
        if given:
            yield [("PERSON", f"{rng.choice(givens)} {w}") for w in batch]
        else:
            yield [("PERSON", w) for w in batch]


def generate(workdir: Path, args: argparse.Namespace) -> None:
    """Write the manifest and one sidecar per document under `workdir`."""
    if args.kind == "mixed":
        batches = _mixed(args.docs, args.entities, args.seed, args.first_names)
    else:
        batches = _surnames(args.docs, args.entities, args.given, args.seed)
    sources = []
    for d, mentions in enumerate(batches):
        rel = f"lot-{d // 1000:03d}/doc-{d:06d}.txt"
        spans, pos = [], 0
        for label, text in mentions:
            spans.append(Span(pos, pos + len(text), label, text))
            pos += len(text) + 40  # as if 40 characters of prose sat between mentions
        digest = hashlib.sha256(rel.encode()).hexdigest()
        # The document's capitalised tokens: its mentions' and the prose's usual ones.
        words = vocabulary(" ".join(text for _, text in mentions) + _PROSE_WORDS)
        write_sidecar(workdir, Sidecar(rel, digest, "bench|synthetic", tuple(spans), words=words))
        sources.append(Source(rel, "/nonexistent", f"/nonexistent/{rel}"))
    write_manifest(workdir, sources)


# --- the measured child: assign with a timer on each step ------------------------------------


class Steps:
    """Wall and CPU seconds of each step (CPU time is the steadier figure on a busy host)."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.times[name][0] += time.perf_counter() - started
            self.times[name][1] += time.process_time() - cpu

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.step(name):
                result = fn(*args, **kwargs)
                if isinstance(result, Iterator):
                    result = list(result)
                return result

        return timed


def child_assign(workdir: Path, vault_path: Path, profile: Path | None) -> dict[str, Any]:
    """Run assign, timing each of its steps (by wrapping the functions it calls)."""
    import twophase.assignment as assign_mod
    from twophase.vault import Vault

    steps = Steps()
    for attr, name in (
        ("iter_sidecars", "read sidecars"),
        ("iter_sidecar_rows", "read sidecars"),
        ("VaultIndex", "load vault index"),
        ("resolve", "resolve mentions"),
        ("_entity_ids", "entity ids"),
        ("_variants", "fork variants child"),
        ("_choose", "choose + seal components"),
        ("_entities", "entity rows (seal)"),
        ("_documents", "replacements"),
        ("write_plan", "write plan"),
        ("write_packed_plan", "write plan"),
    ):
        if hasattr(assign_mod, attr):  # steps come and go as assign evolves
            setattr(assign_mod, attr, steps.wrap(name, getattr(assign_mod, attr)))
    # The variants are built in a forked child beside choose and sealing: the parent's wait
    # for them is timed here, the child's CPU reported apart (getrusage of children).
    forked = getattr(assign_mod, "Forked", None)
    if forked is not None:
        forked.result = steps.wrap("wait for variants child", forked.result)
    real_transaction = Vault.transaction

    @contextlib.contextmanager
    def transaction(self: Vault) -> Iterator[Any]:
        with steps.step("insert + commit"), real_transaction(self) as db:
            yield db

    Vault.transaction = transaction  # type: ignore[method-assign,assignment]
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    with steps.step("open vault (KDF)"):
        vault = Vault.open(vault_path, PASSPHRASE, create=True)
    try:
        if profiler:
            profiler.enable()
        with steps.step("assign_into (total)"):
            result = assign_mod.assign_into(vault, workdir)
        if profiler:
            profiler.disable()
    finally:
        vault.close()
    total = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if profiler and profile:
        profiler.dump_stats(str(profile))
    return {
        "steps": dict(steps.times),
        "total": total,
        "documents": result.documents,
        "mentions": result.mentions,
        "entities_new": result.entities_new,
        "components_new": result.components_new,
        "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "children_cpu": children.ru_utime + children.ru_stime,
        "children_maxrss": children.ru_maxrss * 1024,
    }


def check(workdir: Path, vault_path: Path) -> dict[str, Any]:
    """Injectivity read back from the vault (and the plan's real names of the batch)."""
    import msgpack

    from twophase.assignment.mapping import comparable
    from twophase.assignment.normalize import fold
    from twophase.sidecar import iter_sidecars, read_manifest
    from twophase.vault import Vault

    started = time.perf_counter()
    with Vault.open(vault_path, PASSPHRASE) as vault:
        keys = vault.keys
        pseudos: dict[str, set[str]] = defaultdict(set)
        reals: dict[str, set[str]] = defaultdict(set)
        components = 0
        clashes = 0
        for cid, type_, real, pseudo in vault.rows("SELECT id, type, real, pseudo FROM components"):
            components += 1
            p = keys.open("components", "pseudo", int(cid), pseudo).decode()
            r = keys.open("components", "real", int(cid), real).decode()
            key = comparable(type_, p)
            clashes += key in pseudos[type_]
            pseudos[type_].add(key)
            reals[type_].add(comparable(type_, r))
        entity_pseudos: dict[str, set[str]] = defaultdict(set)
        entities = 0
        entity_clashes = 0
        for eid, type_, sealed in vault.rows("SELECT id, type, record FROM entities"):
            entities += 1
            record = msgpack.unpackb(keys.open("entities", "record", int(eid), sealed))
            key = fold(record["pseudonym"])
            entity_clashes += key in entity_pseudos[type_]
            entity_pseudos[type_].add(key)
    # Real names as the batch wrote them, whole mentions included.
    for sidecar in iter_sidecars(workdir, read_manifest(workdir)):
        for span in sidecar.spans if sidecar else ():
            if span.label == "PERSON":
                for token in span.text.split():
                    reals["PERSON"].add(comparable("PERSON", token))
            reals[span.label].add(comparable(span.label, span.text))
    real_hits = sum(len(pseudos[t] & reals[t]) for t in pseudos)
    return {
        "components": components,
        "component_pseudonym_clashes": clashes,
        "entities": entities,
        "entity_pseudonym_clashes": entity_clashes,
        "pseudonyms_equal_to_a_real_name": real_hits,
        "seconds": time.perf_counter() - started,
    }


# --- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--kind", choices=("mixed", "surnames"), default="mixed")
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--entities", type=int, default=1_000_000, help="new entities in the batch")
    ap.add_argument("--given", action="store_true", help="surnames: with a first name")
    ap.add_argument(
        "--first-names",
        type=int,
        default=0,
        help="mixed: draw persons' first names from N of the lexicon's (default: all)",
    )
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--workdir", type=Path, help="keep (and reuse) the sidecars here")
    ap.add_argument("--profile", type=Path, help="cProfile the assign child into this file")
    ap.add_argument("--no-check", action="store_true", help="skip reading the vault back")
    ap.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        print(json.dumps(child_assign(args.child[0], args.child[1], args.profile)))
        return 0

    print(f"# twophase assign-at-scale bench — {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {measure.machine()}")
    print(f"uptime load average at start: {measure.load()}")
    tmp = Path(tempfile.mkdtemp(prefix="twophase-assign-"))
    try:
        workdir = args.workdir or tmp / "work"
        keys = ("kind", "docs", "entities", "given", "seed", "first_names")
        stamp = {k: getattr(args, k) for k in keys}
        stamp["schema"] = SIDECAR_SCHEMA
        stamp_path = workdir / STAMP
        if stamp_path.exists() and json.loads(stamp_path.read_text()) == stamp:
            print(f"sidecars: reusing {workdir}")
        else:
            if workdir.exists():
                shutil.rmtree(workdir)
            started = time.perf_counter()
            generate(workdir, args)
            stamp_path.write_text(json.dumps(stamp))
            print(f"sidecars: written in {time.perf_counter() - started:.0f} s (not timed below)")
        (workdir / "plan.msgpack").unlink(missing_ok=True)
        vault = tmp / "vault.db"
        load = measure.load()
        argv_child = [sys.executable, str(HERE), "--child", str(workdir), str(vault)]
        if args.profile:
            argv_child += ["--profile", str(args.profile)]
        run = measure.run(argv_child)
        r = json.loads(run.stdout)
        print(
            f"\nassign ({args.kind}{', with first names' if args.given else ''}): "
            f"{r['documents']:,} documents, {r['mentions']:,} mentions, "
            f"{r['entities_new']:,} new entities, {r['components_new']:,} new components"
        )
        print(f"  {'step':<26} {'wall':>9} {'CPU':>9}")
        for name, (wall, cpu) in r["steps"].items():
            print(f"  {name:<26} {wall:7.2f} s {cpu:7.2f} s")
        if r.get("children_cpu"):
            main_cpu = r["steps"]["assign_into (total)"][1]
            print(
                f"  {'forked variants child':<26} {'':>9} {r['children_cpu']:7.2f} s "
                f"(peak RSS {r['children_maxrss'] / measure.MiB:,.0f} MiB)"
            )
            print(f"  {'CPU of both processes':<26} {'':>9} {main_cpu + r['children_cpu']:7.2f} s")
        print(
            f"  {'whole child process':<26} {run.seconds:7.2f} s (interpreter start, imports, "
            f"KDF, assign, exit)"
        )
        print(
            f"  peak memory: RSS {r['maxrss'] / measure.MiB:,.0f} MiB (getrusage), "
            f"{run.memory()} (sampled); load average {load}"
        )
        seconds = r["steps"]["assign_into (total)"][0] + r["steps"]["open vault (KDF)"][0]
        if r["entities_new"] >= 1_000_000:
            verdict = "MET" if seconds < 60 else "MISS"
            print(f"  target 1e6 new entities < 60 s (open + assign): {verdict} ({seconds:.1f} s)")
        else:
            per = seconds / r["entities_new"] * 1e6
            print(f"  {per:.1f} us per new entity (open + assign); target 1e6 in 60 s = 60 us")
        if args.profile:
            print(f"  profile: {args.profile} (python -m pstats)")
        if not args.no_check:
            c = check(workdir, vault)
            ok = (
                c["component_pseudonym_clashes"] == 0
                and c["entity_pseudonym_clashes"] == 0
                and c["pseudonyms_equal_to_a_real_name"] == 0
            )
            print(
                f"\ncheck ({c['seconds']:.0f} s): {c['components']:,} components, "
                f"{c['entities']:,} entities; pseudonym clashes: components "
                f"{c['component_pseudonym_clashes']}, entities {c['entity_pseudonym_clashes']}; "
                f"pseudonyms equal to a real name: {c['pseudonyms_equal_to_a_real_name']} -> "
                f"{'all distinct' if ok else 'FAILED'}"
            )
            if not ok:
                return 1
        print(f"\nuptime load average at end: {measure.load()}")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
