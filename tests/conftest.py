"""Shared fixtures: the real small French model, real vaults in temp dirs, real processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "corpus"
# Tests use the small model (same pipeline, faster to load); the default run uses _md.
MODEL = "fr_core_news_sm"
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("TWOPHASE_PASSPHRASE", PASSPHRASE)
    return {**os.environ, "TWOPHASE_PASSPHRASE": PASSPHRASE}


def write_corpus(root: Path, docs: dict[str, str | bytes]) -> Path:
    for rel, content in docs.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root
