"""The vault's security properties (issue 5), one test each, on real vaults and processes.

What is checked is what an attacker would look at: the bytes of the vault file, its
journal, the workdir and temp files; the header in clear; which process derives the key;
what a copied ciphertext, a wrong passphrase or a second concurrent run can do.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MODEL, PASSPHRASE, vault_held, write_corpus
from tests.test_end_to_end import DOCS, tree, twophase
from twophase import keyholder
from twophase.errors import VaultCorrupt, WrongPassphrase
from twophase.executors import LocalExecutor
from twophase.keyholder.records import entity_record
from twophase.run import run_all
from twophase.vault import Vault
from twophase.vault.crypto import MIN_ITERATIONS, MIN_MEMORY_KIB, derive_kek

# What must never be readable outside the outputs: names, their normal forms, identifiers.
SECRETS = [
    "Marie Dubois",
    "Dubois",
    "Jean-Pierre",
    "Martin",
    "Lefebvre",
    "Villeurbanne",
    "Marseille",
    "Renault",
    "marie.dubois@exemple.fr",
    "06 39 98 12 34",
    "+33639981234",
]


def leaks(data: bytes) -> list[str]:
    """The secrets found in `data`, in any case, as UTF-8 or UTF-16."""
    found = []
    for secret in SECRETS:
        for form in {secret, secret.lower(), secret.upper()}:
            if form.encode() in data or form.encode("utf-16-le") in data:
                found.append(form)
    return found


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@contextlib.contextmanager
def journal_snapshots(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[bytes, int]]]:
    """The vault's rollback journal (bytes, mode) as it is just before each commit."""
    seen: list[tuple[bytes, int]] = []
    original = Vault.transaction

    @contextlib.contextmanager
    def spying(self: Vault) -> Iterator[object]:
        with original(self) as db:
            yield db
            journal = self.path.with_name(self.path.name + "-journal")
            if journal.exists():
                seen.append((journal.read_bytes(), stat.S_IMODE(journal.stat().st_mode)))

    monkeypatch.setattr(Vault, "transaction", spying)
    yield seen


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TMPDIR pointed at a test folder, so whatever twophase leaves in temp can be read."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setattr(tempfile, "tempdir", None)  # tempfile caches the folder it chose
    return tmpdir


def test_no_original_is_readable_in_the_vault_its_journal_or_temp_files(
    tmp_path: Path, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    vault = tmp_path / "v.db"
    with journal_snapshots(monkeypatch) as journals:
        for name in ("a", "b"):  # the second run's journal holds pages the first wrote
            run_all(
                [corpus],
                tmp_path / name,
                vault,
                PASSPHRASE,
                model=MODEL,
                executor=LocalExecutor(2),
            )
        keyholder.reverse([tmp_path / "a"], tmp_path / "back", vault, PASSPHRASE)
        keyholder.forget(vault, PASSPHRASE, ["Marie Dubois"])
    assert tree(tmp_path / "back") == tree(corpus)  # the secrets were there to be found
    assert len(journals) >= 4
    assert all(mode == 0o600 for _, mode in journals)
    for data, _ in journals:
        assert leaks(data) == []
    assert leaks(vault.read_bytes()) == []
    assert sorted(p.name for p in tmp_path.glob("v.db*")) == ["v.db"]  # no -journal left
    # The temporary workdir of `all` is gone, and nothing else was left in TMPDIR.
    assert files_under(private_tmp) == {} and list(private_tmp.iterdir()) == []


def test_cli_messages_carry_no_name(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    out, vault = tmp_path / "out", tmp_path / "v.db"
    run_all([corpus], out, vault, PASSPHRASE, model=MODEL, executor=LocalExecutor(1))
    (out / "extra.txt").write_text("Marie Dubois, inconnue du coffre.\n")
    outputs = [
        twophase("reverse", out, "--out", tmp_path / "back", "--vault", vault, check=False),
        twophase("forget", "--vault", vault, "Marie Dubois", "Jean Inconnu", check=False),
        twophase("verify", "--vault", vault),
        twophase("audit", "--vault", vault),
        twophase("audit", "--vault", vault, "--json"),
    ]
    for proc in outputs:
        assert leaks(proc.stderr.encode()) == [], proc.stderr
        assert "Traceback" not in proc.stderr
    for proc in outputs[2:]:
        assert leaks(proc.stdout.encode()) == []


def test_the_audit_log_holds_no_checkable_digest_of_the_lists(tmp_path: Path) -> None:
    """A deny list is names; the audit log is read without the passphrase. Its plain digest
    there would let anyone confirm a guessed list, so the log keeps a keyed one."""
    from twophase.detection.lists import read_lists

    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Le dossier de Kervoliac est clos.\n"})
    deny = tmp_path / "deny.txt"
    deny.write_text("Kervoliac\n")
    vault = tmp_path / "v.db"
    for run in (1, 2):  # two runs with the same list: their records still compare equal
        twophase(
            "all",
            corpus,
            "--out",
            tmp_path / f"out{run}",
            "--vault",
            vault,
            "--deny",
            deny,
            "--model",
            MODEL,
            "--workers",
            "1",
        )
    plain = read_lists(None, deny).digest
    log = twophase("audit", "--vault", vault, "--json").stdout
    assert plain not in log
    runs = [json.loads(line) for line in log.splitlines()]
    keyed = [d for r in runs for d in r["detectors"]]
    assert len(keyed) == 2 and keyed[0] == keyed[1] and "|lists=keyed:" in keyed[0]


def test_argon2id_parameters_in_the_header_meet_the_owasp_minimum(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    Vault.open(path, PASSPHRASE, create=True).close()
    with sqlite3.connect(path) as db:  # read without the key: the header is in clear
        header = dict(db.execute("SELECT key, value FROM meta"))
    params = json.loads(header["kdf"])
    assert params["memory_kib"] >= 19 * 1024 and params["iterations"] >= 2
    assert MIN_MEMORY_KIB == 19 * 1024 and MIN_ITERATIONS == 2
    assert len(header["salt"]) >= 16
    # A header lowered below the minimum is refused, not obeyed.
    weak = json.dumps({"memory_kib": 8, "iterations": 1, "lanes": 1})
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'kdf'", (weak.encode(),))
    with pytest.raises(VaultCorrupt, match="below the minimum"):
        Vault.open(path, PASSPHRASE)


def test_key_is_derived_once_per_run_in_the_main_process_after_the_pool_forks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    log = tmp_path / "events.log"
    real_start = LocalExecutor.start

    def note(event: str) -> None:
        # A file, not a list: a call in a forked worker would not reach the parent's memory.
        with log.open("a") as handle:
            handle.write(f"{event} {os.getpid()}\n")

    def derive(*args: object, **kwargs: object) -> bytes:
        note("derive")
        return derive_kek(*args, **kwargs)  # type: ignore[arg-type]

    def start(self: LocalExecutor) -> None:
        if not self.started:  # map_unordered calls start() again on a running pool
            note("fork")
        real_start(self)

    monkeypatch.setattr("twophase.vault.store.derive_kek", derive)
    monkeypatch.setattr(LocalExecutor, "start", start)
    vault = tmp_path / "v.db"
    for run in ("new vault", "existing vault"):
        log.unlink(missing_ok=True)
        result = run_all(
            [corpus], tmp_path / run, vault, PASSPHRASE, model=MODEL, executor=LocalExecutor(2)
        )
        assert not result.failures
        events = log.read_text().split("\n")[:-1]
        assert events == [f"fork {os.getpid()}", f"derive {os.getpid()}"], run


def test_a_ciphertext_copied_to_another_row_or_column_fails(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    vault = tmp_path / "v.db"
    run_all([corpus], tmp_path / "out", vault, PASSPHRASE, model=MODEL, executor=LocalExecutor(1))
    with sqlite3.connect(vault) as db:
        (real,) = db.execute("SELECT real FROM components WHERE id = 1").fetchone()
        db.execute("UPDATE components SET real = ? WHERE id = 2", (real,))  # another row
        db.execute("UPDATE components SET pseudo = ? WHERE id = 1", (real,))  # another column
    problems = keyholder.verify(vault, PASSPHRASE).problems
    assert problems == [
        "vault row components#1 (pseudo) does not decrypt: tampered or damaged",
        "vault row components#2 (real) does not decrypt: tampered or damaged",
    ]
    proc = twophase("verify", "--vault", vault, check=False)
    assert proc.returncode == 1 and "components#2 (real)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_edited_header_theme_no_longer_unlocks(tmp_path: Path) -> None:
    """The theme steers pseudonym choice: bound to the wrapped key, it cannot be swapped."""
    path = tmp_path / "v.db"
    Vault.open(path, PASSPHRASE, create=True).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'theme'", (b"fictional",))
    with pytest.raises(WrongPassphrase):
        Vault.open(path, PASSPHRASE)
    proc = twophase("verify", "--vault", path, check=False)
    assert proc.returncode == 2 and "header" in proc.stderr


def test_wrong_passphrase_is_clear_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    out, vault, work = tmp_path / "out", tmp_path / "v.db", tmp_path / "work"
    run_all([corpus], out, vault, PASSPHRASE, workdir=work, model=MODEL, executor=LocalExecutor(1))
    before = vault.read_bytes()
    wrong = {"TWOPHASE_PASSPHRASE": "not it", "TWOPHASE_NEW_PASSPHRASE": "whatever"}
    commands = [
        ("reverse", out, "--out", tmp_path / "w1", "--vault", vault),
        ("render", "--workdir", work, "--out", tmp_path / "w2", "--vault", vault),
        ("assign", "--workdir", work, "--vault", vault),
        ("forget", "--vault", vault, "Marie Dubois"),
        ("rekey", "--vault", vault),
        ("verify", "--vault", vault),
        ("export", "--vault", vault),
    ]
    for command in commands:
        proc = twophase(*command, env=wrong, check=False)
        assert proc.returncode == 2, command
        assert "wrong passphrase" in proc.stderr and "Traceback" not in proc.stderr
        assert proc.stdout == ""
    assert vault.read_bytes() == before
    assert not (tmp_path / "w1").exists() and not (tmp_path / "w2").exists()
    assert sorted(p.name for p in tmp_path.glob("v.db*")) == ["v.db"]


def test_vault_is_0600_and_workdir_0700_even_with_an_open_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    out, vault, work = tmp_path / "out", tmp_path / "v.db", tmp_path / "work"
    old = os.umask(0)
    try:
        with journal_snapshots(monkeypatch) as journals:
            run_all(
                [corpus],
                out,
                vault,
                PASSPHRASE,
                workdir=work,
                model=MODEL,
                executor=LocalExecutor(1),
            )
            keyholder.reverse([out], tmp_path / "back" / "deep", vault, PASSPHRASE)
    finally:
        os.umask(old)
    assert stat.S_IMODE(vault.stat().st_mode) == 0o600
    assert journals and all(mode == 0o600 for _, mode in journals)
    assert stat.S_IMODE(work.stat().st_mode) == 0o700
    # Every file is owner-only; folders inside may follow the umask (files.private_dir
    # creates intermediate folders with mkdir's defaults), but none can be entered by
    # another user, since the workdir itself is 0700.
    inside = [p for p in work.rglob("*") if p.is_file()]
    assert inside and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in inside)
    # Re-identified documents are personal data again: owner-only too.
    back = tmp_path / "back"
    assert all(
        stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600)
        for p in [back, *back.rglob("*")]
    )


def test_a_second_run_waits_with_a_message_for_the_first(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    Vault.open(path, PASSPHRASE, create=True).close()
    with vault_held(path, 3.0):
        started = time.monotonic()
        proc = twophase("verify", "--vault", path)
        assert time.monotonic() - started > 1.0
        assert "waiting for another run" in proc.stderr and "intact" in proc.stderr


def test_concurrent_runs_on_one_new_vault_serialize_and_never_corrupt(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    vault = tmp_path / "v.db"  # does not exist yet: both runs race to create it
    env = {**os.environ, "TWOPHASE_PASSPHRASE": PASSPHRASE}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "twophase.cli",
                "all",
                str(corpus),
                "--out",
                str(tmp_path / f"out{i}"),
                "--vault",
                str(vault),
                "--model",
                MODEL,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    assert tree(tmp_path / "out0") == tree(tmp_path / "out1")
    result = keyholder.verify(vault, PASSPHRASE)
    assert result.ok, result.problems
    assert [r.command for r in keyholder.audit(vault)] == ["all", "all"]
    originals = [e["original"] for e in keyholder.export(vault, PASSPHRASE)]
    assert len(originals) == len(set(originals))


def test_forget_overwrites_the_erased_rows_in_the_file(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", DOCS)
    vault = tmp_path / "v.db"
    run_all([corpus], tmp_path / "out", vault, PASSPHRASE, model=MODEL, executor=LocalExecutor(1))
    with Vault.open(vault, PASSPHRASE) as v:
        sealed = [
            bytes(blob)
            for eid, blob in v.rows("SELECT id, record FROM entities")
            if entity_record(v, int(eid), blob)["original"] == "Paul Lefebvre"
        ]
    assert len(sealed) == 1
    keyholder.forget(vault, PASSPHRASE, ["Paul Lefebvre"])
    # secure_delete: not even the ciphertext stays behind in a free page.
    assert sealed[0] not in vault.read_bytes()


def test_synchronous_and_secure_delete_pragmas_are_in_force(tmp_path: Path) -> None:
    """Regression: the pragmas were sent as one script, and apsw never ran the last two."""
    with Vault.open(tmp_path / "v.db", PASSPHRASE, create=True) as vault:
        assert list(vault.rows("PRAGMA journal_mode")) == [("delete",)]
        assert list(vault.rows("PRAGMA synchronous")) == [(2,)]  # FULL
        assert list(vault.rows("PRAGMA secure_delete")) == [(1,)]
