"""twophase: batch pseudonymization of French documents in three phases.

detect (parallel, no key) → assign (one process, one vault transaction) → render
(parallel, no key). The public API is re-exported here lazily, so importing twophase (or
running `twophase --help`) does not load spaCy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twophase.assign import AssignResult, assign
    from twophase.detect import DetectResult, detect
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
    from twophase.render import RenderResult, render
    from twophase.run import AllResult, run_all

_EXPORTS = {
    "detect": "twophase.detect",
    "DetectResult": "twophase.detect",
    "assign": "twophase.assign",
    "AssignResult": "twophase.assign",
    "render": "twophase.render",
    "RenderResult": "twophase.render",
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
    "detect",
    "render",
    "run_all",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'twophase' has no attribute {name!r}")
