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
    starts = [a for a, _ in taken]
    out: list[Hit] = []
    reach = 0
    for start, end, i in sorted(matcher.find(text), key=lambda h: (h[0], -h[1], h[2])):
        if start < reach:
            continue
        k = bisect.bisect_right(starts, start)
        if (k and taken[k - 1][1] > start) or (k < len(taken) and taken[k][0] < end):
            continue
        variant = matcher.variants[i]
        out.append(Hit(start, end, variant.text, variant.entity, variant.label))
        reach = end
    return out


def completed(
    text: str, replacements: Sequence[Replacement], matcher: Matcher
) -> tuple[Replacement, ...]:
    """The planned replacements and the propagated ones, sorted by start."""
    found = [
        Replacement(h.start, h.end, h.text, h.entity) for h in hits(text, replacements, matcher)
    ]
    return tuple(sorted([*replacements, *found], key=lambda r: r.start))
