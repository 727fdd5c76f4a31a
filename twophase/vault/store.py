"""The vault file: an SQLite database (through apsw) holding the encrypted mapping.

Layout (docs/architecture.md has the full schema): a `meta` header in clear (format tag,
schema version, vault id, theme, Argon2id parameters and salt, the wrapped data key), then
tables whose personal columns are sealed with AEAD bound to table, column and row, and
looked up by keyed blind index. Invariant: the vault is changed only inside `transaction()`,
under an exclusive lock on the file, so a run is all or nothing and runs never interleave.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apsw

from twophase.errors import TwophaseError, VaultCorrupt, VaultLocked
from twophase.files import PRIVATE_FILE
from twophase.vault.crypto import KdfParams, Keys, derive_kek, unwrap, wrap

FORMAT = "twophase-vault"
SCHEMA_VERSION = 1
log = logging.getLogger("twophase")

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE components(
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    kind TEXT NOT NULL,
    real_blind BLOB NOT NULL,
    pseudo_blind BLOB NOT NULL,
    real BLOB NOT NULL,
    pseudo BLOB NOT NULL,
    UNIQUE(type, kind, real_blind),
    UNIQUE(type, pseudo_blind)
);
CREATE TABLE entities(
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    blind BLOB NOT NULL,
    link BLOB,
    record BLOB NOT NULL,
    UNIQUE(type, blind)
);
CREATE INDEX entities_link ON entities(link) WHERE link IS NOT NULL;
CREATE TABLE retired(type TEXT NOT NULL, pseudo_blind BLOB NOT NULL,
                     PRIMARY KEY(type, pseudo_blind));
CREATE TABLE documents(blind BLOB PRIMARY KEY, record BLOB NOT NULL);
CREATE TABLE runs(id INTEGER PRIMARY KEY, record TEXT NOT NULL);
"""


class Vault:
    """An open, unlocked, exclusively held vault."""

    def __init__(
        self, path: Path, db: apsw.Connection, keys: Keys, meta: dict[str, bytes], lock_fd: int
    ) -> None:
        self.path = path
        self.db = db
        self.keys = keys
        self.vault_id = meta["vault_id"].decode()
        self.theme = meta["theme"].decode()
        self._lock_fd = lock_fd

    # -- opening -----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path,
        passphrase: str,
        *,
        create: bool = False,
        theme: str = "neutral",
        kdf: KdfParams | None = None,
        lock_timeout: float = 300.0,
    ) -> Vault:
        """Open (or, with `create`, make) the vault at `path`, deriving its key once."""
        exists = path.exists() and path.stat().st_size > 0
        if not exists and not create:
            raise VaultCorrupt(f"no vault at {path}")
        if not exists:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        else:
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError as exc:
                raise VaultCorrupt(f"cannot open the vault {path}: {exc.strerror}") from exc
        try:
            _lock(fd, path, lock_timeout)
            try:
                db = apsw.Connection(str(path))
                db.setbusytimeout(int(lock_timeout * 1000))
                db.execute("PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;")
            except apsw.Error as exc:
                raise VaultCorrupt(
                    f"{path} is not a twophase vault ({type(exc).__name__})"
                ) from exc
            if not exists or _is_empty(db):
                meta = _create(db, passphrase, theme, kdf or KdfParams())
            else:
                meta = _read_meta(db, path)
            kek = derive_kek(passphrase, meta["salt"], KdfParams.from_json(meta["kdf"].decode()))
            keys = Keys(unwrap(kek, meta["data_key"], meta["vault_id"].decode()))
            return cls(path, db, keys, meta, fd)
        except BaseException:
            os.close(fd)  # also releases the lock
            raise

    def close(self) -> None:
        self.db.close()
        os.close(self._lock_fd)

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- changing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[apsw.Connection]:
        """The one way to change the vault: all of the block's writes, or none."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        try:
            self.db.execute("COMMIT")
        except apsw.Error as exc:
            self.db.execute("ROLLBACK")
            raise TwophaseError(
                f"the vault could not be written ({type(exc).__name__}); it is unchanged"
            ) from exc

    def rows(self, sql: str, *args: Any) -> Iterator[tuple[Any, ...]]:
        try:
            yield from self.db.execute(sql, args)
        except (apsw.CorruptError, apsw.NotADBError, apsw.SQLError) as exc:
            raise VaultCorrupt(f"{self.path}: damaged vault ({type(exc).__name__})") from exc

    def next_id(self, table: str) -> int:
        (value,) = next(self.rows(f"SELECT coalesce(max(id), 0) + 1 FROM {table}"))
        return int(value)


def _lock(fd: int, path: Path, timeout: float) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        log.warning("waiting for another run to release the vault %s", path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            continue
    raise VaultLocked(f"another run still holds the vault {path} after {timeout:.0f} s")


def _is_empty(db: apsw.Connection) -> bool:
    try:
        return not list(db.execute("SELECT name FROM sqlite_master LIMIT 1"))
    except apsw.Error:
        return False


def _create(db: apsw.Connection, passphrase: str, theme: str, kdf: KdfParams) -> dict[str, bytes]:
    vault_id = str(uuid.uuid4())
    salt = os.urandom(16)
    data_key = os.urandom(32)
    meta = {
        "format": FORMAT.encode(),
        "schema_version": str(SCHEMA_VERSION).encode(),
        "vault_id": vault_id.encode(),
        "theme": theme.encode(),
        "kdf": kdf.to_json().encode(),
        "salt": salt,
        "data_key": wrap(derive_kek(passphrase, salt, kdf), data_key, vault_id),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()).encode(),
    }
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(_SCHEMA)
        db.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return meta


def _read_meta(db: apsw.Connection, path: Path) -> dict[str, bytes]:
    try:
        rows = list(db.execute("SELECT key, value FROM meta"))
    except (apsw.NotADBError, apsw.CorruptError) as exc:
        raise VaultCorrupt(f"{path} is not a twophase vault (not a database)") from exc
    except apsw.SQLError as exc:
        raise VaultCorrupt(f"{path} is not a twophase vault (no header)") from exc
    meta = {
        str(k): bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for k, v in rows
    }
    if meta.get("format") != FORMAT.encode():
        raise VaultCorrupt(f"{path} is not a twophase vault")
    if meta.get("schema_version") != str(SCHEMA_VERSION).encode():
        raise VaultCorrupt(f"{path}: vault schema {meta.get('schema_version')!r} is not supported")
    missing = {"vault_id", "theme", "kdf", "salt", "data_key"} - meta.keys()
    if missing:
        raise VaultCorrupt(f"{path}: vault header incomplete ({', '.join(sorted(missing))})")
    return meta
