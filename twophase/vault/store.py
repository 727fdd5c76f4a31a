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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw

from twophase.errors import TwophaseError, UsageError, VaultCorrupt, VaultLocked
from twophase.files import PRIVATE_FILE
from twophase.vault.crypto import KdfParams, Keys, derive_kek, unwrap, wrap

FORMAT = "twophase-vault"
SCHEMA_VERSION = 1
SALT_BYTES = 16
HEADER_KEYS = frozenset(
    {"format", "schema_version", "vault_id", "theme", "kdf", "salt", "data_key"}
)
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
-- One row per rendered output and original: `blind` finds the rows of an output's hash,
-- `variant` (output and source hashes) makes recording the same render twice a no-op
-- while two different originals that rendered to the same bytes both stay known.
CREATE TABLE documents(
    id INTEGER PRIMARY KEY,
    blind BLOB NOT NULL,
    variant BLOB NOT NULL UNIQUE,
    record BLOB NOT NULL
);
CREATE INDEX documents_blind ON documents(blind);
CREATE TABLE runs(id INTEGER PRIMARY KEY, record TEXT NOT NULL);
"""


class Vault:
    """An open, unlocked, exclusively held vault."""

    def __init__(
        self,
        path: Path,
        db: apsw.Connection,
        data_key: bytes,
        meta: dict[str, bytes],
        lock_fd: int,
    ) -> None:
        self.path = path
        self.db = db
        self.keys = Keys(data_key)
        self.meta = meta  # the clear header: nothing personal, nothing secret
        self.vault_id = meta["vault_id"].decode()
        self.theme = meta["theme"].decode()
        # Kept only so that `rekey` can re-wrap it; lives in the main process alone.
        self._data_key = data_key
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
        try:
            fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), PRIVATE_FILE)
        except OSError as exc:
            raise VaultCorrupt(f"cannot open the vault {path}: {exc.strerror}") from exc
        db: apsw.Connection | None = None
        try:
            _lock(fd, path, lock_timeout)
            try:
                db = apsw.Connection(str(path))
                db.setbusytimeout(int(lock_timeout * 1000))
                # One statement per call, each result read: apsw runs the statements of a
                # script lazily, so after a pragma that returns a row the rest never ran.
                # secure_delete: what `forget` deletes is overwritten, not left in free pages.
                # cache_size: assign inserts a million rows into unique indexes on random
                # blind indexes; with SQLite's 2 MiB page cache each insert went to disk
                # pages again (measured: 500,000 components, 6.9 against 3.9 s of CPU).
                # A cap, not an allocation: the cache grows only as pages are read.
                for pragma in (
                    "journal_mode=DELETE",
                    "synchronous=FULL",
                    "secure_delete=ON",
                    "cache_size=-262144",
                ):
                    list(db.execute(f"PRAGMA {pragma}"))
            except apsw.Error as exc:
                raise VaultCorrupt(
                    f"{path} is not a twophase vault ({type(exc).__name__})"
                ) from exc
            # Emptiness is judged only now, under the lock: two runs racing to create the
            # same vault must not both write a schema.
            if _is_empty(db):
                if not create:
                    raise VaultCorrupt(f"no vault at {path}")
                os.fchmod(fd, PRIVATE_FILE)
                meta, data_key = _create(db, passphrase, theme, kdf or KdfParams())
            else:
                meta = _read_meta(db, path)
                params = KdfParams.from_json(meta["kdf"].decode())
                kek = derive_kek(passphrase, meta["salt"], params)
                data_key = unwrap(
                    kek, meta["data_key"], meta["vault_id"].decode(), meta["theme"].decode()
                )
            return cls(path, db, data_key, meta, fd)
        except BaseException:
            if db is not None:
                db.close()
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
        except apsw.Error as exc:  # disk full, I/O error: translated, never a traceback
            self._rollback()
            raise TwophaseError(
                f"the vault could not be written ({type(exc).__name__}); it is unchanged"
            ) from exc
        except BaseException:
            self._rollback()
            raise
        try:
            self.db.execute("COMMIT")
        except apsw.Error as exc:
            self._rollback()
            raise TwophaseError(
                f"the vault could not be written ({type(exc).__name__}); it is unchanged"
            ) from exc

    def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (e.g. on SQLITE_FULL).
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def rows(self, sql: str, *args: Any) -> Iterator[tuple[Any, ...]]:
        try:
            yield from self.db.execute(sql, args)
        except (apsw.CorruptError, apsw.NotADBError, apsw.SQLError) as exc:
            raise VaultCorrupt(f"{self.path}: damaged vault ({type(exc).__name__})") from exc

    def next_id(self, table: str) -> int:
        (value,) = next(self.rows(f"SELECT coalesce(max(id), 0) + 1 FROM {table}"))
        return int(value)

    # -- the key ---------------------------------------------------------------------------

    def rewrap(
        self,
        passphrase: str,
        kdf: KdfParams | None = None,
        *,
        audit: Callable[[apsw.Connection], None] | None = None,
    ) -> KdfParams:
        """Wrap the same data key under a new passphrase and salt, in one transaction.

        No row is re-encrypted: the rows are sealed under sub-keys of the data key, which
        does not change. `audit` writes its record in the same transaction. Returns the
        KDF parameters now in the header.
        """
        params = kdf or KdfParams.from_json(self.meta["kdf"].decode())
        if not params.strong_enough():
            raise UsageError("key-derivation parameters below the OWASP minimum")
        salt = os.urandom(SALT_BYTES)
        kek = derive_kek(passphrase, salt, params)
        header = {
            "salt": salt,
            "kdf": params.to_json().encode(),
            "data_key": wrap(kek, self._data_key, self.vault_id, self.theme),
        }
        with self.transaction() as db:
            db.executemany(
                "UPDATE meta SET value = ? WHERE key = ?", [(v, k) for k, v in header.items()]
            )
            if audit is not None:
                audit(db)
        self.meta.update(header)
        return params


@dataclass(frozen=True, slots=True)
class ClearParts:
    """What anyone holding the file can read: the header and the audit log."""

    meta: dict[str, bytes]
    runs: list[tuple[int, str]]


@contextlib.contextmanager
def clear_parts(path: Path, lock_timeout: float = 300.0) -> Iterator[ClearParts]:
    """The vault's header and audit log, read without the key (nothing there is personal).

    Read-only, under a shared lock: it waits for a run that is changing the vault, and
    never blocks another reader.
    """
    if not (path.exists() and path.stat().st_size > 0):
        raise VaultCorrupt(f"no vault at {path}")
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise VaultCorrupt(f"cannot open the vault {path}: {exc.strerror}") from exc
    try:
        _lock(fd, path, lock_timeout, shared=True)
        try:
            db = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
        except apsw.Error as exc:
            raise VaultCorrupt(f"{path} is not a twophase vault ({type(exc).__name__})") from exc
        try:
            try:
                meta = _read_meta(db, path)
                runs = [(int(i), str(r)) for i, r in db.execute("SELECT id, record FROM runs")]
            except apsw.ReadOnlyError as exc:
                # A hot journal: only a writer may roll it back, and this reader may not.
                raise VaultCorrupt(
                    f"{path}: an interrupted run left its journal; `twophase verify` recovers it"
                ) from exc
            except apsw.Error as exc:
                raise VaultCorrupt(f"{path}: damaged vault ({type(exc).__name__})") from exc
            yield ClearParts(meta, runs)
        finally:
            db.close()
    finally:
        os.close(fd)


def _lock(fd: int, path: Path, timeout: float, *, shared: bool = False) -> None:
    mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
    try:
        fcntl.flock(fd, mode)
        return
    except BlockingIOError:
        log.warning("waiting for another run to release the vault %s", path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            fcntl.flock(fd, mode)
            return
        except BlockingIOError:
            continue
    raise VaultLocked(f"another run still holds the vault {path} after {timeout:.0f} s")


def _is_empty(db: apsw.Connection) -> bool:
    try:
        return not list(db.execute("SELECT name FROM sqlite_master LIMIT 1"))
    except apsw.Error:
        return False


def _create(
    db: apsw.Connection, passphrase: str, theme: str, kdf: KdfParams
) -> tuple[dict[str, bytes], bytes]:
    if not kdf.strong_enough():
        raise UsageError("key-derivation parameters below the OWASP minimum")
    vault_id = str(uuid.uuid4())
    salt = os.urandom(SALT_BYTES)
    data_key = os.urandom(32)
    meta = {
        "format": FORMAT.encode(),
        "schema_version": str(SCHEMA_VERSION).encode(),
        "vault_id": vault_id.encode(),
        "theme": theme.encode(),
        "kdf": kdf.to_json().encode(),
        "salt": salt,
        "data_key": wrap(derive_kek(passphrase, salt, kdf), data_key, vault_id, theme),
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
    return meta, data_key


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
    missing = HEADER_KEYS - meta.keys()
    if missing:
        raise VaultCorrupt(f"{path}: vault header incomplete ({', '.join(sorted(missing))})")
    return meta
