"""Private, crash-safe file writing.

Invariant: a file twophase writes is either absent or complete (temp name, fsync, rename),
and everything under a workdir is readable by its owner only, since it holds personal data.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` if needed, and every folder this creates, owner-only whatever the umask.

    Folders that already existed are left as they are (they are the user's); a workdir is
    made private by `private_workdir`.
    """
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        os.chmod(folder, PRIVATE_DIR)
    return path


def private_workdir(path: Path) -> Path:
    """A workdir holds personal data (sidecars carry surfaces): owner-only, even if it existed."""
    private_dir(path)
    os.chmod(path, PRIVATE_DIR)
    return path


def write_atomic(path: Path, data: bytes, mode: int = PRIVATE_FILE) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
