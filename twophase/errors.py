"""One error family, so the CLI maps every failure to a message and an exit code.

Invariant: no message ever contains document text or an entity's surface; paths and
counts only.
"""

from __future__ import annotations


class TwophaseError(Exception):
    """Base of every error twophase raises on purpose; the CLI prints it without a traceback."""

    exit_code = 2


class UsageError(TwophaseError):
    """The command cannot start with these arguments."""


class WrongPassphrase(TwophaseError):
    """The passphrase does not unlock this vault."""


class VaultCorrupt(TwophaseError):
    """The vault file is damaged, tampered with, or not a twophase vault."""


class VaultLocked(TwophaseError):
    """Another run holds the vault."""


class SidecarMismatch(TwophaseError):
    """A sidecar or plan is unreadable, of another schema, or of another batch or vault."""


class DocumentChanged(TwophaseError):
    """A document's bytes differ from what detect saw."""


class UnreadableDocument(TwophaseError):
    """A document cannot be read or decoded; reported per document, the batch goes on."""


def reason_of(exc: BaseException) -> str:
    """A per-document failure reason that cannot carry document text.

    Our own messages are written without content; an OSError gives its strerror; anything
    else (a UnicodeError quotes the bytes it choked on) gives only its class name.
    """
    if isinstance(exc, TwophaseError):
        return str(exc)
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return f"internal error ({type(exc).__name__})"
