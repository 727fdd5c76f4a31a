"""twophase: batch pseudonymization of French documents in three phases.

detect (parallel, no key) → assign (one process, one vault transaction) → render
(parallel, no key). The public API is re-exported here lazily, so importing twophase (or
running `twophase --help`) does not load spaCy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twophase.assignment import AssignResult, assign
    from twophase.detection import DetectResult, detect
    from twophase.errors import (
        DocumentChanged,
        SidecarMismatch,
        TwophaseError,
        UnreadableDocument,
        UsageError,
        VaultCorrupt,
        VaultLocked,
        WrongPassphrase,
    )
    from twophase.keyholder import audit, export, forget, rekey, reverse, verify
    from twophase.rendering import RenderResult, render
    from twophase.run import AllResult, run_all

_EXPORTS = {
    "detect": "twophase.detection",
    "DetectResult": "twophase.detection",
    "assign": "twophase.assignment",
    "AssignResult": "twophase.assignment",
    "render": "twophase.rendering",
    "RenderResult": "twophase.rendering",
    "run_all": "twophase.run",
    "AllResult": "twophase.run",
    "TwophaseError": "twophase.errors",
    "UsageError": "twophase.errors",
    "WrongPassphrase": "twophase.errors",
    "VaultCorrupt": "twophase.errors",
    "VaultLocked": "twophase.errors",
    "SidecarMismatch": "twophase.errors",
    "DocumentChanged": "twophase.errors",
    "UnreadableDocument": "twophase.errors",
    "reverse": "twophase.keyholder",
    "forget": "twophase.keyholder",
    "audit": "twophase.keyholder",
    "rekey": "twophase.keyholder",
    "verify": "twophase.keyholder",
    "export": "twophase.keyholder",
}

__all__ = [
    "AllResult",
    "AssignResult",
    "DetectResult",
    "DocumentChanged",
    "RenderResult",
    "SidecarMismatch",
    "TwophaseError",
    "UnreadableDocument",
    "UsageError",
    "VaultCorrupt",
    "VaultLocked",
    "WrongPassphrase",
    "assign",
    "audit",
    "detect",
    "export",
    "forget",
    "rekey",
    "render",
    "reverse",
    "run_all",
    "verify",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'twophase' has no attribute {name!r}")
