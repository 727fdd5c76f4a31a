"""Private, crash-safe file writing.

Invariant: a file twophase writes is either absent or complete (temp name, fsync, rename),
and everything under a workdir is readable by its owner only, since it holds personal data.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from twophase.errors import UsageError

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


def a_folder(path: Path, what: str) -> Path:
    """`path` is a folder, or nothing yet: a file there would only fail deep in a run,
    after other phases have written (an `all` whose --out is a file failed after assign)."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"the {what} {path} is a file, not a folder")
    return path


def private_workdir(path: Path) -> Path:
    """A workdir holds personal data (sidecars carry surfaces): owner-only, even if it existed."""
    private_dir(a_folder(path, "workdir"))
    os.chmod(path, PRIVATE_DIR)
    return path


def write_atomic(path: Path, data: bytes, mode: int = PRIVATE_FILE) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one."""
    tmp = _temporary_of(path)
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


_TEMPORARY_WORKDIR = "twophase-"


def temporary_workdir() -> Path:
    """A private workdir for one run (`all` without --workdir), named after this process
    so that a later run can tell, once the process is gone, that nobody will remove it."""
    sweep_temporary_workdirs()
    return Path(tempfile.mkdtemp(prefix=f"{_TEMPORARY_WORKDIR}{os.getpid()}-"))


def sweep_temporary_workdirs() -> int:
    """Remove the temporary workdirs of runs that were killed (SIGKILL, out of memory, a
    power cut) before they could: each holds every name of its batch. Only folders of
    this user whose process no longer exists are removed. Returns how many."""
    pattern = re.compile(re.escape(_TEMPORARY_WORKDIR) + r"(?P<pid>\d+)-[^/]+")
    removed = 0
    try:
        entries = list(os.scandir(tempfile.gettempdir()))
    except OSError:
        return 0
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        if m is None or _alive(int(m["pid"])):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        remove_tree(Path(entry.path))
        removed += 1
    return removed


def remove_tree(path: Path) -> None:
    """Remove a folder of personal data even if Ctrl-C or SIGTERM comes meanwhile: the
    signals wait, blocked, until it is gone (a second Ctrl-C used to leave it behind)."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        shutil.rmtree(path, ignore_errors=True)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_temporaries(paths: Iterable[Path]) -> int:
    """Remove the hidden temporaries a killed run left beside these final paths.

    A SIGKILL between a temporary's creation and its rename leaves `.NAME.PID.tmp` behind
    (write_atomic, AtomicBatch). Only temporaries of the given names, written by a process
    that no longer exists, are removed: never a user's file, never a live writer's. Returns
    how many were removed.
    """
    wanted: dict[Path, set[str]] = {}
    for path in paths:
        wanted.setdefault(path.parent, set()).add(path.name)
    return sum(_sweep(folder, names) for folder, names in wanted.items())


def sweep_folder(folder: Path) -> int:
    """`sweep_temporaries` of every name in `folder`: for a private folder only twophase
    writes, whose final names are not known in advance (render's done-markers)."""
    return _sweep(folder, None)


def _sweep(folder: Path, names: set[str] | None) -> int:
    stems = None if names is None else {_temporary_stem(name) for name in names}
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    removed = 0
    for entry in entries:
        m = _TEMPORARY.fullmatch(entry.name)
        if m is None or (stems is not None and m["name"] not in stems):
            continue
        if _alive(int(m["pid"])):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry.path)
            removed += 1
    return removed


_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.tmp", re.DOTALL)
# A file name may take 255 bytes; its temporary adds a dot, the pid and ".tmp" (up to 26).
_NAME_MAX = 255


def _temporary_of(path: Path) -> Path:
    return path.with_name(f".{_temporary_stem(path.name)}.{os.getpid()}.tmp")


def _temporary_stem(name: str) -> str:
    """How a temporary names its final file: by that name, or, where the temporary would be
    longer than a file name may be, by a hash of it (a legal 240-byte document name could
    not be rendered: "File name too long")."""
    if len(os.fsencode(name)) + 26 <= _NAME_MAX:
        return name
    return "long-" + hashlib.sha256(os.fsencode(name)).hexdigest()[:32]


@dataclass(slots=True)
class _Staged:
    path: Path
    tmp: Path
    fd: int | None  # open until the flush when the file must be durable
    durable: bool


class AtomicBatch:
    """Many files written as `write_atomic` writes one, with one flush for all of them.

    Why: render writes thousands of small files, and an fsync per file was most of its
    time here (docs/performance.md, "render against a plain copy": on this VM each fsync
    is a journal commit and a flush of the virtual disk, 0.2 to 5 ms). A batch writes every
    temporary first, flushes them all with one syncfs(2) per file system, renames them in
    the order they were staged, and flushes again so that the new names last too. Where
    syncfs is missing or does not report write errors (Linux before 5.8, other systems),
    or reports one, each file and then each folder is fsynced instead, which also tells
    which file failed.

    Files are staged in units (render's outputs, and the done-marker of the batch staged
    first): a unit is renamed whole, in order, or not at all. Invariant: a final name only
    ever holds a whole file, flushed before its rename when staged `durable`.
    """

    # When to commit: every this many units or bytes, whichever comes first. The flushes of
    # a batch cost a fraction of one fsync per file (docs/performance.md, "render against a
    # plain copy"); small enough that a crash costs little work and leaves few temporaries.
    UNITS = 64
    BYTES = 16 * 1024 * 1024

    def __init__(self) -> None:
        self._units: list[list[_Staged]] = []
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._units)

    def full(self) -> bool:
        """Whether the caller should `commit` now."""
        return len(self._units) >= self.UNITS or self.bytes >= self.BYTES

    def stage(self, *files: tuple[Path, bytes, int, bool], first: bool = False) -> None:
        """Write one unit, (path, data, mode, durable) each, under temporary names; `first`
        puts it before the units staged so far (it is renamed, and its error returned,
        first).

        Nothing is visible until `commit`; on an error no temporary of the unit is left.
        """
        unit: list[_Staged] = []
        try:
            for path, data, mode, durable in files:
                tmp = _temporary_of(path)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
                staged = _Staged(path, tmp, fd, durable)
                unit.append(staged)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if not durable:
                    staged.fd = None
                    os.close(fd)
        except BaseException:
            _discard(unit)
            raise
        if first:
            self._units.insert(0, unit)
        else:
            self._units.append(unit)
        self.bytes += sum(len(data) for _, data, _, _ in files)

    def discard(self) -> None:
        """Drop every staged unit: its temporaries are removed, nothing is renamed."""
        units, self._units, self.bytes = self._units, [], 0
        for unit in units:
            _discard(unit)

    def commit(self) -> list[OSError | None]:
        """Flush, rename and make the names durable; the error of each unit, in order."""
        units, self._units, self.bytes = self._units, [], 0
        errors: list[OSError | None] = [None] * len(units)
        try:
            durable = [(k, s.fd) for k, unit in enumerate(units) for s in unit if s.fd is not None]
            if not _syncfs_each([fd for _, fd in durable]):
                for k, fd in durable:
                    try:
                        os.fsync(fd)
                    except OSError as exc:
                        errors[k] = errors[k] or exc
            for unit in units:
                _close(unit)
            folders: dict[Path, list[int]] = {}
            for k, unit in enumerate(units):
                if errors[k] is not None:
                    continue
                try:
                    for staged in unit:
                        if not staged.durable:
                            # A rename over a file makes ext4 write the new data out at once
                            # (auto_da_alloc): the very flush a non-durable file does without.
                            with contextlib.suppress(FileNotFoundError):
                                os.unlink(staged.path)
                        os.replace(staged.tmp, staged.path)
                        staged.tmp = staged.path  # renamed: nothing left to discard
                        if staged.durable:
                            folders.setdefault(staged.path.parent, []).append(k)
                except OSError as exc:
                    errors[k] = exc
            for folder, error in _flush_folders(list(folders)).items():
                for k in folders[folder]:
                    errors[k] = errors[k] or error
        finally:
            for unit in units:
                _discard(unit)
        return errors


def _flush_folders(folders: list[Path]) -> dict[Path, OSError]:
    """Make the names in `folders` durable; the folders that failed, with their error."""
    fds: list[int] = []
    try:
        for folder in folders:
            fds.append(os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)))
        if _syncfs_each(fds):
            return {}
    except OSError:
        pass  # each folder is tried below, and tells its own error
    finally:
        for fd in fds:
            os.close(fd)
    failed = {}
    for folder in folders:
        error = _fsync_folder(folder)
        if error is not None:
            failed[folder] = error
    return failed


def _syncfs_each(fds: list[int]) -> bool:
    """syncfs(2) once per file system of `fds`; False if it is not there or failed."""
    syncfs = _syncfs()
    if syncfs is None:
        return False
    done: set[int] = set()
    for fd in fds:
        device = os.fstat(fd).st_dev
        if device not in done:
            if syncfs(fd) != 0:
                return False
            done.add(device)
    return True


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """libc's syncfs where it reports write errors (Linux 5.8 and later), else None."""
    if sys.platform != "linux":
        return None
    try:
        release = tuple(int(n) for n in os.uname().release.split(".")[:2])
        if release < (5, 8):
            return None
        import ctypes

        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (ValueError, OSError, AttributeError):
        return None
    syncfs.argtypes = [ctypes.c_int]
    syncfs.restype = ctypes.c_int
    return cast("Callable[[int], int]", syncfs)


def _fsync_folder(folder: Path) -> OSError | None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        # Some file systems cannot fsync a folder; the rename is then as durable as they allow.
        if exc.errno in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            return None
        return exc
    return None


def _close(unit: list[_Staged]) -> None:
    for staged in unit:
        if staged.fd is not None:
            with contextlib.suppress(OSError):
                os.close(staged.fd)
            staged.fd = None


def _discard(unit: list[_Staged]) -> None:
    _close(unit)
    for staged in unit:
        if staged.tmp != staged.path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged.tmp)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
