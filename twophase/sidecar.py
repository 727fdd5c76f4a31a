"""The on-disk contract between phases: the batch manifest, sidecars and the render plan.

All are msgpack with a schema tag checked on read; a file of another schema, a truncated
file or a foreign file raises SidecarMismatch rather than being half-understood.
Invariant: detect writes the manifest and sidecars, assign reads them and writes the plan,
render reads the plan; nothing flows back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import msgpack

from twophase.corpus import Source
from twophase.errors import SidecarMismatch
from twophase.files import private_dir, write_atomic
from twophase.spans import Span

MANIFEST_SCHEMA = "twophase.manifest/1"
SIDECAR_SCHEMA = "twophase.sidecar/2"
PLAN_SCHEMA = "twophase.plan/2"


@dataclass(frozen=True, slots=True)
class Sidecar:
    """What detect found in one document, pinned to its exact bytes and detector."""

    document: str
    sha256: str
    detector: str
    spans: tuple[Span, ...]
    # Distinct tokens with a capital or a digit (twophase.words.vocabulary): assign only
    # plans surface variants whose tokens occur in the batch.
    words: tuple[str, ...] = ()
    # Entries of the user's allow list found in this document: never propagated.
    allow: tuple[str, ...] = ()


SpanRow = tuple[int, int, str, str]  # a Span's fields, in order


@dataclass(frozen=True, slots=True)
class SidecarRows:
    """A `Sidecar` whose spans are plain (start, end, label, text) tuples: assign reads
    millions of spans only to count them and plan their replacements, and a frozen `Span`
    costs twice its tuple to build (docs/performance.md)."""

    document: str
    sha256: str
    detector: str
    spans: tuple[SpanRow, ...]
    words: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()


class Replacement(NamedTuple):
    """One edit of the plan: text[start:end] becomes `text`, for vault entity `entity`.

    A named tuple: a plain (start, end, text, entity) row, as render's workers receive
    them, becomes one without a copy of its fields.
    """

    start: int
    end: int
    text: str
    entity: int


@dataclass(frozen=True, slots=True)
class DocumentPlan:
    document: str
    sha256: str
    replacements: tuple[Replacement, ...]


class Variant(NamedTuple):
    """A known surface, replaced wherever it stands as a whole word and nothing planned is.

    `text` is its rendering, `entity` the vault entity, `label` the entity's type. A named
    tuple, so that a plain (surface, text, entity, label) row, as render reads millions of
    them, is one too.
    """

    surface: str
    text: str
    entity: int
    label: str


@dataclass(frozen=True, slots=True)
class Plan:
    vault_id: str
    documents: tuple[DocumentPlan, ...]
    variants: tuple[Variant, ...] = ()  # sorted by surface, surfaces unique


def _pack(obj: Any) -> bytes:
    data: bytes = msgpack.packb(obj, use_bin_type=True)
    return data


def _unpack(path: Path, schema: str) -> dict[str, Any]:
    try:
        obj = msgpack.unpackb(path.read_bytes(), raw=False, strict_map_key=True)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise SidecarMismatch(f"{path}: unreadable or truncated") from exc
    if not isinstance(obj, dict) or obj.get("schema") != schema:
        found = obj.get("schema") if isinstance(obj, dict) else None
        raise SidecarMismatch(f"{path}: expected schema {schema}, found {found!r}")
    return obj


def sidecar_path(workdir: Path, rel: str) -> Path:
    """Sidecars are named by a hash of the document name: any name, no nesting issues."""
    digest = hashlib.sha256(rel.encode("utf-8", "surrogatepass")).hexdigest()
    return workdir / "sidecars" / digest[:2] / f"{digest}.msgpack"


def write_sidecar(workdir: Path, sidecar: Sidecar) -> None:
    path = sidecar_path(workdir, sidecar.document)
    private_dir(path.parent)
    spans = [[s.start, s.end, s.label, s.text] for s in sidecar.spans]
    write_atomic(
        path,
        _pack(
            {
                "schema": SIDECAR_SCHEMA,
                "document": sidecar.document,
                "sha256": sidecar.sha256,
                "detector": sidecar.detector,
                "spans": spans,
                "words": list(sidecar.words),
                "allow": list(sidecar.allow),
            }
        ),
    )


def read_sidecar(workdir: Path, rel: str) -> Sidecar:
    return _with_spans(read_sidecar_rows(workdir, rel))


def _with_spans(rows: SidecarRows) -> Sidecar:
    spans = tuple(Span(a, b, c, d) for a, b, c, d in rows.spans)
    return Sidecar(rows.document, rows.sha256, rows.detector, spans, rows.words, rows.allow)


def read_sidecar_rows(workdir: Path, rel: str) -> SidecarRows:
    """`read_sidecar`, the spans left as tuples: the same checks and conversions."""
    path = sidecar_path(workdir, rel)
    obj = _unpack(path, SIDECAR_SCHEMA)
    try:
        spans = tuple([(int(a), int(b), str(c), str(d)) for a, b, c, d in obj["spans"]])
        sidecar = SidecarRows(
            str(obj["document"]),
            str(obj["sha256"]),
            str(obj["detector"]),
            spans,
            tuple([str(w) for w in obj["words"]]),
            tuple([str(a) for a in obj["allow"]]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SidecarMismatch(f"{path}: malformed sidecar") from exc
    if sidecar.document != rel:
        raise SidecarMismatch(f"{path}: sidecar of another document")
    return sidecar


def write_manifest(workdir: Path, sources: list[Source]) -> None:
    rows = [[s.rel, s.root, s.path] for s in sources]
    write_atomic(workdir / "manifest.msgpack", _pack({"schema": MANIFEST_SCHEMA, "sources": rows}))


def read_manifest(workdir: Path) -> list[Source]:
    path = workdir / "manifest.msgpack"
    if not path.exists():
        raise SidecarMismatch(f"{workdir}: no batch here; run `twophase detect` first")
    obj = _unpack(path, MANIFEST_SCHEMA)
    try:
        return [Source(str(r), str(o), str(p)) for r, o, p in obj["sources"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise SidecarMismatch(f"{path}: malformed manifest") from exc


def pack_documents(documents: Iterable[DocumentPlan]) -> bytes:
    """The plan's `documents` entry, packed: what `write_plan` writes for them."""
    return pack_document_rows(
        (d.document, d.sha256, [(r.start, r.end, r.text, r.entity) for r in d.replacements])
        for d in documents
    )


ReplacementRow = tuple[int, int, str, int]  # a Replacement's fields, in order


def pack_document_rows(rows: Iterable[tuple[str, str, Iterable[ReplacementRow]]]) -> bytes:
    """`pack_documents` of (document, sha256, replacement rows): the same bytes, without a
    DocumentPlan and a Replacement object per row (assign plans millions of spans)."""
    return _pack([[document, sha, list(reps)] for document, sha, reps in rows])


def pack_variants(variants: Iterable[Variant]) -> bytes:
    """The plan's `variants` entry, packed: what `write_plan` writes for them."""
    return pack_variant_rows([(v.surface, v.text, v.entity, v.label) for v in variants])


VariantRow = tuple[str, str, int, str]  # a Variant's fields, in order


def pack_variant_rows(rows: list[VariantRow]) -> bytes:
    """`pack_variants` of (surface, text, entity, label) rows: the same bytes (msgpack
    packs a tuple as it packs a list)."""
    return _pack(rows)


def write_plan(workdir: Path, plan: Plan) -> None:
    write_packed_plan(
        workdir, plan.vault_id, pack_documents(plan.documents), pack_variants(plan.variants)
    )


def write_packed_plan(workdir: Path, vault_id: str, documents: bytes, variants: bytes) -> None:
    """`write_plan` of a plan whose entries were packed already (`pack_documents`,
    `pack_variants`): assign packs them in the process that built them."""
    # A msgpack map is its header, then each key and value packed in turn: the same bytes
    # as packing the whole dict at once.
    packer = msgpack.Packer(use_bin_type=True)
    parts = [
        packer.pack_map_header(4),
        packer.pack("schema"),
        packer.pack(PLAN_SCHEMA),
        packer.pack("vault"),
        packer.pack(vault_id),
        packer.pack("documents"),
        documents,
        packer.pack("variants"),
        variants,
    ]
    write_atomic(workdir / "plan.msgpack", b"".join(parts))


def read_plan(workdir: Path) -> Plan:
    path = workdir / "plan.msgpack"
    obj = _plan_entries(path, ("vault", "documents", "variants"))
    try:
        documents = tuple(map(_document_plan, _document_rows(path, obj["documents"])))
        variants = tuple(Variant(*row) for row in _variant_rows(path, obj["variants"]))
        return Plan(_vault_id(path, obj), documents, variants)
    except KeyError as exc:
        raise SidecarMismatch(f"{path}: malformed plan") from exc


DocumentRow = tuple[str, str, tuple[ReplacementRow, ...]]  # a DocumentPlan's fields


def read_document_rows(workdir: Path) -> tuple[str, tuple[DocumentRow, ...]]:
    """The plan's vault id and documents as plain rows, without its variants: what render's
    parent hands out to its workers (millions of replacements at scale: as plain tuples they
    pickle ~4 times faster than as DocumentPlans of named tuples, and need no object made)."""
    path = workdir / "plan.msgpack"
    obj = _plan_entries(path, ("vault", "documents"))
    try:
        return _vault_id(path, obj), _document_rows(path, obj["documents"])
    except KeyError as exc:
        raise SidecarMismatch(f"{path}: malformed plan") from exc


def _document_plan(row: DocumentRow) -> DocumentPlan:
    document, sha256, replacements = row
    return DocumentPlan(document, sha256, tuple(map(Replacement._make, replacements)))


def _document_rows(path: Path, rows: Any) -> tuple[DocumentRow, ...]:
    # Types checked in one pass, as for the variants (below).
    if not isinstance(rows, tuple) or not all(
        type(row) is tuple
        and len(row) == 3
        and type(row[0]) is str
        and type(row[1]) is str
        and type(row[2]) is tuple
        and all(
            type(r) is tuple
            and len(r) == 4
            and type(r[0]) is int
            and type(r[1]) is int
            and type(r[2]) is str
            and type(r[3]) is int
            for r in row[2]
        )
        for row in rows
    ):
        raise SidecarMismatch(f"{path}: malformed plan")
    return rows


def _vault_id(path: Path, entries: dict[str, Any]) -> str:
    vault = entries.get("vault")
    if not isinstance(vault, str):
        raise SidecarMismatch(f"{path}: malformed plan")
    return vault


def read_plan_vault(workdir: Path) -> str:
    """The id of the vault the plan was made with, read without the rest of the plan."""
    path = workdir / "plan.msgpack"
    return _vault_id(path, _plan_entries(path, ("vault",)))


def read_variant_rows(workdir: Path) -> tuple[VariantRow, ...]:
    """The plan's variants as (surface, text, entity, label) rows, without its documents:
    what each render worker reads (~3 million rows at a million entities, where a
    `Variant` object each cost more than reading them)."""
    path = workdir / "plan.msgpack"
    try:
        return _variant_rows(path, _plan_entries(path, ("variants",))["variants"])
    except KeyError as exc:
        raise SidecarMismatch(f"{path}: malformed plan") from exc


def _variant_rows(path: Path, rows: Any) -> tuple[VariantRow, ...]:
    # Checked in one pass rather than converted field by field (3 against 7 s at 3.3 million).
    if not isinstance(rows, tuple) or not all(
        type(row) is tuple
        and len(row) == 4
        and type(row[0]) is str
        and type(row[1]) is str
        and type(row[2]) is int
        and type(row[3]) is str
        for row in rows
    ):
        raise SidecarMismatch(f"{path}: malformed plan")
    return rows


def _plan_entries(path: Path, wanted: tuple[str, ...]) -> dict[str, Any]:
    """The plan's top-level entries named in `wanted`, the others skipped unparsed, with its
    schema checked; arrays come back as tuples."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SidecarMismatch(f"{path.parent}: no plan here; run `twophase assign` first") from None
    found: dict[str, Any] = {}
    schema = None
    try:
        unpacker = msgpack.Unpacker(
            raw=False, use_list=False, strict_map_key=True, max_buffer_size=len(data)
        )
        unpacker.feed(data)
        for _ in range(unpacker.read_map_header()):
            key = unpacker.unpack()
            if key == "schema":
                schema = unpacker.unpack()
            elif key in wanted:
                found[key] = unpacker.unpack()
            else:
                unpacker.skip()
        trailing = unpacker.tell() != len(data)
    except Exception as exc:
        raise SidecarMismatch(f"{path}: unreadable or truncated") from exc
    if schema != PLAN_SCHEMA:
        raise SidecarMismatch(f"{path}: expected schema {PLAN_SCHEMA}, found {schema!r}")
    if trailing:
        raise SidecarMismatch(f"{path}: unreadable or truncated")
    return found


def iter_sidecars(workdir: Path, sources: list[Source]) -> Iterator[Sidecar | None]:
    """Each source's sidecar, or None where detect left none (the document failed)."""
    for rows in iter_sidecar_rows(workdir, sources):
        yield None if rows is None else _with_spans(rows)


def iter_sidecar_rows(workdir: Path, sources: list[Source]) -> Iterator[SidecarRows | None]:
    """`iter_sidecars`, each sidecar's spans as tuples (`read_sidecar_rows`)."""
    for source in sources:
        try:
            yield read_sidecar_rows(workdir, source.rel)
        except FileNotFoundError:
            yield None
