"""The key-holder's commands: reverse, forget, audit, rekey, verify (library and CLI).

Real parts: the small French model, real vaults in temp dirs, real subprocesses for the CLI.
Most tests run `run_all` in-process with one worker, so the model loads once per session.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import MODEL, PASSPHRASE, dead_pid, write_corpus
from tests.test_end_to_end import DOCS, tree, twophase
from tests.test_resolution import _MENTION, FAST
from twophase import keyholder
from twophase.errors import UsageError, VaultCorrupt, WrongPassphrase
from twophase.executors import LocalExecutor
from twophase.keyholder import rekeying, reversal
from twophase.run import run_all
from twophase.vault import Vault


def pseudonymize(corpus: Path, out: Path, vault: Path) -> None:
    result = run_all([corpus], out, vault, PASSPHRASE, model=MODEL, executor=LocalExecutor(1))
    assert not result.failures, result.failures


def mapping(vault: Path) -> dict[str, str]:
    return {e["original"]: e["pseudonym"] for e in keyholder.export(vault, PASSPHRASE)}


@pytest.fixture
def batch(tmp_path: Path) -> tuple[Path, Path, Path]:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    out, vault = tmp_path / "out", tmp_path / "v.db"
    pseudonymize(corpus, out, vault)
    return corpus, out, vault


# --------------------------------------------------------------------------- reverse

GIVEN = ["Marie", "Jean-Pierre", "Paul", "Sophie", "Élodie", "Marc", "Camille", "Hélène"]
FAMILY = ["Dubois", "Martin", "Lefebvre", "Bernard", "Fournier", "Rousseau", "Lefèvre"]
PLACES = ["Lyon", "Marseille", "Villeurbanne", "Nantes", "Saint-Étienne", "Besançon"]
ORGS = ["la société Renault", "l'association Les Amis du Rhône", "la mairie de Lyon"]
EMAILS = ["marie.dubois@exemple.fr", "contact@asso-rhone.fr"]
PHONES = ["06 39 98 12 34", "+33 6 39 98 45 67", "04 72 10 20 30"]
FILLER = [
    "Le budget est approuvé.",
    "La séance est levée à 18 h.",
    "Aucune décision n'est prise.",
    "Le dossier reste ouvert, voir l'annexe.",
    "",
]

person = st.one_of(
    st.builds(lambda g, f: f"{g} {f}", st.sampled_from(GIVEN), st.sampled_from(FAMILY)),
    st.builds(
        lambda t, f: f"{t} {f}", st.sampled_from(["Mme", "M.", "Me"]), st.sampled_from(FAMILY)
    ),
    st.builds(lambda f, g: f"{f.upper()} {g}", st.sampled_from(FAMILY), st.sampled_from(GIVEN)),
)
sentence = st.one_of(
    st.builds("{} a rencontré {} à {}.".format, person, person, st.sampled_from(PLACES)),
    st.builds("Réunion du {} mars à {}.".format, st.integers(1, 28), st.sampled_from(PLACES)),
    st.builds("Contact : {} ou {}.".format, st.sampled_from(EMAILS), st.sampled_from(PHONES)),
    st.builds("{} présente le budget de {}.".format, person, st.sampled_from(ORGS)),
    st.sampled_from(FILLER),
)
# Encodings the decoding policy meets in practice: each must come back byte for byte.
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "utf-16"]
document = st.builds(
    lambda lines, newline, encoding: (newline.join(lines) + newline).encode(encoding),
    st.lists(sentence, min_size=1, max_size=6),
    st.sampled_from(["\n", "\r\n"]),
    st.sampled_from(ENCODINGS),
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(document, min_size=1, max_size=12))
def test_reverse_of_render_is_the_original_bytes_for_every_document(docs: list[bytes]) -> None:
    """Property: reverse(render(x)) == x for every document of a generated batch."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        corpus = write_corpus(root / "corpus", {f"d{i:02}.txt": d for i, d in enumerate(docs)})
        result = run_all(
            [corpus],
            root / "out",
            root / "v.db",
            PASSPHRASE,
            model=MODEL,
            executor=LocalExecutor(1),
        )
        # Every pseudonym the generator can draw is cp1252 text (the name lists are), so
        # every document renders, in its own encoding.
        assert result.render.failures == []
        rendered = tree(root / "out")
        assert len(rendered) == len(docs)
        originals = tree(corpus)
        for rel, data in rendered.items():  # an address is always found (a pattern)
            written = (e.encode(c) for e in EMAILS for c in ("ascii", "utf-16-le", "utf-16-be"))
            if any(w in originals[rel] for w in written):
                assert data != originals[rel]
        back = keyholder.reverse([root / "out"], root / "back", root / "v.db", PASSPHRASE)
        assert back.failures == [] and back.reversed == len(rendered)
        assert tree(root / "back") == {rel: tree(corpus)[rel] for rel in rendered}


# Sentences around the mentions, with words that pseudonyms or propagation could touch.
_AROUND = st.sampled_from(
    [
        "Puis ",
        " parle.\n",
        " et ",
        "Le martin-pêcheur de Petit-Bourg, ",
        ", dit Martin ; ",
        "\r\n",
        " — À Lyon, ",
        "",
    ]
)


Mentioned = list[tuple[str, tuple[str, str]]]  # (text before, (surface, label)) ...


def _pseudonymize_known(
    root: Path, name: str, docs: list[Mentioned], vault: Path, encoding: str = "utf-8"
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """detect's part done by hand (the spans as given, no model), then assign and render
    with receipts for real: (originals, outputs) of the batch, outputs in root/name-out."""
    from twophase.assignment import assign
    from twophase.corpus import Source
    from twophase.files import sha256_hex
    from twophase.sidecar import Sidecar, write_manifest, write_sidecar
    from twophase.spans import Span
    from twophase.words import vocabulary

    corpus, work, out = root / name, root / f"{name}-work", root / f"{name}-out"
    corpus.mkdir()
    sources = []
    for i, doc in enumerate(docs):
        rel, text, spans = f"d{i}.txt", "", []
        for around, (surface, label) in doc:
            text += around
            spans.append(Span(len(text), len(text) + len(surface), label, surface))
            text += surface
        text += ".\n"
        data = text.encode(encoding)
        (corpus / rel).write_bytes(data)
        sources.append(Source(rel, str(corpus), str(corpus / rel)))
        write_sidecar(work, Sidecar(rel, sha256_hex(data), "test", tuple(spans), vocabulary(text)))
    write_manifest(work, sources)
    assign(work, vault, PASSPHRASE, kdf=FAST)
    result = keyholder.render_recorded(work, out, vault, PASSPHRASE, executor=LocalExecutor(1))
    assert result.failures == [] and result.rendered == len(docs)
    return tree(corpus), tree(out)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(st.tuples(_AROUND, _MENTION), min_size=1, max_size=6), min_size=1, max_size=4
    ),
    st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
)
def test_reverse_of_render_is_exact_over_many_batches_of_known_spans(
    docs: list[list[tuple[str, tuple[str, str]]]], encoding: str
) -> None:
    """Property: reverse(render(x)) == x, many batches a second: the spans are written as a
    detector would (no model), so assign, render with propagation, the receipts and
    reverse all run for real on every kind of entity."""
    with tempfile.TemporaryDirectory() as tmp:
        root, vault = Path(tmp), Path(tmp) / "v.db"
        originals, rendered = _pseudonymize_known(root, "batch", docs, vault, encoding)
        assert all(rendered[rel] != originals[rel] for rel in originals)  # each has a mention
        back = keyholder.reverse([root / "batch-out"], root / "back", vault, PASSPHRASE)
        assert back.failures == [] and back.reversed == len(docs)
        assert tree(root / "back") == originals


@pytest.mark.parametrize("batches", [1, 2])
def test_a_name_detect_found_only_in_part_is_replaced_whole(tmp_path: Path, batches: int) -> None:
    """Detect found "DUBOIS" alone in "MARIE DUBOIS" (the small model does): the known
    "MARIE DUBOIS", from this batch or from the vault, is replaced whole, "MARIE" too."""
    vault = tmp_path / "v.db"
    first: Mentioned = [("", ("Marie Dubois", "PERSON")), (" est venue", ("Lyon", "LOCATION"))]
    second: Mentioned = [("MARIE ", ("DUBOIS", "ORG"))]
    if batches == 1:
        _, out = _pseudonymize_known(tmp_path, "one", [first, second], vault)
        written = out["d1.txt"]
    else:
        _pseudonymize_known(tmp_path, "one", [first], vault)
        _, out = _pseudonymize_known(tmp_path, "two", [second], vault)
        written = out["d0.txt"]
    assert b"MARIE" not in written and b"DUBOIS" not in written, written
    back = keyholder.reverse([tmp_path / "one-out"], tmp_path / "back", vault, PASSPHRASE)
    assert back.failures == []


def test_reverse_is_exact_when_a_pseudonym_is_a_word_of_the_text(tmp_path: Path) -> None:
    first = write_corpus(tmp_path / "first", {"a.txt": "Marie Dubois habite à Lyon.\n"})
    vault = tmp_path / "v.db"
    pseudonymize(first, tmp_path / "out1", vault)
    given_, family = mapping(vault)["Marie Dubois"].split(" ", 1)
    # The second batch contains the pseudonyms as plain words, next to the real name.
    text = (
        f"Le mot {family.lower()} et le mot {given_.lower()} ne sont pas des noms ici.\n"
        f"Marie Dubois a écrit « {family} » sur la porte. {given_} {family} n'existe pas.\n"
    )
    second = write_corpus(tmp_path / "second", {"b.txt": text})
    pseudonymize(second, tmp_path / "out2", vault)
    assert mapping(vault)["Marie Dubois"] == f"{given_} {family}"
    result = keyholder.reverse([tmp_path / "out2"], tmp_path / "back", vault, PASSPHRASE)
    assert result.reversed == 1 and not result.failures
    assert (tmp_path / "back" / "b.txt").read_text() == text


def test_reverse_reports_unknown_documents_and_restores_the_rest(
    batch: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    corpus, out, vault = batch
    edited = out / "notes.md"
    edited.write_bytes(edited.read_bytes() + b"\n")
    (out / "stranger.txt").write_text("Rien à voir.\n")
    result = keyholder.reverse([out], tmp_path / "back", vault, PASSPHRASE)
    assert sorted(f.document for f in result.failures) == ["notes.md", "stranger.txt"]
    assert result.unknown == 2 and result.reversed == len(DOCS) - 1
    back = tree(tmp_path / "back")
    assert back == {rel: data for rel, data in tree(corpus).items() if rel != "notes.md"}


def test_reverse_refuses_to_write_into_its_input(batch: tuple[Path, Path, Path]) -> None:
    _, out, vault = batch
    with pytest.raises(UsageError):
        keyholder.reverse([out], out, vault, PASSPHRASE)


def test_reverse_stopped_midway_leaves_no_temporary_of_an_original(
    batch: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Originals are staged in batches before their flush: an interrupt takes the staged
    ones away with it, since a hidden temporary would hold re-identified text."""
    _, out, vault = batch
    real = reversal._reversed_bytes
    calls = []

    def interrupted(*args: Any) -> tuple[bytes, int]:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(reversal, "_reversed_bytes", interrupted)
    back = tmp_path / "back"
    with pytest.raises(KeyboardInterrupt):
        keyholder.reverse([out], back, vault, PASSPHRASE)
    assert len(calls) == 3 and [p for p in back.rglob("*") if p.is_file()] == []
    # A SIGKILL leaves what it staged; the next reverse into that folder sweeps it.
    rel = sorted(tree(out))[0]
    (back / rel).parent.mkdir(parents=True, exist_ok=True)
    killed = (back / rel).with_name(f".{Path(rel).name}.{dead_pid()}.tmp")
    killed.write_bytes(b"Marie Dubois")
    monkeypatch.setattr(reversal, "_reversed_bytes", real)
    keyholder.reverse([out], back, vault, PASSPHRASE)
    assert not killed.exists() and (back / rel).exists()


def test_rerun_records_receipts_once(batch: tuple[Path, Path, Path], tmp_path: Path) -> None:
    corpus, _, vault = batch
    pseudonymize(corpus, tmp_path / "again", vault)
    with Vault.open(vault, PASSPHRASE) as v:
        assert list(v.rows("SELECT count(*) FROM documents")) == [(len(DOCS),)]


def test_two_originals_rendering_to_the_same_bytes_are_both_kept(tmp_path: Path) -> None:
    """Same bytes out of two different originals: the document's name decides."""
    vault = tmp_path / "v.db"
    # "Dubois" and "DuBois" are one family name; mixed case is rendered as the pseudonym is.
    a = write_corpus(tmp_path / "a", {"x.txt": "Marie Dubois est là.\n"})
    b = write_corpus(tmp_path / "b", {"y.txt": "Marie DuBois est là.\n"})
    pseudonymize(a, tmp_path / "out", vault)
    pseudonymize(b, tmp_path / "out", vault)
    out = tree(tmp_path / "out")
    if out["x.txt"] != out["y.txt"]:
        pytest.skip("the detector rendered the two differently; nothing to disambiguate")
    result = keyholder.reverse([tmp_path / "out"], tmp_path / "back", vault, PASSPHRASE)
    assert not result.failures
    assert tree(tmp_path / "back") == {**tree(a), **tree(b)}


# ---------------------------------------------------------------------------- forget


def test_forget_leaves_the_person_pseudonymized_though_a_name_is_shared(
    batch: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, out, vault = batch
    before = mapping(vault)
    marie, marc = before["Marie Dubois"], before["Marc Dubois"]
    assert marie.split(" ", 1)[1] == marc.split(" ", 1)[1]  # the family name is shared
    result = keyholder.forget(vault, PASSPHRASE, ["DUBOIS Marie"])
    assert (result.entities, result.not_found) == (1, [])
    # "marie" goes (and is retired), "dubois" stays: Marc Dubois still uses it.
    assert (result.components_erased, result.components_kept) == (1, 1)
    after = mapping(vault)
    assert "Marie Dubois" not in after and after["Marc Dubois"] == marc
    keyholder.reverse([out], tmp_path / "back", vault, PASSPHRASE)
    back = (tmp_path / "back" / "reunions" / "cr-avril.txt").read_text()
    assert f"Appeler {marie} au" in back  # Marie Dubois stays pseudonymized...
    assert "Marc Dubois" in back  # ...though her family name comes back for Marc.
    assert "Marie Dubois" not in "".join(t.decode() for t in tree(tmp_path / "back").values())
    with Vault.open(vault, PASSPHRASE) as v:
        assert list(v.rows("SELECT count(*) FROM retired")) == [(1,)]
    assert keyholder.verify(vault, PASSPHRASE).ok


def test_forgotten_person_gets_a_new_pseudonym_later(
    batch: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    corpus, _, vault = batch
    old = mapping(vault)["Paul Lefebvre"]
    keyholder.forget(vault, PASSPHRASE, ["Paul Lefebvre"])
    pseudonymize(corpus, tmp_path / "again", vault)
    new = mapping(vault)["Paul Lefebvre"]
    assert new != old
    # Neither component's retired pseudonym is given out again.
    # Components, not words: a family pseudonym can have two ("Da Silva", "Da Costa").
    assert set(new.split(" ", 1)).isdisjoint(old.split(" ", 1))
    text = "".join(t.decode() for t in tree(tmp_path / "again").values())
    assert old not in text and new in text


def test_forget_reports_unknown_names_by_position_and_logs_no_name(
    batch: tuple[Path, Path, Path],
) -> None:
    _, _, vault = batch
    result = keyholder.forget(vault, PASSPHRASE, ["Nobody Here", "Jean-Pierre Martin"])
    assert result.not_found == [1] and result.entities == 1
    runs = keyholder.audit(vault)
    assert runs[-1].command == "forget"
    assert runs[-1].record["entities_forgotten"] == 1
    raw = json.dumps([r.record for r in runs])
    assert "Martin" not in raw and "Nobody" not in raw


def test_forget_reads_names_from_a_file_kept_out_of_the_command_line(
    batch: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """Names given as arguments show in `ps` and the shell's history; a file does not."""
    _, _, vault = batch
    names = tmp_path / "names.txt"
    names.write_text("Paul Lefebvre\n\nNobody Here\n")
    proc = twophase("forget", "--vault", vault, "--names-file", names, check=False)
    assert proc.returncode == 1, proc.stderr  # the second name is not in the vault
    assert "name #2" in proc.stderr and "1 entities erased" in proc.stderr
    assert "Nobody" not in proc.stderr and "Lefebvre" not in proc.stderr
    assert "Paul Lefebvre" not in mapping(vault)
    assert twophase("forget", "--vault", vault, check=False).returncode == 2  # no name at all


def test_forget_other_types_and_bad_type(batch: tuple[Path, Path, Path]) -> None:
    _, _, vault = batch
    result = keyholder.forget(vault, PASSPHRASE, ["MARIE.DUBOIS@exemple.fr"], type_="email")
    assert result.entities == 1
    assert "marie.dubois@exemple.fr" not in mapping(vault)
    with pytest.raises(UsageError):
        keyholder.forget(vault, PASSPHRASE, ["x"], type_="SHOE_SIZE")


def test_forget_erases_the_original_from_the_receipts(batch: tuple[Path, Path, Path]) -> None:
    _, _, vault = batch
    keyholder.forget(vault, PASSPHRASE, ["Jean-Pierre Martin"])
    with Vault.open(vault, PASSPHRASE) as v:
        for row, sealed in v.rows("SELECT id, record FROM documents"):
            plain = v.keys.open("documents", "record", int(row), sealed)
            originals = [r[3] for r in msgpack.unpackb(plain)["replacements"]]
            assert "Jean-Pierre Martin" not in originals


# ----------------------------------------------------------------------------- audit


def test_audit_lists_runs_with_counts_and_versions(batch: tuple[Path, Path, Path]) -> None:
    _, _, vault = batch
    (run,) = keyholder.audit(vault)
    record = run.as_json()
    assert record["command"] == "all"
    assert record["documents"] == len(DOCS) and record["rendered"] == len(DOCS)
    assert record["entities_new"] > 0 and record["failures"] == 0
    assert record["models"] and record["models"][0].startswith(f"{MODEL}==")
    assert record["started"] <= record["ended"] and len(record["input_hash"]) == 64
    assert record["tool_version"]
    text = json.dumps(record)
    assert not any(name in text for name in ("Dubois", "Lyon", "Renault", "notes"))


# ---------------------------------------------------------------------------- export


def test_export_streams_after_recording_itself(batch: tuple[Path, Path, Path]) -> None:
    """One entity decrypted at a time, once the audit record is committed: a damaged last
    row stops the export there, after every entity before it, not before the first."""
    _, _, vault = batch
    with sqlite3.connect(vault) as db:
        total, last = db.execute("SELECT count(*), max(id) FROM entities").fetchone()
        (blob,) = db.execute("SELECT record FROM entities WHERE id = ?", (last,)).fetchone()
        db.execute("UPDATE entities SET record = ? WHERE id = ?", (_flipped(blob), last))
    entities = keyholder.export(vault, PASSPHRASE)
    got = [next(entities)]
    # Read past the vault's lock, which the export holds until it ends.
    with sqlite3.connect(vault) as db:
        (text,) = db.execute("SELECT record FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    assert json.loads(text)["command"] == "export" and json.loads(text)["entities"] == total
    with pytest.raises(VaultCorrupt):
        got.extend(entities)
    assert len(got) == total - 1 and all(e["original"] for e in got)


# ----------------------------------------------------------------------------- rekey


def test_rekey_rewraps_without_touching_a_row(batch: tuple[Path, Path, Path]) -> None:
    _, _, vault = batch

    def rows() -> list[tuple[object, ...]]:
        with sqlite3.connect(vault) as db:
            return [
                *db.execute("SELECT * FROM components"),
                *db.execute("SELECT * FROM entities"),
                *db.execute("SELECT * FROM documents"),
            ]

    def header() -> dict[str, bytes]:
        with sqlite3.connect(vault) as db:
            return dict(db.execute("SELECT key, value FROM meta"))

    before, head = rows(), header()
    keyholder.rekey(vault, PASSPHRASE, "a brand new passphrase")
    assert rows() == before
    new = header()
    assert new["salt"] != head["salt"] and new["data_key"] != head["data_key"]
    with pytest.raises(WrongPassphrase):
        Vault.open(vault, PASSPHRASE)
    assert keyholder.verify(vault, "a brand new passphrase").ok
    assert keyholder.audit(vault)[-1].command == "rekey"


def test_rekey_is_all_or_nothing(
    batch: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, vault = batch
    before = vault.read_bytes()

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(rekeying, "log_run", crash)
    with pytest.raises(RuntimeError):
        keyholder.rekey(vault, PASSPHRASE, "new")
    assert vault.read_bytes() == before
    Vault.open(vault, PASSPHRASE).close()


# ---------------------------------------------------------------------------- verify


def test_verify_reports_counts_of_an_intact_vault(batch: tuple[Path, Path, Path]) -> None:
    _, _, vault = batch
    result = keyholder.verify(vault, PASSPHRASE)
    assert result.ok, result.problems
    assert result.entities > 0 and result.components > 0 and result.documents == len(DOCS)
    assert result.runs == 1 and result.schema_version == 1


def _forge_blind(db: sqlite3.Connection) -> None:
    # A blind index changed: every cell still decrypts, but the index lies.
    db.execute("UPDATE components SET real_blind = zeroblob(16) WHERE id = 1")


def _copy_record(db: sqlite3.Connection) -> None:
    db.execute(
        "UPDATE entities SET record = (SELECT record FROM entities WHERE id = 2) WHERE id = 1"
    )


def _flipped(blob: bytes) -> bytes:
    """A sealed cell with one bit of its ciphertext flipped."""
    return blob[:20] + bytes([blob[20] ^ 1]) + blob[21:]


def _flip_bit(db: sqlite3.Connection) -> None:
    (blob,) = db.execute("SELECT record FROM documents WHERE id = 1").fetchone()
    db.execute("UPDATE documents SET record = ? WHERE id = 1", (_flipped(blob),))


def _bad_audit(db: sqlite3.Connection) -> None:
    db.execute("INSERT INTO runs(record) VALUES ('not json')")


@pytest.mark.parametrize("tamper", [_forge_blind, _copy_record, _flip_bit, _bad_audit])
def test_verify_finds_tampered_rows(
    batch: tuple[Path, Path, Path], tamper: Callable[[sqlite3.Connection], None]
) -> None:
    _, _, vault = batch
    with sqlite3.connect(vault) as db:
        tamper(db)
    result = keyholder.verify(vault, PASSPHRASE)
    assert len(result.problems) == 1, result.problems
    assert "Dubois" not in result.problems[0]


def test_verify_refuses_a_foreign_file(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta(key TEXT, value BLOB)")
        db.execute("INSERT INTO meta VALUES ('format', 'something-else')")
    with pytest.raises(VaultCorrupt):
        keyholder.verify(path, PASSPHRASE)


# ------------------------------------------------------------------------------- CLI


def test_cli_keyholder_commands_end_to_end(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    out, vault = tmp_path / "out", tmp_path / "v.db"
    twophase("all", corpus, "--out", out, "--vault", vault, "--model", MODEL)
    twophase("reverse", out, "--out", tmp_path / "back", "--vault", vault)
    assert tree(tmp_path / "back") == tree(corpus)

    proc = twophase("forget", "--vault", vault, "Paul Lefebvre", "Personne Inconnue", check=False)
    assert proc.returncode == 1
    assert "name #2" in proc.stderr and "Inconnue" not in proc.stderr

    lines = [
        json.loads(x) for x in twophase("audit", "--vault", vault, "--json").stdout.split("\n") if x
    ]
    assert [x["command"] for x in lines] == ["all", "reverse", "forget"]
    table = twophase("audit", "--vault", vault).stdout
    assert "forget" in table and MODEL in table and "Lefebvre" not in table

    twophase("rekey", "--vault", vault, env={"TWOPHASE_NEW_PASSPHRASE": "new secret"})
    proc = twophase("verify", "--vault", vault, env={"TWOPHASE_PASSPHRASE": "new secret"})
    assert "intact" in proc.stderr
    with sqlite3.connect(vault) as db:
        db.execute(
            "UPDATE entities SET record = (SELECT record FROM entities WHERE id = "
            "(SELECT max(id) FROM entities)) WHERE id = (SELECT min(id) FROM entities)"
        )
    proc = twophase(
        "verify", "--vault", vault, env={"TWOPHASE_PASSPHRASE": "new secret"}, check=False
    )
    assert proc.returncode == 1 and "does not decrypt" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_three_commands_with_render_vault_can_be_reversed(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    work, vault = tmp_path / "work", tmp_path / "v.db"
    twophase("detect", corpus, "--workdir", work, "--model", MODEL)
    twophase("assign", "--workdir", work, "--vault", vault)
    proc = twophase("render", "--workdir", work, "--out", tmp_path / "plain")
    assert "reverse" in proc.stderr  # the note: these outputs are unknown to the vault
    proc = twophase(
        "reverse", tmp_path / "plain", "--out", tmp_path / "none", "--vault", vault, check=False
    )
    assert proc.returncode == 1 and "unknown" in proc.stderr
    twophase(
        "render", "--workdir", work, "--out", tmp_path / "out", "--vault", vault, "--workers", "2"
    )
    twophase("reverse", tmp_path / "out", "--out", tmp_path / "back", "--vault", vault)
    assert tree(tmp_path / "back") == tree(corpus)
    other = tmp_path / "other.db"
    Vault.open(other, PASSPHRASE, create=True).close()
    proc = twophase(
        "render", "--workdir", work, "--out", tmp_path / "x", "--vault", other, check=False
    )
    assert proc.returncode == 2 and "another vault" in proc.stderr
    assert not (tmp_path / "x").exists()
