"""Issue 7: nothing lost under faults and bad input, each scenario on the real CLI."""

from __future__ import annotations

import contextlib
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import MODEL, PASSPHRASE, dead_pid, write_corpus
from tests.test_end_to_end import DOCS, copy, tree, twophase
from twophase.corpus import Source
from twophase.errors import SidecarMismatch
from twophase.files import private_dir, sha256_hex
from twophase.sidecar import (
    SIDECAR_SCHEMA,
    Sidecar,
    read_document_rows,
    read_plan,
    read_plan_vault,
    read_sidecar,
    read_sidecar_rows,
    read_variant_rows,
    sidecar_path,
    write_manifest,
    write_sidecar,
)
from twophase.spans import Span
from twophase.vault import Vault


def cli(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "twophase.cli", *map(str, args)]


ENV = {**os.environ, "TWOPHASE_PASSPHRASE": PASSPHRASE}


# ----------------------------------------------------------------- bad documents


def test_bad_documents_are_each_processed_or_reported(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("Secret de Marie Dubois.\n")
    corpus = write_corpus(
        tmp_path / "corpus",
        {
            **DOCS,
            "binaire.txt": bytes(range(256)) * 4,
            "nul.txt": b"Marie Dubois\x00 est l\x00",
            "invalide-utf8.txt": b"R\xe9union \xe0 Lyon avec Marie Dubois.\n",
            "utf16.txt": "\ufeffRéunion avec Marie Dubois à Lyon.\n".encode("utf-16"),
            "latin1.txt": "Réunion avec Marie Dubois à Lyon.\n".encode("latin-1"),
            "vide.txt": b"",
            "ligne longue.txt": ("Marie Dubois " + "x" * 2_000_000 + "\n").encode(),
            "accentué é/nom avec\nretour.txt": "Paul Lefebvre à Lyon.\n",
        },
    )
    (corpus / "lien-sortant.txt").symlink_to(outside)
    (corpus / "lien-cassé.txt").symlink_to(corpus / "absent.txt")
    (corpus / "boucle-a.txt").symlink_to(corpus / "boucle-b.txt")
    (corpus / "boucle-b.txt").symlink_to(corpus / "boucle-a.txt")
    os.mkfifo(corpus / "tube.txt")
    with open(os.fsencode(corpus) + b"/nom-\xff.txt", "wb") as handle:  # not UTF-8
        handle.write(b"Paul Lefebvre est venu.\n")
    proc = twophase(
        "all",
        corpus,
        "--out",
        tmp_path / "out",
        "--vault",
        tmp_path / "v.db",
        "--model",
        MODEL,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for word in ("Marie", "Dubois", "Secret", "Lyon"):
        assert word not in proc.stderr
    reported = {
        line.split(": ")[1] for line in proc.stderr.splitlines() if line.startswith("failed: ")
    }
    expected = {"binaire.txt", "nul.txt", "lien-sortant.txt", "lien-cassé.txt", "tube.txt"}
    assert expected | {"boucle-a.txt", "boucle-b.txt", "nom-\\xff.txt"} <= reported
    failed = [
        line.split(": ")[1] for line in proc.stderr.splitlines() if line.startswith("failed: ")
    ]
    assert len(failed) == len(set(failed))  # each document once, whichever phase missed it
    assert f"{len(failed)} document(s) failed" in proc.stderr
    out = tree(tmp_path / "out")
    for rel in (
        *DOCS,
        "invalide-utf8.txt",
        "utf16.txt",
        "latin1.txt",
        "vide.txt",
        "ligne longue.txt",
        "accentué é/nom avec\nretour.txt",
    ):
        assert rel in out, rel
        assert b"Dubois" not in out[rel] and "Dubois".encode("utf-16-le") not in out[rel]
    assert out["utf16.txt"].startswith(b"\xff\xfe")
    assert out["vide.txt"] == b""
    assert "lien-sortant.txt" not in out


@pytest.mark.slow
def test_a_50_mb_document_is_processed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    line = "Rapport de Marie Dubois, " + "x" * 974 + "\n"
    (corpus / "gros.txt").write_text(line * 50_000)
    twophase(
        "all",
        corpus,
        "--out",
        tmp_path / "out",
        "--vault",
        tmp_path / "v.db",
        "--model",
        MODEL,
        "--workers",
        "1",
    )
    out = (tmp_path / "out" / "gros.txt").read_bytes()
    assert b"Dubois" not in out and out.count(b"\n") == 50_000


# ------------------------------------------------------------------- crashes


def synthetic_batch(workdir: Path, people: int, seed: int = 7) -> None:
    """Sidecars for `people` distinct persons, so assign has real work to be killed in."""
    rng = random.Random(seed)
    private_dir(workdir)
    sources = []
    for d in range(people // 50):
        spans, pos = [], 0
        for _ in range(50):
            given = "".join(rng.choice("bcdlmnprstv") + rng.choice("aeiou") for _ in range(3))
            family = "".join(rng.choice("bcdlmnprstv") + rng.choice("aeiou") for _ in range(4))
            name = f"{given.capitalize()} {family.capitalize()}"
            spans.append(Span(pos, pos + len(name), "PERSON", name))
            pos += len(name) + 1
        rel = f"d{d:05d}.txt"
        write_sidecar(workdir, Sidecar(rel, "0" * 64, "synthetic", tuple(spans)))
        sources.append(Source(rel, "/nowhere", f"/nowhere/{rel}"))
    write_manifest(workdir, sources)


def vault_state(path: Path) -> tuple[int, int, int]:
    with Vault.open(path, PASSPHRASE) as vault:
        return tuple(  # type: ignore[return-value]
            next(vault.rows(f"SELECT count(*) FROM {t}"))[0]
            for t in ("components", "entities", "runs")
        )


def test_sigkill_during_assign_leaves_the_vault_unchanged_or_complete(tmp_path: Path) -> None:
    work = tmp_path / "work"
    synthetic_batch(work, 6000)
    empty = tmp_path / "empty.db"
    Vault.open(empty, PASSPHRASE, create=True).close()
    reference = copy(empty, "reference.db")
    subprocess.run(
        cli("assign", "--workdir", work, "--vault", reference),
        env=ENV,
        check=True,
        capture_output=True,
    )
    expected_plan = read_plan(work)
    full = vault_state(reference)
    victim = copy(empty, "victim.db")
    seen = set()
    for delay in (0.3, 0.8, 1.3, 2.0):
        proc = subprocess.Popen(
            cli("assign", "--workdir", work, "--vault", victim),
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = vault_state(victim)
        assert state[:2] in {(0, 0), full[:2]}, state
        seen.add(state[:2])
        if state[:2] == full[:2]:
            break
    assert (0, 0) in seen  # at least one kill landed before the commit
    subprocess.run(
        cli("assign", "--workdir", work, "--vault", victim),
        env=ENV,
        check=True,
        capture_output=True,
    )
    assert vault_state(victim)[:2] == full[:2]
    plan = read_plan(work)
    assert [d.replacements for d in plan.documents] == [
        d.replacements for d in expected_plan.documents
    ]


def _minutes(count: int) -> dict[str, str]:
    """`count` long meeting minutes, each its own document: detect takes seconds over them."""
    return {
        f"d{i:03d}.txt": DOCS["reunions/cr-mars.txt"] * 30 + f"Document {i}.\n"
        for i in range(count)
    }


def test_sigkill_during_detect_resumes_with_only_the_missing(tmp_path: Path) -> None:
    docs = _minutes(40)
    corpus = write_corpus(tmp_path / "corpus", docs)
    work = tmp_path / "work"
    proc = subprocess.Popen(
        cli("detect", corpus, "--workdir", work, "--model", MODEL, "--workers", "2"),
        env=ENV,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = list((work / "sidecars").rglob("*.msgpack")) if (work / "sidecars").exists() else []
        if len(done) >= 5:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list((work / "sidecars").rglob("*.msgpack")))
    assert 5 <= finished < 40
    for path in (work / "sidecars").rglob("*.msgpack"):
        assert path.stat().st_size > 0
    result = twophase("detect", corpus, "--workdir", work, "--model", MODEL)
    assert f"{40 - finished} detected, {finished} unchanged" in result.stderr
    for rel in docs:
        assert read_sidecar(work, rel).sha256 == sha256_hex(docs[rel].encode())


# ------------------------------------------------------- hostile sidecars and vaults


_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.text(max_size=8)
    | st.binary(max_size=8)
    | st.floats()
)


def _nested(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    # A named function: hypothesis misreads this lambda as ignoring its argument (warning).
    return st.lists(children, max_size=4) | st.dictionaries(
        st.text(max_size=8), children, max_size=4
    )


_any = st.recursive(_leaf, _nested, max_leaves=20)
# Near-valid files: the right schema tags and keys, with hostile values inside.
_near = st.fixed_dictionaries(
    {
        "schema": st.sampled_from(["twophase.sidecar/1", "twophase.plan/1", "twophase.plan/2"])
        | _leaf,
        "document": st.just("a.txt") | _leaf,
        "sha256": _leaf,
        "detector": _leaf,
        "vault": _leaf,
        "spans": st.lists(st.lists(_leaf, max_size=5) | _leaf, max_size=4) | _leaf,
        "documents": st.lists(st.lists(_any, max_size=4), max_size=3) | _leaf,
        "variants": st.lists(st.lists(_leaf, max_size=5) | _leaf, max_size=3) | _leaf,
    },
    optional={"propagate": _any},
)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300) | _any.map(msgpack.packb) | _near.map(msgpack.packb))
def test_sidecar_and_plan_readers_never_crash(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    """Any bytes give a readable result or SidecarMismatch, never another exception."""
    work = tmp_path_factory.mktemp("fuzz")
    path = sidecar_path(work, "a.txt")
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    (work / "plan.msgpack").write_bytes(data)
    readers = (
        lambda: read_sidecar(work, "a.txt"),
        lambda: read_sidecar_rows(work, "a.txt"),
        lambda: read_plan(work),
        lambda: read_document_rows(work),
        lambda: read_plan_vault(work),
        lambda: read_variant_rows(work),
    )
    for read in readers:
        with contextlib.suppress(SidecarMismatch):
            read()


@pytest.mark.parametrize("damage", ["truncate", "schema", "garbage"])
def test_damaged_sidecar_is_redetected_not_trusted(tmp_path: Path, damage: str) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    work = tmp_path / "work"
    twophase("detect", corpus, "--workdir", work, "--model", MODEL)
    path = sidecar_path(work, "notes.md")
    raw = path.read_bytes()
    path.write_bytes(
        {
            "truncate": raw[: len(raw) // 2],
            "schema": raw.replace(SIDECAR_SCHEMA.encode(), b"twophase.sidecar/9"),
            "garbage": os.urandom(200),
        }[damage]
    )
    result = twophase("detect", corpus, "--workdir", work, "--model", MODEL)
    assert "1 detected, 2 unchanged" in result.stderr
    assert read_sidecar(work, "notes.md").spans


def test_damaged_plan_is_refused_clearly(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    work = tmp_path / "work"
    twophase("detect", corpus, "--workdir", work, "--model", MODEL)
    twophase("assign", "--workdir", work, "--vault", tmp_path / "v.db")
    plan = work / "plan.msgpack"
    plan.write_bytes(plan.read_bytes()[:40])
    proc = twophase("render", "--workdir", work, "--out", tmp_path / "out", check=False)
    assert proc.returncode == 2 and "plan" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "content", [b"", b"not a database at all" * 40, b"SQLite format 3\x00" + bytes(4080)]
)
def test_foreign_vault_file_is_refused_and_untouched(tmp_path: Path, content: bytes) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    vault = tmp_path / "v.db"
    vault.write_bytes(content)
    proc = twophase(
        "all", corpus, "--out", tmp_path / "out", "--vault", vault, "--model", MODEL, check=False
    )
    if content:
        assert proc.returncode == 2 and "not a twophase vault" in proc.stderr, proc.stderr
        assert vault.read_bytes() == content
        assert not (tmp_path / "out").exists()
    else:  # an empty file is a new vault, as SQLite itself sees it
        assert proc.returncode == 0, proc.stderr


# ----------------------------------------------------------------- disk full


def _limit_file_size(limit: int):  # type: ignore[no-untyped-def]
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_disk_full_during_render_takes_no_partial_output(tmp_path: Path) -> None:
    docs = {**DOCS, "gros.txt": DOCS["notes.md"] + "Texte. " * 40_000}
    corpus = write_corpus(tmp_path / "corpus", docs)
    work, out = tmp_path / "work", tmp_path / "out"
    twophase("detect", corpus, "--workdir", work, "--model", MODEL)
    twophase("assign", "--workdir", work, "--vault", tmp_path / "v.db")
    proc = subprocess.run(
        cli("render", "--workdir", work, "--out", out),
        env=ENV,
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size(100_000),
    )
    assert proc.returncode == 1, proc.stderr
    assert "gros.txt" in proc.stderr and "Traceback" not in proc.stderr
    assert not (out / "gros.txt").exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    twophase("render", "--workdir", work, "--out", out)
    assert b"Lefebvre" not in (out / "gros.txt").read_bytes()


def test_disk_full_during_assign_leaves_the_vault_unchanged(tmp_path: Path) -> None:
    work = tmp_path / "work"
    synthetic_batch(work, 3000)
    vault = tmp_path / "v.db"
    Vault.open(vault, PASSPHRASE, create=True).close()
    before = vault.read_bytes()
    limit = len(before) + 64 * 1024
    proc = subprocess.run(
        cli("assign", "--workdir", work, "--vault", vault),
        env=ENV,
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size(limit),
    )
    assert proc.returncode == 2, proc.stderr
    assert "unchanged" in proc.stderr and "Traceback" not in proc.stderr
    assert vault_state(vault) == (0, 0, 0)
    assert not (work / "plan.msgpack").exists()


def test_disk_full_on_a_real_small_filesystem(tmp_path: Path) -> None:
    mnt = tmp_path / "small"
    mnt.mkdir()
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("cannot mount a tmpfs here; the RLIMIT_FSIZE tests cover disk full")
    try:
        docs = {**DOCS, "gros.txt": "Paul Lefebvre. " + "Texte. " * 60_000}
        corpus = write_corpus(tmp_path / "corpus", docs)
        work = tmp_path / "work"
        twophase("detect", corpus, "--workdir", work, "--model", MODEL)
        twophase("assign", "--workdir", work, "--vault", tmp_path / "v.db")
        proc = twophase("render", "--workdir", work, "--out", mnt / "out", check=False)
        assert proc.returncode == 1 and "gros.txt" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
        assert not (mnt / "out" / "gros.txt").exists()
        assert not [p for p in (mnt / "out").rglob("*") if p.name.endswith(".tmp")]
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


# ---------------------------------------------------------------- concurrency


def test_two_runs_at_once_are_serialized(tmp_path: Path) -> None:
    work_a, work_b = tmp_path / "a", tmp_path / "b"
    synthetic_batch(work_a, 3000, seed=1)
    synthetic_batch(work_b, 3000, seed=2)
    vault = tmp_path / "v.db"
    Vault.open(vault, PASSPHRASE, create=True).close()
    procs = [
        subprocess.Popen(
            cli("assign", "--workdir", w, "--vault", vault),
            env=ENV,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in (work_a, work_b)
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert any("waiting for another run" in e for e in errors)
    _, entities, runs = vault_state(vault)
    assert runs == 2 and entities == 6000


def test_workdir_left_by_a_crash_is_not_trusted_for_another_vault(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    work = tmp_path / "work"
    twophase("detect", corpus, "--workdir", work, "--model", MODEL)
    twophase("assign", "--workdir", work, "--vault", tmp_path / "one.db")
    out_one = tmp_path / "one"
    twophase("render", "--workdir", work, "--out", out_one)
    shutil.rmtree(out_one)
    twophase("assign", "--workdir", work, "--vault", tmp_path / "two.db")
    twophase("render", "--workdir", work, "--out", out_one)
    assert set(tree(out_one)) == set(DOCS)


def _detected_meetings(tmp_path: Path, count: int, lines: int) -> tuple[dict[str, str], Path]:
    """`count` minutes naming two persons, with sidecars as detect would write them (no
    model needed): the documents and the workdir."""
    corpus = tmp_path / "corpus"
    docs = {
        f"d{i:04d}.txt": f"Réunion {i} : Paul Lefebvre et Marie Dubois.\n" * lines
        for i in range(count)
    }
    write_corpus(corpus, docs)
    work = tmp_path / "work"
    private_dir(work)
    sources = []
    for rel, text in docs.items():
        spans = []
        for name in ("Paul Lefebvre", "Marie Dubois"):
            start = text.index(name)
            spans.append(Span(start, start + len(name), "PERSON", name))
        write_sidecar(work, Sidecar(rel, sha256_hex(text.encode()), "synthetic", tuple(spans)))
        sources.append(Source(rel, str(corpus), str(corpus / rel)))
    write_manifest(work, sources)
    return docs, work


def test_done_markers_are_one_per_batch_and_only_for_the_current_plan(tmp_path: Path) -> None:
    docs, work = _detected_meetings(tmp_path, 200, 2)
    out = tmp_path / "out"
    twophase("assign", "--workdir", work, "--vault", tmp_path / "v.db")
    twophase("render", "--workdir", work, "--out", out, "--workers", "1")
    markers = sorted((work / "rendered").iterdir())
    assert 0 < len(markers) <= len(docs) // 32  # batches of up to 64 documents
    inodes = {p.name: p.stat().st_ino for p in out.iterdir()}
    twophase("render", "--workdir", work, "--out", out, "--workers", "1")
    assert {p.name: p.stat().st_ino for p in out.iterdir()} == inodes  # nothing redone
    # A new plan: the old markers can serve no run again (and hold original surfaces).
    twophase("assign", "--workdir", work, "--vault", tmp_path / "other.db")
    twophase("render", "--workdir", work, "--out", out, "--workers", "1")
    assert not set(markers) & set((work / "rendered").iterdir())


def test_sigkill_during_render_resumes_with_only_the_missing(tmp_path: Path) -> None:
    docs, work = _detected_meetings(tmp_path, 1500, 200)
    twophase("assign", "--workdir", work, "--vault", tmp_path / "v.db")
    reference = tmp_path / "reference"
    twophase("render", "--workdir", work, "--out", reference, "--workers", "1")
    shutil.rmtree(work / "rendered")  # the reference run's done-markers name another --out

    out = tmp_path / "out"
    proc = subprocess.Popen(
        cli("render", "--workdir", work, "--out", out, "--workers", "1"),
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(out.glob("d*.txt"))) < 200:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_ino for p in out.glob("d*.txt")}
    assert 200 <= len(before) < len(docs)
    assert all(not p.name.endswith(".tmp") or p.name.startswith(".") for p in out.iterdir())
    twophase("render", "--workdir", work, "--out", out, "--workers", "1")
    # A kill mid-write may leave hidden temporaries, never a final name; the resumed run
    # sweeps them away, so the tree is exactly the reference, hidden files included.
    assert tree(out) == tree(reference)
    after = {p.name: p.stat().st_ino for p in out.glob("d*.txt")}
    kept = sum(after[name] == inode for name, inode in before.items())
    assert kept >= len(before) - 1  # at most the one being written at the kill is redone


def test_only_temporaries_of_dead_writers_and_known_names_are_swept(tmp_path: Path) -> None:
    from twophase.files import sweep_folder, sweep_temporaries

    pid = dead_pid()
    files = {
        f".a.txt.{pid}.tmp": True,  # ours, its writer gone: swept
        f".a.txt.{os.getpid()}.tmp": False,  # a live writer's
        f".b.txt.{pid}.tmp": False,  # a name this run does not write
        ".a.txt.tmp": False,  # the user's
        "a.txt": False,
    }
    for name in files:
        (tmp_path / name).write_text("x")
    assert sweep_temporaries([tmp_path / "a.txt", tmp_path / "missing" / "c.txt"]) == 1
    assert {p.name for p in tmp_path.iterdir()} == {n for n, swept in files.items() if not swept}
    # A folder only twophase writes (render's done-markers): any name, dead writers only.
    assert sweep_folder(tmp_path) == 1
    assert {p.name for p in tmp_path.iterdir()} == {
        f".a.txt.{os.getpid()}.tmp",
        ".a.txt.tmp",
        "a.txt",
    }


# ------------------------------------------------------------ interrupted, terminated


def _started(command: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """`twophase all` (temporary workdir) or `detect` (its own workdir) of 120 meeting
    minutes with 2 workers (~30 s of detection here), in a TMPDIR of its own, returned once
    a few documents are detected."""
    docs = _minutes(120)
    corpus = write_corpus(tmp_path / "corpus", docs)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    where = ["--out", tmp_path / "out", "--vault", tmp_path / "v.db"]
    if command == "detect":
        where = ["--workdir", tmp / "work"]
    proc = subprocess.Popen(
        cli(command, corpus, *where, "--model", MODEL, "--workers", "2"),
        env={**ENV, "TMPDIR": str(tmp)},
        start_new_session=True,  # its own process group, as a terminal's job
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(tmp.glob("*/sidecars/**/*.msgpack"))) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    return proc, tmp


@pytest.mark.parametrize(
    ("command", "signum", "whom", "status"),
    [
        ("all", signal.SIGINT, "group", 130),
        ("all", signal.SIGTERM, "parent", 143),
        ("detect", signal.SIGINT, "group", 130),
    ],
)
def test_an_interrupted_run_stops_its_workers_and_removes_its_temporary_workdir(
    tmp_path: Path, command: str, signum: int, whom: str, status: int
) -> None:
    """Ctrl-C (the terminal signals the whole group) or SIGTERM (a scheduler signals the
    parent): the run stops within seconds, no worker goes on detecting, and `all`'s
    temporary workdir, which holds every name of the batch, is gone."""
    proc, tmp = _started(command, tmp_path)
    if whom == "group":
        os.killpg(proc.pid, signum)
    else:
        os.kill(proc.pid, signum)
    try:  # well before the ~25 s of detection left: the workers must not go on
        _, stderr = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the run went on after the signal")
    assert proc.returncode == status, stderr
    assert b"interrupted" in stderr and b"Traceback" not in stderr
    assert [p.name for p in tmp.iterdir()] == (["work"] if command == "detect" else [])
    with pytest.raises(ProcessLookupError):  # no worker of the group survived the run
        os.killpg(proc.pid, 0)


def test_temporary_workdirs_of_dead_runs_are_swept_and_live_ones_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from twophase.files import sweep_temporary_workdirs, temporary_workdir

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / f"twophase-{dead_pid()}-abcd"
    live = tmp_path / f"twophase-{os.getpid()}-efgh"
    other = tmp_path / "twophase-quality-ijkl"  # not a run's workdir: never touched
    for folder in (dead, live, other):
        (folder / "sidecars").mkdir(parents=True)
        (folder / "sidecars" / "a.msgpack").write_bytes(b"Marie Dubois")
    assert sweep_temporary_workdirs() == 1
    assert not dead.exists() and live.exists() and other.exists()
    made = temporary_workdir()
    assert made.parent == tmp_path and made.name.startswith(f"twophase-{os.getpid()}-")


def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path: Path) -> None:
    """`twophase spans --workdir W | head -1`: no traceback, the SIGPIPE status."""
    work = tmp_path / "work"
    synthetic_batch(work, 3000)  # far more than a pipe holds
    proc = subprocess.Popen(
        cli("spans", "--workdir", work), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b'{"document"')
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 141, stderr
    assert stderr == b""


def test_an_internal_error_shows_its_class_not_its_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import twophase.sidecar
    from twophase.cli import main

    def broken(workdir: Path) -> list[Source]:
        raise KeyError("Marie Dubois")  # a bug whose message quotes a name

    monkeypatch.setattr(twophase.sidecar, "read_manifest", broken)
    assert main(["spans", "--workdir", str(tmp_path)]) == 4
    err = capsys.readouterr().err
    assert "internal error (KeyError)" in err and "Dubois" not in err
    monkeypatch.setenv("TWOPHASE_DEBUG", "1")  # the traceback, on request
    with pytest.raises(KeyError):
        main(["spans", "--workdir", str(tmp_path)])


def test_a_passphrase_file_that_is_not_utf8_is_refused_without_quoting_it(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "pass.txt"
    secret.write_bytes(b"mot de passe tr\xe8s long")
    proc = subprocess.run(
        cli("export", "--vault", tmp_path / "v.db", "--passphrase-file", secret),
        capture_output=True,
        env={k: v for k, v in ENV.items() if k != "TWOPHASE_PASSPHRASE"},
    )
    # No vault either: the passphrase is read first, and refused before anything else.
    assert proc.returncode == 2, proc.stderr
    assert b"not UTF-8" in proc.stderr
    assert b"\\xe8" not in proc.stderr and b"position" not in proc.stderr


def test_a_document_name_near_the_length_limit_is_processed(tmp_path: Path) -> None:
    """A 254-byte name is legal; its output's temporary (".NAME.PID.tmp") was not: render
    failed with "File name too long". Such temporaries are named after a hash now."""
    from twophase.files import _temporary_stem, sweep_temporaries

    name = "é" * 125 + ".txt"
    corpus = write_corpus(tmp_path / "in", {name: "Marie Dubois habite à Lyon.\n"})
    out = tmp_path / "out"
    twophase("all", corpus, "--out", out, "--vault", tmp_path / "v.db", "--model", MODEL)
    assert "Dubois" not in (out / name).read_text()
    stale = out / f".{_temporary_stem(name)}.{dead_pid()}.tmp"  # a killed writer's
    stale.write_bytes(b"")
    assert sweep_temporaries([out / name]) == 1 and not stale.exists()
