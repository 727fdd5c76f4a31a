"""Batch-wide propagation, render side: known surfaces replaced where detect missed them.

Assign lists every surface variant of every known entity with its rendering (the plan's
`variants`); here one Aho-Corasick automaton over them finds, in one pass over a document,
every whole-word, case-exact occurrence (twophase.words.whole_word), and those that do not
touch a planned replacement are replaced too: leftmost first, longest first at one place.

Invariant: `hits` depends only on the text, the document's planned replacements and the
variants, so a document renders the same in any worker; the automaton is built once per
process and plan, O(total length of the variants), and each document costs O(text + hits).
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twophase.sidecar import Plan, Replacement, Variant, read_plan
from twophase.words import whole_word


@dataclass(frozen=True, slots=True)
class Hit:
    """A propagated replacement: text[start:end] becomes `text`."""

    start: int
    end: int
    text: str
    entity: int
    label: str


class Matcher:
    """Whole-word occurrences of a fixed set of surfaces, in one pass."""

    def __init__(self, variants: Sequence[Variant]) -> None:
        import ahocorasick

        self.variants = tuple(variants)
        self._automaton: Any = ahocorasick.Automaton()
        for i, variant in enumerate(self.variants):
            self._automaton.add_word(variant.surface, (i, len(variant.surface)))
        if self.variants:
            self._automaton.make_automaton()
        # NUL never occurs in a decoded document (formats.decode refuses it as binary).
        self._mask: str | None = None if any("\0" in v.surface for v in self.variants) else "\0"

    def __bool__(self) -> bool:
        return bool(self.variants)

    def find(self, text: str) -> list[tuple[int, int, int]]:
        """(start, end, variant index) of every whole-word occurrence, overlapping ones too."""
        if not self.variants:
            return []
        out = []
        for last, (i, length) in self._automaton.iter(text):
            start, end = last + 1 - length, last + 1
            if whole_word(text, start, end):
                out.append((start, end, i))
        return out

    def find_outside(
        self, text: str, taken: Sequence[tuple[int, int]]
    ) -> list[tuple[int, int, int]] | None:
        """`find`, less the occurrences that overlap a `taken` range; None if it cannot tell.

        Why: most occurrences lie inside planned replacements (detect found them), and
        checking each in Python was most of render's time. Here the automaton runs over a
        copy of `text` where the taken ranges are masked with a character no surface has,
        so it never reports them. `taken` must be sorted, disjoint and non-empty ranges
        (else None: the caller falls back to the general rule).
        """
        if not self.variants:
            return []
        if self._mask is None:
            return None
        parts = []
        pos = 0
        for start, end in taken:
            if start < pos or end <= start or end > len(text):
                return None
            parts.append(text[pos:start])
            parts.append(self._mask * (end - start))
            pos = end
        parts.append(text[pos:])
        masked = "".join(parts)
        out = []
        for last, (i, length) in self._automaton.iter(masked):
            start, end = last + 1 - length, last + 1
            if whole_word(text, start, end):  # the context is the real text, masks aside
                out.append((start, end, i))
        return out


_CACHE: dict[tuple[str, int, int], Matcher] = {}


def matcher_for(plan: Plan) -> Matcher:
    return Matcher(plan.variants)


def matcher_of(workdir: Path) -> Matcher:
    """The plan's matcher, built once per process (render workers read the plan themselves)."""
    path = workdir / "plan.msgpack"
    stat = os.stat(path)
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = matcher_for(read_plan(workdir))
    return _CACHE[key]


def hits(text: str, planned: Iterable[Replacement], matcher: Matcher) -> list[Hit]:
    """Occurrences to replace: no overlap with a planned replacement or with each other."""
    taken = sorted((r.start, r.end) for r in planned)
    found = matcher.find_outside(text, taken)
    if found is None:  # planned replacements that overlap or are empty: the general rule
        starts = [a for a, _ in taken]
        found = [h for h in matcher.find(text) if not _overlaps(h[0], h[1], taken, starts)]
    out: list[Hit] = []
    reach = 0
    for start, neg_end, i in sorted((start, -end, i) for start, end, i in found):
        if start < reach:
            continue
        variant = matcher.variants[i]
        out.append(Hit(start, -neg_end, variant.text, variant.entity, variant.label))
        reach = -neg_end
    return out


def _overlaps(start: int, end: int, taken: list[tuple[int, int]], starts: list[int]) -> bool:
    k = bisect.bisect_right(starts, start)
    return bool((k and taken[k - 1][1] > start) or (k < len(taken) and taken[k][0] < end))


def completed(
    text: str, replacements: Sequence[Replacement], matcher: Matcher
) -> tuple[Replacement, ...]:
    """The planned replacements and the propagated ones, sorted by start."""
    found = [
        Replacement(h.start, h.end, h.text, h.entity) for h in hits(text, replacements, matcher)
    ]
    return tuple(sorted([*replacements, *found], key=lambda r: r.start))
