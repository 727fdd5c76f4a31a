"""Phase 2: the one process that sees the whole batch.

It reads every sidecar, resolves mentions into entities, reuses what the vault knows,
chooses pseudonyms for the rest, and commits them with an audit record in one
transaction; then it writes the render plan. Invariant: the vault is changed here only,
all at once or not at all, and the same vault and batch always give the same plan.
"""

from __future__ import annotations

import gc
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path

import msgpack

from twophase.assignment import propagate
from twophase.assignment.forked import Forked
from twophase.assignment.mapping import Chooser, VaultIndex
from twophase.assignment.names import fold as loose_fold
from twophase.assignment.pseudonyms import Generator, check_theme
from twophase.assignment.resolve import (
    Component,
    EntityKey,
    Mention,
    Piece,
    Resolution,
    Resolved,
    render_piece,
    render_pieces,
    resolve,
)
from twophase.corpus import Failure
from twophase.sidecar import (
    SidecarRows,
    iter_sidecar_rows,
    pack_document_rows,
    pack_variant_rows,
    read_manifest,
    write_packed_plan,
)
from twophase.vault import KdfParams, Vault

__all__ = ["AssignResult", "assign", "assign_into"]


@dataclass(frozen=True, slots=True)
class AssignResult:
    documents: int
    mentions: int
    entities_new: int
    entities_reused: int
    components_new: int
    seconds: float
    failures: list[Failure] = field(default_factory=list)
    # Real names of this batch that earlier runs gave as pseudonyms to others (mapping.py).
    given_as_pseudonyms: int = 0


def assign(
    workdir: Path,
    vault_path: Path,
    passphrase: str,
    *,
    theme: str = "neutral",
    kdf: KdfParams | None = None,
) -> AssignResult:
    """Map every entity of the batch in `workdir` into the vault and write the plan."""
    check_theme(theme)
    with Vault.open(vault_path, passphrase, create=True, theme=theme, kdf=kdf) as vault:
        return assign_into(vault, workdir)


def assign_into(vault: Vault, workdir: Path, *, command: str = "assign") -> AssignResult:
    """`assign` on a vault the caller opened (and so derived the key for) already."""
    # Assign builds millions of long-lived tuples and no reference cycle worth collecting;
    # the cyclic collector would walk them all again and again (measured: a tenth or more
    # of a million-entity run). Counting still frees everything at the end.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _assign_into(vault, workdir, command)
    finally:
        if collecting:
            gc.enable()


def _assign_into(vault: Vault, workdir: Path, command: str) -> AssignResult:
    started_wall = time.time()
    started = time.perf_counter()
    sources = read_manifest(workdir)
    sidecars = list(iter_sidecar_rows(workdir, sources))
    failures = [
        Failure(s.rel, "no sidecar: detect failed or was not run")
        for s, c in zip(sources, sidecars, strict=True)
        if c is None
    ]
    present = [c for c in sidecars if c is not None]
    # Spans counted as plain (label, text) tuples, hashed in C: a batch has millions.
    spans = Counter((label, text) for c in present for _, _, label, text in c.spans)
    mentions = [Mention(label, text) for label, text in spans]

    index = VaultIndex(vault)
    resolution = resolve(mentions, index)
    entity_ids, new_entities = _entity_ids(vault, index, resolution)
    variants = _variants(vault, index, resolution, entity_ids, present, spans)
    try:
        pseudonyms, component_rows, blinds = _choose(vault, index, resolution)
        # In the order the forked child iterates the same set: no component crosses.
        variants.send(msgpack.packb([pseudonyms[c] for c in resolution.components]))
        entity_rows = _entities(vault, index, resolution, pseudonyms, blinds, new_entities)
        result = AssignResult(
            documents=len(present),
            mentions=spans.total(),
            entities_new=len(entity_rows),
            entities_reused=len(resolution.displays) - len(entity_rows),
            components_new=len(component_rows),
            seconds=0.0,  # set once the plan is written
            failures=failures,
            given_as_pseudonyms=index.given_as_pseudonyms(blinds),
        )
        run = {
            "command": command,
            "started": _iso(started_wall),
            "ended": _iso(time.time()),
            "documents": result.documents,
            "mentions": result.mentions,
            "entities_new": result.entities_new,
            "entities_reused": result.entities_reused,
            "components_new": result.components_new,
            "given_as_pseudonyms": result.given_as_pseudonyms,
            "failures": len(failures),
            "tool_version": version("twophase"),
            "detectors": sorted({_audited(vault, c.detector) for c in present}),
            "input_hash": _input_hash(present),
        }
        with vault.transaction() as db:
            db.executemany("INSERT INTO components VALUES (?, ?, ?, ?, ?, ?, ?)", component_rows)
            db.executemany("INSERT INTO entities VALUES (?, ?, ?, ?, ?)", entity_rows)
            db.execute("INSERT INTO runs(record) VALUES (?)", (json.dumps(run, sort_keys=True),))
        # The replacements come from the child too: it renders every piece for the variants
        # already, and the parent, which chooses and seals, is the longer of the two.
        documents, packed_variants = variants.result()
    finally:
        variants.close()
    write_packed_plan(workdir, vault.vault_id, documents, packed_variants)
    # The whole step: the commit, the forked child and the plan write are a third of it.
    return replace(result, seconds=time.perf_counter() - started)


Row = tuple[object, ...]


def _choose(
    vault: Vault, index: VaultIndex, resolution: Resolution
) -> tuple[dict[Component, str], list[Row], dict[Component, bytes]]:
    """Pseudonyms of every component: decrypted if known, chosen and sealed if new; and
    the components' blind indexes."""
    pseudonyms: dict[Component, str] = {}
    new = []
    # One keyed hash per component, shared with the chooser (a million of them at scale).
    blinds = {comp: index.blind(comp.type, comp.normal) for comp in resolution.components}
    for comp, real_blind in blinds.items():
        if (comp.type, comp.kind, real_blind) in index.components:
            pseudonyms[comp] = index.pseudonym_of(comp)
        else:
            new.append((comp.type, comp.kind, real_blind, comp))
    # Keyed-hash order: independent of documents' order, and reveals nothing of the names.
    # (type, kind, blind) is unique, so the component itself is never compared.
    new.sort()
    chooser = Chooser(
        index,
        Generator(vault.theme, vault.keys.generator_secret),
        resolution.components,
        blinds,
    )
    first_id = vault.next_id("components")
    genders = resolution.genders
    reals: list[tuple[int, bytes]] = []
    pseudos: list[tuple[int, bytes]] = []
    pseudo_blinds: list[bytes] = []
    for cid, (_, _, _, comp) in enumerate(new, first_id):
        pseudo, pseudo_blind = chooser.choose(comp, genders.get(comp))
        pseudonyms[comp] = pseudo
        reals.append((cid, comp.normal.encode()))
        pseudos.append((cid, pseudo.encode()))
        pseudo_blinds.append(pseudo_blind)
    # Sealed once all are chosen: one read of the random source for all the nonces.
    seal_many = vault.keys.seal_many
    rows: list[Row] = [
        (cid, comp.type, comp.kind, real_blind, pseudo_blind, real, pseudo)
        for cid, (_, _, real_blind, comp), pseudo_blind, real, pseudo in zip(
            range(first_id, first_id + len(new)),
            new,
            pseudo_blinds,
            seal_many("components", "real", reals),
            seal_many("components", "pseudo", pseudos),
            strict=True,
        )
    ]
    return pseudonyms, rows, blinds


def _entity_ids(
    vault: Vault, index: VaultIndex, resolution: Resolution
) -> tuple[dict[EntityKey, int], list[tuple[EntityKey, bytes, int]]]:
    """Every entity's vault id, and (key, blind index, id) of the new ones: known before
    any pseudonym, so the forked variants step can start (ids break ties there)."""
    ids: dict[EntityKey, int] = {}
    new: list[tuple[EntityKey, bytes, int]] = []
    next_id = vault.next_id("entities")
    # Sorted as plain tuples: (type, blind) is unique, so the key itself is never compared.
    for type_, blind, key in sorted(
        [(key.type, index.entity_blind(key), key) for key in resolution.displays]
    ):
        known = index.entities.get((type_, blind))
        if known is not None:
            ids[key] = known
            continue
        new.append((key, blind, next_id))
        ids[key] = next_id
        next_id += 1
    return ids, new


def _entities(
    vault: Vault,
    index: VaultIndex,
    resolution: Resolution,
    pseudonyms: dict[Component, str],
    blinds: dict[Component, bytes],
    new: list[tuple[EntityKey, bytes, int]],
) -> list[Row]:
    """The sealed rows of the new entities."""
    records: list[tuple[int, bytes]] = []
    links: list[bytes | None] = []
    pack = msgpack.Packer().pack  # one packer for a million records, as packb would pack
    get = pseudonyms.__getitem__
    displays, mentions, entity_links = resolution.displays, resolution.mentions, resolution.links
    for key, _, eid in new:
        display = displays[key]
        pieces = mentions[display].pieces
        # The whole rendering is its pieces' renderings joined: each rendered once.
        texts = [render_piece(piece, get) for piece in pieces]
        whole = "".join(texts)
        record = {
            "key": key.key,
            "original": display.text,
            "pseudonym": whole,
            "components": [
                [source, text]
                for (_, source, comp), text in zip(pieces, texts, strict=True)
                if comp is not None
            ],
        }
        records.append((eid, pack(record)))
        link = entity_links.get(key)
        # The family component's blind index, computed already when it is in the batch.
        links.append((blinds.get(link) or index.blind("PERSON", link.normal)) if link else None)
    sealed = vault.keys.seal_many("entities", "record", records)
    return [
        (eid, key.type, blind, link_blind, record)
        for (key, blind, eid), link_blind, record in zip(new, links, sealed, strict=True)
    ]


# Below this many distinct mentions the variants are built in the vault process: a fork
# would cost more than it saves.
FORK_ABOVE = 20_000


def _variants(
    vault: Vault,
    index: VaultIndex,
    resolution: Resolution,
    entity_ids: dict[EntityKey, int],
    sidecars: list[SidecarRows],
    spans: Counter[tuple[str, str]],
) -> Forked[propagate.Forms]:
    """The plan's variants, packed: every known surface of the batch and the vault, for
    batch-wide propagation. Started in a forked child, which collects them, then is sent
    the batch components' pseudonyms (in `resolution.components` order) once chosen, and
    renders them.

    Costs one decryption of every vault entity not in this batch (assignment/propagate.py),
    done here, in the vault process, with the pseudonyms of their components.
    """
    vocabulary: frozenset[str] | None = None
    others: dict[Mention, Resolved] = {}
    other_ids: dict[Mention, int] = {}
    vault_pseudonyms: dict[Component, str] = {}
    if index.entities:  # else there is no vault entity to decrypt
        vocabulary = _vocabulary(sidecars)
        # Entities of this batch too: the vault knows forms this batch may only half show
        # ("MARIE DUBOIS" where detect found "DUBOIS" alone, Marie Dubois being known).
        others, other_ids = propagate.vault_mentions(vault, index, set(), vocabulary)
        for resolved in others.values():
            for _, _, comp in resolved.pieces:
                if comp is not None and comp not in vault_pseudonyms:
                    vault_pseudonyms[comp] = index.pseudonym_of(comp)

    def prepare() -> propagate.Forms:
        entity_of: dict[Mention, int] = {}
        weights: dict[int, int] = {}  # spans of each entity
        for mention, (key, _) in resolution.mentions.items():
            entity = entity_of[mention] = entity_ids[key]
            weights[entity] = weights.get(entity, 0) + spans[mention]
        allow = frozenset(loose_fold(a) for c in sidecars for a in c.allow)
        forms = propagate.Forms(vocabulary or _vocabulary(sidecars), allow)
        forms.add(resolution.mentions, entity_of, weights)
        forms.add(others, other_ids, {}, rank=propagate.VAULT)
        forms.sort()
        return forms

    def finish(forms: propagate.Forms, chosen: bytes) -> tuple[bytes, bytes]:
        known = dict(zip(resolution.components, msgpack.unpackb(chosen), strict=True))
        known.update(vault_pseudonyms)  # the same pseudonym when a component is in both
        # Each piece rendered once, for the variants and the replacements alike.
        rendered: dict[Piece, str] = {}
        variants = pack_variant_rows(forms.variant_rows(known.__getitem__, rendered))
        return _documents(resolution, known, entity_ids, sidecars, rendered), variants

    return Forked(prepare, finish, fork=len(resolution.mentions) >= FORK_ABOVE)


def _documents(
    resolution: Resolution,
    pseudonyms: dict[Component, str],
    entity_ids: dict[EntityKey, int],
    sidecars: list[SidecarRows],
    rendered: dict[Piece, str],
) -> bytes:
    """Each document's replacements, packed for the plan. `rendered`: pieces rendered
    already (a mention's rendering is its pieces' renderings joined)."""
    get = pseudonyms.__getitem__
    planned: dict[tuple[str, str], tuple[str, int]] = {}
    # Rendered once per distinct mention, not once per span: a batch repeats its names.
    for mention, (entity, pieces) in resolution.mentions.items():
        planned[mention] = (render_pieces(pieces, get, rendered), entity_ids[entity])
    return pack_document_rows(
        (
            sidecar.document,
            sidecar.sha256,
            [
                (start, end, p[0], p[1])
                for start, end, label, text in sidecar.spans
                if (p := planned.get((label, text))) is not None
            ],
        )
        for sidecar in sidecars
    )


def _vocabulary(sidecars: list[SidecarRows]) -> frozenset[str]:
    return frozenset(w for c in sidecars for w in c.words)


def _audited(vault: Vault, detector: str) -> str:
    """The detector fingerprint as the audit log, readable without the passphrase, keeps it:
    the digest of the --allow/--deny lists is a plain hash of names a user wrote, against
    which a guessed list could be checked, so it is keyed there (runs still compare)."""
    head, sep, digest = detector.partition("|lists=")
    if not sep:
        return detector
    return f"{head}|lists=keyed:{vault.keys.blind('audit/lists', digest).hex()}"


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def _input_hash(sidecars: list[SidecarRows]) -> str:
    digest = hashlib.sha256()
    for sidecar in sorted(sidecars, key=lambda c: c.document):
        digest.update(f"{sidecar.document}\0{sidecar.sha256}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
