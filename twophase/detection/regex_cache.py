"""Compiled forms of spaCy's large regular expressions, kept between processes.

Why: importing spaCy's French language compiles its tokenizer exceptions into one
1.4 MB regular expression, and loading a French model compiles it again from the model
files: about 5 s of CPU in every process that loads a model, in a start-up of about 7 s
(docs/performance.md). `re` keeps compiled patterns in memory only. While a model loads,
large patterns are compiled through this module, which stores the compiled code of each
(CPython's `sre` program: a list of integers) in a cache folder and, in later processes,
rebuilds the pattern from it in milliseconds.

Invariant: a pattern from the cache equals the one `re` would compile (`Pattern.__eq__`
compares the pattern, the flags and the compiled code). Anything unexpected (another
Python, a damaged or foreign file, an unwritable folder) falls back to `re`'s own compile;
the cache can only make loading faster, never change what is loaded.

The cache holds spaCy's patterns only, never document text. Its folder is
`$TWOPHASE_CACHE_DIR`, else `$XDG_CACHE_HOME/twophase`, else `~/.cache/twophase`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgpack

from twophase.files import private_dir, write_atomic

# Smaller patterns compile in milliseconds: not worth a file.
MIN_CHARS = 1_000
_SCHEMA = "twophase.regex/1"
# `re._compile` is process-wide: one block patches it at a time (Dask workers have threads).
_PATCHING = threading.RLock()

try:  # CPython internals; without them the cache stays off
    import _sre  # type: ignore[import-not-found]
    from re import _compiler, _parser  # type: ignore[attr-defined]

    _TAG = f"{_SCHEMA}|{sys.version}|{_sre.MAGIC}|{_sre.CODESIZE}"
    _AVAILABLE = (
        sys.implementation.name == "cpython"
        and callable(getattr(_compiler, "_code", None))
        and callable(getattr(_parser, "parse", None))
        and callable(getattr(re, "_compile", None))
    )
except ImportError:  # pragma: no cover - other interpreters
    _AVAILABLE = False
    _TAG = ""


def cache_dir() -> Path:
    """Where compiled patterns are kept."""
    explicit = os.environ.get("TWOPHASE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "twophase"


@contextlib.contextmanager
def cached_regexes(folder: Path | None = None) -> Iterator[None]:
    """Compile large patterns through the cache while the block runs (e.g. a model load)."""
    if not _AVAILABLE:
        yield
        return
    where = folder or cache_dir()

    def compile_(pattern: Any, flags: Any) -> re.Pattern[Any]:
        if isinstance(pattern, str) and len(pattern) >= MIN_CHARS:
            value = flags.value if isinstance(flags, re.RegexFlag) else flags
            if isinstance(value, int) and not value & re.DEBUG:
                return compile_cached(pattern, value, where)
        return original(pattern, flags)

    with _PATCHING:
        original: Callable[[Any, int], re.Pattern[Any]] = re._compile  # type: ignore[attr-defined]
        re._compile = compile_  # type: ignore[attr-defined]
        try:
            yield
        finally:
            re._compile = original  # type: ignore[attr-defined]


def compile_cached(pattern: str, flags: int, folder: Path) -> re.Pattern[str]:
    """`re.compile(pattern, flags)`, with the compiled code read from or saved to `folder`."""
    key = hashlib.sha256(f"{_TAG}|{flags}|".encode() + pattern.encode("utf-8", "surrogatepass"))
    path = folder / f"{key.hexdigest()}.msgpack"
    try:
        return _rebuild(pattern, msgpack.unpackb(path.read_bytes(), raw=False))
    except Exception:  # missing, damaged or foreign: compile, then (re)write it
        pass
    record = _compile_record(pattern, flags)
    compiled = _rebuild(pattern, record)
    with contextlib.suppress(OSError):
        private_dir(folder)
        write_atomic(path, bytes(msgpack.packb(record, use_bin_type=True)))
    return compiled


def _compile_record(pattern: str, flags: int) -> dict[str, Any]:
    # What re._compiler.compile does, keeping the parts _sre.compile needs.
    parsed = _parser.parse(pattern, flags)
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    return {
        "schema": _TAG,
        "flags": flags | parsed.state.flags,
        "code": [int(c) for c in _compiler._code(parsed, flags)],
        "groups": parsed.state.groups - 1,
        "groupindex": groupindex,
        "indexgroup": indexgroup,
    }


def _rebuild(pattern: str, record: dict[str, Any]) -> re.Pattern[str]:
    if record["schema"] != _TAG:
        raise ValueError("compiled by another Python")
    # _sre validates the code and raises on anything malformed.
    compiled: re.Pattern[str] = _sre.compile(
        pattern,
        int(record["flags"]),
        [int(c) for c in record["code"]],
        int(record["groups"]),
        {str(k): int(v) for k, v in record["groupindex"].items()},
        tuple(None if g is None else str(g) for g in record["indexgroup"]),
    )
    return compiled
