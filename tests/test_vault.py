from __future__ import annotations

import hashlib
import hmac
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import vault_held
from twophase.errors import VaultCorrupt, VaultLocked, WrongPassphrase
from twophase.vault import KdfParams, Vault
from twophase.vault.crypto import BLIND_BYTES, MIN_ITERATIONS, MIN_MEMORY_KIB, Keys

PASS = "correct horse battery staple"


def test_new_vault_is_private_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with Vault.open(path, PASS, create=True) as vault:
        vault_id = vault.vault_id
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with Vault.open(path, PASS) as vault:
        assert vault.vault_id == vault_id
        assert vault.theme == "neutral"


def test_wrong_passphrase_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    Vault.open(path, PASS, create=True).close()
    before = path.read_bytes()
    with pytest.raises(WrongPassphrase):
        Vault.open(path, "not the passphrase")
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "content", [b"hello, not a database" * 50, b"SQLite format 3\x00" + b"\xff" * 200]
)
def test_foreign_file_is_refused_and_left_alone(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "v.db"
    path.write_bytes(content)
    with pytest.raises(VaultCorrupt):
        Vault.open(path, PASS, create=True)
    assert path.read_bytes() == content


def test_missing_vault_is_not_created_without_asking(tmp_path: Path) -> None:
    with pytest.raises(VaultCorrupt):
        Vault.open(tmp_path / "absent.db", PASS)
    assert not (tmp_path / "absent.db").exists()


def test_kdf_parameters_are_stored_and_at_least_owasp_minimum(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with Vault.open(path, PASS, create=True) as vault:
        (raw,) = next(vault.rows("SELECT value FROM meta WHERE key = 'kdf'"))
    params = KdfParams.from_json(bytes(raw).decode())
    assert params.memory_kib >= MIN_MEMORY_KIB and params.iterations >= MIN_ITERATIONS
    assert params.memory_kib >= 19 * 1024 and params.iterations >= 2


def test_weak_kdf_in_header_is_refused(tmp_path: Path) -> None:
    with pytest.raises(VaultCorrupt):
        KdfParams.from_json('{"memory_kib": 1024, "iterations": 1, "lanes": 1}')


def test_ciphertext_moved_to_another_row_fails(tmp_path: Path) -> None:
    with Vault.open(tmp_path / "v.db", PASS, create=True) as vault:
        sealed = vault.keys.seal("components", "real", 1, b"dubois")
        assert vault.keys.open("components", "real", 1, sealed) == b"dubois"
        for table, column, row in [
            ("components", "real", 2),
            ("components", "pseudo", 1),
            ("entities", "real", 1),
        ]:
            with pytest.raises(VaultCorrupt):
                vault.keys.open(table, column, row, sealed)


def test_equal_plaintexts_give_different_ciphertexts(tmp_path: Path) -> None:
    with Vault.open(tmp_path / "v.db", PASS, create=True) as vault:
        assert vault.keys.seal("t", "c", 1, b"x") != vault.keys.seal("t", "c", 1, b"x")
        assert vault.keys.blind("PERSON", "dubois") == vault.keys.blind("PERSON", "dubois")
        assert vault.keys.blind("PERSON", "dubois") != vault.keys.blind("ORG", "dubois")


def test_failed_transaction_leaves_vault_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with Vault.open(path, PASS, create=True) as vault:
        with pytest.raises(RuntimeError), vault.transaction() as db:
            db.execute("INSERT INTO runs(record) VALUES ('{}')")
            raise RuntimeError("crash in the middle")
        assert list(vault.rows("SELECT count(*) FROM runs")) == [(0,)]


def test_second_run_waits_for_the_lock_then_times_out(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    Vault.open(path, PASS, create=True).close()
    with vault_held(path, 5.0), pytest.raises(VaultLocked):
        Vault.open(path, PASS, lock_timeout=0.5)
    Vault.open(path, PASS).close()  # released when the holder ended


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=5), st.text(max_size=300), st.binary(min_size=32, max_size=32))
def test_blind_index_is_plain_hmac_sha256(namespace: str, value: str, data_key: bytes) -> None:
    """Blind indexes reuse precomputed HMAC states for speed; existing vaults need the very
    same tokens as HMAC-SHA256 of the sub-key gives."""
    keys = Keys(data_key)
    message = namespace.encode() + b"\x1f" + value.encode("utf-8", "surrogatepass")
    expected = hmac.new(keys._blind, message, hashlib.sha256).digest()[:BLIND_BYTES]
    assert keys.blind(namespace, value) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 2**40), st.binary(max_size=200)), max_size=30))
def test_seal_many_seals_each_row_as_seal_does(rows: list[tuple[int, bytes]]) -> None:
    """One random read for all nonces: each still opens as its own row only, and no two
    nonces are equal."""
    keys = Keys(bytes(32))
    sealed = keys.seal_many("entities", "record", rows)
    assert len({s[:12] for s in sealed}) == len(sealed)
    for (row, plaintext), blob in zip(rows, sealed, strict=True):
        assert keys.open("entities", "record", row, blob) == plaintext
        with pytest.raises(VaultCorrupt):
            keys.open("entities", "record", row + 1, blob)
        with pytest.raises(VaultCorrupt):
            keys.open("components", "record", row, blob)
