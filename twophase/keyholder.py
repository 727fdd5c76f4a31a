"""The key-holder's jobs on an existing vault: export, reverse, forget, audit, rekey, verify,
and recording what render replaced so that `reverse` can go back.

Invariant: these commands never create a vault. Each derives the key once, in this
process (audit needs no key: the audit log is in clear and holds no personal data), and
changes the vault, if at all, inside one transaction. Reverse works per entity id from
the receipts render left, never by recombining name components, so an entity `forget`
erased stays pseudonymized even when its name components live on in other entities.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import msgpack

from twophase.corpus import Failure, discover
from twophase.errors import (
    SidecarMismatch,
    TwophaseError,
    UsageError,
    VaultCorrupt,
    WrongPassphrase,
    reason_of,
)
from twophase.executors import Executor, LocalExecutor
from twophase.files import PRIVATE_FILE, private_dir, sha256_hex, write_atomic
from twophase.formats import Edit, apply_edits
from twophase.rendering import Receipt, RenderResult, render
from twophase.sidecar import read_plan
from twophase.vault import KdfParams, Vault
from twophase.vault.store import clear_parts

__all__ = [
    "AuditRun",
    "ForgetResult",
    "RekeyResult",
    "ReverseResult",
    "VerifyResult",
    "audit",
    "export",
    "forget",
    "record_receipts",
    "rekey",
    "render_recorded",
    "reverse",
    "verify",
]

RECORD_SCHEMA = 1  # of the sealed `documents.record`
T = TypeVar("T")


# ---------------------------------------------------------------------------- export


def export(vault_path: Path, passphrase: str) -> list[dict[str, Any]]:
    """Every entity of the vault: type, original, pseudonym, component pairs.

    The whole mapping leaves the vault here, so the export itself is written to the audit
    log (a count, no name).
    """
    started = time.time()
    with Vault.open(vault_path, passphrase) as vault:
        rows = list(vault.rows("SELECT id, type, record FROM entities ORDER BY id"))
        out: list[dict[str, Any]] = []
        for eid, type_, sealed in rows:
            record = _entity_record(vault, int(eid), sealed)
            out.append(
                {
                    "type": type_,
                    "original": record["original"],
                    "pseudonym": record["pseudonym"],
                    "components": record["components"],
                }
            )
        with vault.transaction() as db:
            _log_run(db, "export", started, entities=len(out))
    return out


# ------------------------------------------------------------------ receipts (render)


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
            variant = _variant(vault, receipt.output_sha256, receipt.source_sha256)
            found = list(db.execute("SELECT id FROM documents WHERE variant = ?", (variant,)))
            row = int(found[0][0]) if found else next_id
            sealed = keys.seal("documents", "record", row, _DocRecord.of(receipt).pack())
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
            record = {**json.loads(text), **counts, "ended": _iso(time.time())}
            db.execute(
                "UPDATE runs SET record = ? WHERE id = ?",
                (json.dumps(record, sort_keys=True), run_id),
            )
        else:
            _log_run(
                db,
                command,
                started,
                documents=result.documents,
                failures=len(result.failures),
                input_hash=_list_hash((r.document, r.source_sha256) for r in result.receipts),
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
    plan = read_plan(workdir)
    executor = executor or LocalExecutor()
    try:
        executor.start()
        with Vault.open(vault_path, passphrase) as vault:
            if plan.vault_id != vault.vault_id:
                raise SidecarMismatch(
                    f"{workdir}: the plan was made with another vault; give that vault"
                )
            result = render(workdir, out, executor=executor, progress=progress)
            record_receipts(vault, result, command="render", started=started, amend_last_run=False)
        return result
    finally:
        executor.close()


def _variant(vault: Vault, output_sha256: str, source_sha256: str) -> bytes:
    return vault.keys.blind("document/variant", f"{output_sha256}|{source_sha256}")


@dataclass(frozen=True, slots=True)
class _DocRecord:
    """A sealed `documents.record` (docs/architecture.md): one output, how to undo it."""

    document: str
    output_sha256: str
    source_sha256: str  # "" once `forget` took some replacements out
    encoding: str
    bom: bytes
    replacements: tuple[tuple[int, int, int, str], ...]  # output start, end, entity, original
    forgotten: int

    @classmethod
    def of(cls, receipt: Receipt) -> _DocRecord:
        reps = tuple(
            (start, end, entity, original)
            for (start, end, entity), original in zip(
                receipt.replacements, receipt.originals, strict=True
            )
        )
        return cls(
            receipt.document,
            receipt.output_sha256,
            receipt.source_sha256,
            receipt.encoding,
            receipt.bom,
            reps,
            forgotten=0,
        )

    def pack(self) -> bytes:
        data: bytes = msgpack.packb(
            {
                "schema": RECORD_SCHEMA,
                "document": self.document,
                "output_sha256": self.output_sha256,
                "source_sha256": self.source_sha256,
                "encoding": self.encoding,
                "bom": self.bom,
                "replacements": [list(r) for r in self.replacements],
                "forgotten": self.forgotten,
            },
            use_bin_type=True,
        )
        return data


def _doc_record(vault: Vault, row: int, sealed: bytes) -> _DocRecord:
    plain = vault.keys.open("documents", "record", row, sealed)
    try:
        obj = msgpack.unpackb(plain, raw=False)
        if obj["schema"] != RECORD_SCHEMA:
            raise ValueError("schema")
        return _DocRecord(
            str(obj["document"]),
            str(obj["output_sha256"]),
            str(obj["source_sha256"]),
            str(obj["encoding"]),
            bytes(obj["bom"]),
            tuple((int(a), int(b), int(e), str(o)) for a, b, e, o in obj["replacements"]),
            int(obj["forgotten"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise VaultCorrupt(f"vault row documents#{row} (record) is malformed") from exc


def _entity_record(vault: Vault, row: int, sealed: bytes) -> dict[str, Any]:
    plain = vault.keys.open("entities", "record", row, sealed)
    try:
        record = msgpack.unpackb(plain, raw=False)
        if not isinstance(record, dict) or not {"key", "original", "pseudonym"} <= record.keys():
            raise ValueError("fields")
        return record
    except (TypeError, ValueError) as exc:
        raise VaultCorrupt(f"vault row entities#{row} (record) is malformed") from exc


# --------------------------------------------------------------------------- reverse


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
    with Vault.open(vault_path, passphrase) as vault:
        entities = {int(i) for (i,) in vault.rows("SELECT id FROM entities")}
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
                private_dir(target.parent)
                write_atomic(target, original, mode=PRIVATE_FILE)
            except Exception as exc:  # one bad document never sinks the batch
                failures.append(Failure(source.rel, reason_of(exc)))
                continue
            done += 1
            partial += left > 0
        with vault.transaction() as db:
            _log_run(
                db,
                "reverse",
                started_wall,
                documents=len(sources),
                reversed=done,
                partial=partial,
                unknown=unknown,
                failures=len(failures),
                input_hash=_list_hash(seen),
            )
    return ReverseResult(
        documents=len(sources),
        reversed=done,
        partial=partial,
        unknown=unknown,
        seconds=time.perf_counter() - started,
        failures=sorted(failures, key=lambda f: f.document),
    )


def _find_record(vault: Vault, rel: str, data: bytes) -> _DocRecord | None:
    blind = vault.keys.blind("document", sha256_hex(data))
    records = [
        _doc_record(vault, int(row), sealed)
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


def _reversed_bytes(record: _DocRecord, data: bytes, entities: set[int]) -> tuple[bytes, int]:
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


# ---------------------------------------------------------------------------- forget

OTHER_TYPES = ("LOCATION", "ORG")


@dataclass(frozen=True, slots=True)
class ForgetResult:
    requested: int
    entities: int  # entities erased
    not_found: list[int]  # 1-based positions of the names the vault does not know
    components_erased: int  # and their pseudonyms retired, never to be given again
    components_kept: int  # still used by an entity that stays
    documents_updated: int  # receipts from which the erased originals were taken out


def forget(
    vault_path: Path, passphrase: str, names: Sequence[str], *, type_: str = "PERSON"
) -> ForgetResult:
    """Erase the entities named by `names` (GDPR Art. 17), in one transaction.

    A name is resolved with assign's own normal forms: for a person, the entity of that
    full name ("Marie Dubois", "DUBOIS Marie" and "Mme Marie Dubois" are one); a single
    word names the family-only or given-only entity of that word. Deleted with the entity:
    its name components no remaining entity uses (their pseudonyms are retired, so never
    given again), and the originals of its occurrences in every document receipt.
    """
    type_ = _entity_type(type_)
    if not names:
        raise UsageError("name at least one entity to forget")
    started = time.time()
    with Vault.open(vault_path, passphrase) as vault:
        keys = vault.keys
        with vault.transaction() as db:
            gone: dict[int, str] = {}  # entity id → its entity key
            not_found: list[int] = []
            for position, name in enumerate(names, 1):
                found = False
                for key in _entity_keys(type_, name):
                    blind = keys.blind(f"{type_}/entity", key)
                    for eid, sealed in db.execute(
                        "SELECT id, record FROM entities WHERE type = ? AND blind = ?",
                        (type_, blind),
                    ):
                        record = _entity_record(vault, int(eid), sealed)
                        gone[int(eid)] = str(record["key"])
                        found = True
                if not found:
                    not_found.append(position)
            # Components still in use: decrypt every entity that stays.
            kept: set[tuple[str, str, str]] = set()
            for eid, etype, sealed in list(db.execute("SELECT id, type, record FROM entities")):
                if int(eid) not in gone:
                    record = _entity_record(vault, int(eid), sealed)
                    kept |= _components_of(str(etype), str(record["key"]))
            candidates: set[tuple[str, str, str]] = set()
            for key in gone.values():
                candidates |= _components_of(type_, key)
            erased = 0
            for ctype, kind, normal in sorted(candidates - kept):
                real_blind = keys.blind(ctype, normal)
                for cid, pseudo_blind in list(
                    db.execute(
                        "SELECT id, pseudo_blind FROM components "
                        "WHERE type = ? AND kind = ? AND real_blind = ?",
                        (ctype, kind, real_blind),
                    )
                ):
                    db.execute(
                        "INSERT OR IGNORE INTO retired(type, pseudo_blind) VALUES (?, ?)",
                        (ctype, pseudo_blind),
                    )
                    db.execute("DELETE FROM components WHERE id = ?", (cid,))
                    erased += 1
            updated = _strip_receipts(vault, db, set(gone))
            db.executemany("DELETE FROM entities WHERE id = ?", [(i,) for i in gone])
            _log_run(
                db,
                "forget",
                started,
                names=len(names),
                entities_forgotten=len(gone),
                not_found=len(not_found),
                components_erased=erased,
                components_kept=len(candidates & kept),
                documents_updated=updated,
            )
    return ForgetResult(
        requested=len(names),
        entities=len(gone),
        not_found=not_found,
        components_erased=erased,
        components_kept=len(candidates & kept),
        documents_updated=updated,
    )


def _entity_type(type_: str) -> str:
    from twophase.detection.recognizers import RECOGNIZERS

    upper = type_.upper()
    if upper not in ("PERSON", *OTHER_TYPES, *RECOGNIZERS):
        known = ", ".join(("PERSON", *OTHER_TYPES, *RECOGNIZERS))
        raise UsageError(f"unknown entity type {type_!r}; one of {known}")
    return upper


def _entity_keys(type_: str, name: str) -> list[str]:
    """The entity keys `resolve` would give this surface (docs/resolution.md)."""
    from twophase.assignment.normalize import core_of, parse_person

    if type_ == "PERSON":
        person = parse_person(name)
        if person is None:
            return []
        if person.solo:
            # Alone, a word is a family or a given name depending on the batch it came in.
            word = person.parts[0].normal
            return [f"{word}|", f"|{word}"]
        return [f"{person.family}|{' '.join(person.given)}"]
    if type_ in OTHER_TYPES:
        core = core_of(name)
        return [core.normal] if core else []
    from twophase.detection.recognizers import canonical

    return [canonical(type_, name)]


def _components_of(type_: str, key: str) -> set[tuple[str, str, str]]:
    """(type, kind, normal) of the name components an entity is rendered from.

    A person's key is `family|given given…` (given names never hold a space, family names
    may); any other entity is one whole component whose normal form is its key.
    """
    if type_ != "PERSON":
        return {(type_, "whole", key)}
    family, _, given = key.partition("|")
    parts = {("PERSON", "given", g) for g in given.split(" ") if g}
    if family:
        parts.add(("PERSON", "family", family))
    return parts


def _strip_receipts(vault: Vault, db: Any, gone: set[int]) -> int:
    """Take the erased entities' originals out of every receipt; returns receipts changed."""
    if not gone:
        return 0
    updated = 0
    for row, sealed in list(db.execute("SELECT id, record FROM documents")):
        record = _doc_record(vault, int(row), sealed)
        keep = tuple(r for r in record.replacements if r[2] not in gone)
        if len(keep) == len(record.replacements):
            continue
        stripped = _DocRecord(
            record.document,
            record.output_sha256,
            "",  # a hash of a text holding the erased name is data about it too
            record.encoding,
            record.bom,
            keep,
            record.forgotten + len(record.replacements) - len(keep),
        )
        db.execute(
            "UPDATE documents SET record = ? WHERE id = ?",
            (vault.keys.seal("documents", "record", int(row), stripped.pack()), row),
        )
        updated += 1
    return updated


# ----------------------------------------------------------------------------- audit


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


# ----------------------------------------------------------------------------- rekey


@dataclass(frozen=True, slots=True)
class RekeyResult:
    kdf: KdfParams


def rekey(
    vault_path: Path, passphrase: str, new_passphrase: str, *, kdf: KdfParams | None = None
) -> RekeyResult:
    """Wrap the vault's data key under `new_passphrase` (new salt); no row is re-encrypted.

    Atomic: the header's salt, KDF parameters and wrapped key change in one transaction,
    so the vault opens with the old passphrase or the new one, never neither.
    """
    if not new_passphrase:
        raise UsageError("the new passphrase is empty")
    started = time.time()
    with Vault.open(vault_path, passphrase) as vault:
        params = vault.rewrap(new_passphrase, kdf, audit=lambda db: _log_run(db, "rekey", started))
    return RekeyResult(params)


# ---------------------------------------------------------------------------- verify


@dataclass(frozen=True, slots=True)
class VerifyResult:
    schema_version: int
    kdf: KdfParams
    components: int
    entities: int
    documents: int
    retired: int
    runs: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(vault_path: Path, passphrase: str) -> VerifyResult:
    """Check the whole vault, reading only: header, key, every sealed cell, every index.

    Opening checks the header (format, schema version, Argon2id parameters at least
    OWASP's minimum) and the key (the data key must unwrap). Then every sealed column of
    every row must decrypt under its own table, column and row, every blind index must be
    the keyed hash of what its row decrypts to, and the unique indexes must hold. A wrong
    key or a foreign file raises; damaged rows are listed in `problems` (no content).
    """
    from twophase.assignment.mapping import comparable

    try:
        vault = Vault.open(vault_path, passphrase)
    except WrongPassphrase as exc:
        raise WrongPassphrase(
            "wrong passphrase for this vault (or its header's salt, KDF parameters, theme "
            "or wrapped key were altered)"
        ) from exc
    with vault:
        keys = vault.keys
        problems: list[str] = []

        def check(label: str, fn: Callable[[], T]) -> T | None:
            try:
                return fn()
            except TwophaseError as exc:
                problems.append(str(exc) if str(exc).startswith("vault row") else f"{label}: {exc}")
            except Exception as exc:
                problems.append(f"{label}: {reason_of(exc)}")
            return None

        integrity = [str(r[0]) for r in vault.rows("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            problems.append(f"SQLite integrity check failed ({len(integrity)} findings)")
        problems += _duplicates(vault)

        components = list(
            vault.rows(
                "SELECT id, type, kind, real_blind, pseudo_blind, real, pseudo FROM components"
            )
        )
        pseudo_blinds: set[tuple[str, bytes]] = set()
        for cid, ctype, kind, real_blind, pseudo_blind, real, pseudo in components:
            label = f"vault row components#{cid}"
            pseudo_blinds.add((ctype, bytes(pseudo_blind)))
            if kind not in ("given", "family", "whole"):
                problems.append(f"{label}: unknown kind")
            plain = check(label, partial(keys.open, "components", "real", int(cid), real))
            if plain is not None and keys.blind(ctype, plain.decode()) != bytes(real_blind):
                problems.append(f"{label}: real_blind is not the index of its name")
            fake = check(label, partial(keys.open, "components", "pseudo", int(cid), pseudo))
            if fake is not None:
                want = keys.blind(ctype, comparable(ctype, fake.decode()))
                if want != bytes(pseudo_blind):
                    problems.append(f"{label}: pseudo_blind is not the index of its pseudonym")

        entity_ids: set[int] = set()
        entities = list(vault.rows("SELECT id, type, blind, link, record FROM entities"))
        for eid, etype, blind, link, sealed in entities:
            label = f"vault row entities#{eid}"
            entity_ids.add(int(eid))
            record = check(label, partial(_entity_record, vault, int(eid), sealed))
            if record is None:
                continue
            key = str(record["key"])
            if keys.blind(f"{etype}/entity", key) != bytes(blind):
                problems.append(f"{label}: blind is not the index of its entity")
            if link is not None and bytes(link) != keys.blind("PERSON", key.partition("|")[0]):
                problems.append(f"{label}: link is not the index of its family name")

        documents = list(vault.rows("SELECT id, blind, variant, record FROM documents"))
        for row, blind, variant, sealed in documents:
            label = f"vault row documents#{row}"
            doc = check(label, partial(_doc_record, vault, int(row), sealed))
            if doc is None:
                continue
            if keys.blind("document", doc.output_sha256) != bytes(blind):
                problems.append(f"{label}: blind is not the index of its output hash")
            if doc.source_sha256 and _variant(vault, doc.output_sha256, doc.source_sha256) != bytes(
                variant
            ):
                problems.append(f"{label}: variant is not the index of its hashes")
            if any(r[2] not in entity_ids for r in doc.replacements):
                problems.append(f"{label}: refers to an entity the vault does not hold")

        retired = list(vault.rows("SELECT type, pseudo_blind FROM retired"))
        if any((t, bytes(b)) in pseudo_blinds for t, b in retired):
            problems.append("a retired pseudonym is in use again")

        runs = list(vault.rows("SELECT id, record FROM runs"))
        for run_id, text in runs:
            try:
                if not isinstance(json.loads(text), dict):
                    raise ValueError
            except (TypeError, ValueError):
                problems.append(f"audit record #{run_id} is not a JSON object")

        return VerifyResult(
            schema_version=int(vault.meta["schema_version"].decode()),
            kdf=KdfParams.from_json(vault.meta["kdf"].decode()),
            components=len(components),
            entities=len(entities),
            documents=len(documents),
            retired=len(retired),
            runs=len(runs),
            problems=problems,
        )


_UNIQUE = (
    ("components", "type, kind, real_blind"),
    ("components", "type, pseudo_blind"),
    ("entities", "type, blind"),
    ("documents", "variant"),
)


def _duplicates(vault: Vault) -> list[str]:
    """Unique indexes, checked on the rows: a file edited outside SQLite may lack them."""
    problems = []
    for table, columns in _UNIQUE:
        sql = f"SELECT count(*) FROM (SELECT 1 FROM {table} GROUP BY {columns} HAVING count(*) > 1)"
        (dupes,) = next(vault.rows(sql))
        if dupes:
            problems.append(f"{table}: {dupes} duplicated ({columns})")
    return problems


# ------------------------------------------------------------------------ audit log


def _log_run(db: Any, command: str, started: float, **counts: object) -> None:
    """Append one audit record: when, what, how many, which version. Never a name."""
    record = {
        "command": command,
        "started": _iso(started),
        "ended": _iso(time.time()),
        "tool_version": version("twophase"),
        **counts,
    }
    db.execute("INSERT INTO runs(record) VALUES (?)", (json.dumps(record, sort_keys=True),))


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def _list_hash(items: Iterable[tuple[str, str]]) -> str:
    """A hash of the batch's document list: tells runs apart without naming a document."""
    digest = hashlib.sha256()
    for name, sha in sorted(items):
        digest.update(f"{name}\0{sha}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
