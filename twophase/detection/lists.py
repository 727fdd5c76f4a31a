"""User lists: surfaces never pseudonymized (`--allow`) and always pseudonymized (`--deny`).

Files hold one surface a line; a deny line may end with a tab and a label (default PERSON);
blank lines and lines starting with "#" are ignored. Allow entries match a whole span,
case- and accent-insensitively ("ACME" allows "Acme"); deny entries are found as whole words
in the text as written, in capitals or with a capital initial — never lowered, so a deny
entry "Rose" leaves the flower "rose" alone (write "rose" to deny that too).

Invariant: a `Lists` is a value (sorted tuples), so its digest, which goes into the detector
fingerprint, changes exactly when the lists' content does, and sidecars are redone then.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twophase.assignment.names import fold
from twophase.detection import recognizers
from twophase.errors import UsageError
from twophase.spans import Span
from twophase.words import whole_word

LABELS = frozenset({"PERSON", "LOCATION", "ORG", *recognizers.RECOGNIZERS})


@dataclass(frozen=True, slots=True)
class Lists:
    allow: tuple[str, ...] = ()
    deny: tuple[tuple[str, str], ...] = ()  # (surface, label)

    @property
    def digest(self) -> str:
        """Short content hash for the detector fingerprint; "" when both lists are empty."""
        if not self.allow and not self.deny:
            return ""
        h = hashlib.sha256()
        for surface in self.allow:
            h.update(b"a\x1f" + surface.encode("utf-8", "surrogatepass") + b"\x1e")
        for surface, label in self.deny:
            h.update(f"d\x1f{label}\x1f".encode() + surface.encode("utf-8", "surrogatepass"))
            h.update(b"\x1e")
        return h.hexdigest()[:16]

    def allowed(self, surface: str) -> bool:
        return bool(self.allow) and fold(surface) in _allow_set(self.allow)

    def find(self, text: str) -> list[Span]:
        """Every whole-word occurrence of a deny surface (longest first where they overlap)."""
        if not self.deny:
            return []
        return list(_deny_hits(_deny_automaton(self.deny), text))


@functools.lru_cache(maxsize=4)
def _allow_set(allow: tuple[str, ...]) -> frozenset[str]:
    return frozenset(fold(s) for s in allow)


@functools.lru_cache(maxsize=4)
def _deny_automaton(deny: tuple[tuple[str, str], ...]) -> Any:
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for surface, label in deny:  # sorted: the first label listed for a form wins
        for form in dict.fromkeys((surface, surface.upper(), surface.title())):
            if form not in automaton:
                automaton.add_word(form, (len(form), label))
    automaton.make_automaton()
    return automaton


def _deny_hits(automaton: Any, text: str) -> Iterator[Span]:
    found = []
    for last, (length, label) in automaton.iter(text):
        start, end = last - length + 1, last + 1
        if whole_word(text, start, end):
            found.append((start, -length, end, label))
    found.sort()
    reach = 0
    for start, _, end, label in found:
        if start >= reach:
            reach = end
            yield Span(start, end, label, text[start:end])


def _lines(path: Path) -> list[str]:
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise UsageError(f"cannot read the list {path}: {reason}") from exc
    return [line.rstrip("\r") for line in raw.split("\n") if line.strip() and line[0] != "#"]


def read_lists(allow: Path | None = None, deny: Path | None = None) -> Lists:
    """Read the allow and deny files; a bad label is a usage error (by line number only)."""
    allowed = sorted({line.strip() for line in _lines(allow)}) if allow else []
    denied: set[tuple[str, str]] = set()
    for n, line in enumerate(_lines(deny) if deny else [], 1):
        surface, _, label = line.partition("\t")
        label = label.strip().upper() or "PERSON"
        if label not in LABELS:
            raise UsageError(
                f"{deny}: entry {n} has an unknown label; use one of {', '.join(sorted(LABELS))}"
            )
        if surface.strip():
            denied.add((surface.strip(), label))
    return Lists(tuple(allowed), tuple(sorted(denied)))
