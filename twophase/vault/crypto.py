"""The vault's key hierarchy: passphrase → Argon2id KEK → random data key → HKDF sub-keys.

Invariant: the passphrase is stretched once per run, in the main process; workers never
see any of these keys. Envelope encryption lets `rekey` re-wrap the data key without
touching a row.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from twophase.errors import VaultCorrupt, WrongPassphrase

# OWASP's minimum for Argon2id is 19 MiB and 2 passes; we go above it (about 0.2 s here).
MIN_MEMORY_KIB = 19 * 1024
MIN_ITERATIONS = 2
NONCE = 12
BLIND_BYTES = 16


@dataclass(frozen=True, slots=True)
class KdfParams:
    memory_kib: int = 64 * 1024
    iterations: int = 3
    lanes: int = 4

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> KdfParams:
        try:
            params = cls(**json.loads(text))
        except (TypeError, ValueError) as exc:
            raise VaultCorrupt(
                "the vault header's key-derivation parameters are unreadable"
            ) from exc
        if not params.strong_enough():
            raise VaultCorrupt("the vault header asks for a key derivation below the minimum")
        return params

    def strong_enough(self) -> bool:
        """At least OWASP's Argon2id minimum; a header asking for less is refused."""
        return (
            self.memory_kib >= MIN_MEMORY_KIB
            and self.iterations >= MIN_ITERATIONS
            and self.lanes >= 1
        )


def derive_kek(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    kdf = Argon2id(
        salt=salt,
        length=32,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return kdf.derive(passphrase.encode("utf-8"))


def _wrap_ad(vault_id: str, theme: str) -> bytes:
    # The theme steers pseudonym choice and sits in clear in the header: binding it here
    # means an edited theme cannot silently fork the mapping; the salt and KDF parameters
    # need no binding, since changing them changes the KEK itself.
    return f"twophase/data-key/1|{vault_id}|{theme}".encode()


def wrap(kek: bytes, data_key: bytes, vault_id: str, theme: str) -> bytes:
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, _wrap_ad(vault_id, theme))


def unwrap(kek: bytes, wrapped: bytes, vault_id: str, theme: str) -> bytes:
    try:
        return AESGCM(kek).decrypt(wrapped[:NONCE], wrapped[NONCE:], _wrap_ad(vault_id, theme))
    except (InvalidTag, ValueError) as exc:
        raise WrongPassphrase("wrong passphrase for this vault") from exc


def _subkey(data_key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(data_key)


class Keys:
    """Sub-keys of one vault's data key: blind index, row encryption, pseudonym choice."""

    def __init__(self, data_key: bytes) -> None:
        self._blind = _subkey(data_key, b"twophase/blind-index/1")
        # HMAC-SHA256 (RFC 2104) with its two padded-key states hashed once: a copy per
        # token instead of a new HMAC object, 1 us against 2.5 (assign makes millions).
        padded = self._blind.ljust(64, b"\0")  # a 32-byte key is shorter than the block
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
        self._namespaces: dict[str, Any] = {}  # the inner state with "namespace\x1f" hashed in
        self._aead = AESGCM(_subkey(data_key, b"twophase/rows/1"))
        self.generator_secret = _subkey(data_key, b"twophase/pseudonyms/1")

    def blind(self, namespace: str, value: str) -> bytes:
        """Keyed, deterministic lookup token: equal inputs, equal tokens; nothing else."""
        prefixed = self._namespaces.get(namespace)
        if prefixed is None:  # a handful of namespaces, each hashed in once
            prefixed = self._namespaces[namespace] = self._inner.copy()
            prefixed.update(namespace.encode() + b"\x1f")
        inner = prefixed.copy()
        inner.update(value.encode("utf-8", "surrogatepass"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:BLIND_BYTES]

    @staticmethod
    def _ad(table: str, column: str, row: int) -> bytes:
        return f"twophase/1|{table}|{column}|{row}".encode()

    def seal(self, table: str, column: str, row: int, plaintext: bytes) -> bytes:
        """Randomized AEAD bound to its table, column and row: a copied ciphertext fails."""
        nonce = os.urandom(NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, self._ad(table, column, row))

    def seal_many(self, table: str, column: str, rows: Iterable[tuple[int, bytes]]) -> list[bytes]:
        """`seal` of each (row, plaintext), with one read of the system's random source for
        all the nonces (a system call per nonce was a fifth of a seal)."""
        rows = list(rows)
        nonces = os.urandom(NONCE * len(rows))
        encrypt = self._aead.encrypt
        prefix = f"twophase/1|{table}|{column}|"
        out = []
        for i, (row, plaintext) in enumerate(rows):
            nonce = nonces[i * NONCE : (i + 1) * NONCE]
            out.append(nonce + encrypt(nonce, plaintext, f"{prefix}{row}".encode()))
        return out

    def open(self, table: str, column: str, row: int, blob: bytes) -> bytes:
        try:
            return self._aead.decrypt(blob[:NONCE], blob[NONCE:], self._ad(table, column, row))
        except (InvalidTag, ValueError) as exc:
            raise VaultCorrupt(
                f"vault row {table}#{row} ({column}) does not decrypt: tampered or damaged"
            ) from exc
