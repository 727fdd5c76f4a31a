"""The encrypted mapping: keys (crypto) and the SQLite store."""

from twophase.vault.crypto import KdfParams, Keys
from twophase.vault.store import Vault

__all__ = ["KdfParams", "Keys", "Vault"]
