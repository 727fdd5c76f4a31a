"""Shared fixtures: the real small French model, real vaults in temp dirs, real processes."""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "corpus"
# Tests use the small model (same pipeline, faster to load); the default run uses _md.
MODEL = "fr_core_news_sm"
PASSPHRASE = "correct horse battery staple"

# The compiled-regex cache (twophase/detection/regex_cache.py) goes to a folder of this
# session, not the user's home; every process a test starts inherits it.
if "TWOPHASE_CACHE_DIR" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="twophase-test-cache-")
    os.environ["TWOPHASE_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, True)


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


def dead_pid() -> int:
    """The pid of a process that has exited: the writer of a temporary a killed run left."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def _hold(path: str, seconds: float, ready: Any) -> None:
    from twophase.vault import Vault

    with Vault.open(Path(path), PASSPHRASE):
        ready.set()
        time.sleep(seconds)


@contextlib.contextmanager
def vault_held(path: Path, seconds: float) -> Iterator[None]:
    """Another process holds the vault's lock for `seconds` while the block runs."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(path), seconds, ready))
    holder.start()
    try:
        assert ready.wait(30)
        yield
    finally:
        holder.join()
