"""Batch-wide propagation, render side: known surfaces replaced where detect missed them.

Assign lists every surface variant of every known entity with its rendering (the plan's
`variants`); here one Aho-Corasick automaton over them finds, in one pass over a document,
every whole-word, case-exact occurrence (twophase.words.whole_word), and those that do not
touch a planned replacement are replaced too: leftmost first, longest first at one place.
A known surface that strictly contains planned replacements takes their place (`widened`).

Invariant: `hits` depends only on the text, the document's planned replacements and the
variants, so a document renders the same in any worker; the automaton is built once per
process and plan, O(total length of the variants), and each document costs O(text + hits).
"""

from __future__ import annotations

import bisect
import operator
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twophase.sidecar import Plan, ReplacementRow, VariantRow, read_variant_rows
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
    """Whole-word occurrences of a fixed set of surfaces, in one pass.

    The automaton stores each surface's index as a plain integer, no Python object: a
    worker forked after the parent built it reads it without writing to its pages, so the
    workers share one copy (~1.3 GB at a million entities).
    """

    def __init__(self, variants: Sequence[VariantRow]) -> None:
        import ahocorasick

        if len(variants) > _MAX_VARIANTS:
            raise ValueError(f"more than {_MAX_VARIANTS} surfaces to match")
        self.variants = variants
        self._automaton: Any = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        add = self._automaton.add_word
        for i, (surface, _, _, _) in enumerate(variants):
            add(surface, i)
        if variants:
            self._automaton.make_automaton()
        # NUL never occurs in a decoded document (formats.decode refuses it as binary).
        self._mask: str | None = None if any("\0" in v[0] for v in variants) else "\0"

    def __bool__(self) -> bool:
        return bool(self.variants)

    def find(self, text: str) -> list[tuple[int, int, int]]:
        """(start, end, variant index) of every whole-word occurrence, overlapping ones too."""
        return self._whole_words(text, self._automaton.iter(text)) if self.variants else []

    def find_longest(self, text: str) -> list[tuple[int, int, int]]:
        """Leftmost-longest occurrences, whole words only: one per name as read, not every
        known surface inside it, so that checking them in Python stays cheap."""
        return self._whole_words(text, self._automaton.iter_long(text)) if self.variants else []

    def _whole_words(
        self, text: str, found: Iterable[tuple[int, int]]
    ) -> list[tuple[int, int, int]]:
        """The automaton's (last index, variant) hits that are whole words of `text`."""
        out = []
        variants = self.variants
        for last, i in found:
            start, end = last + 1 - len(variants[i][0]), last + 1
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
        # Found in the masked copy, judged whole words in the real text (masks aside).
        return self._whole_words(text, self._automaton.iter("".join(parts)))


# pyahocorasick keeps a C int per word: the index of its variant.
_MAX_VARIANTS = 2**31 - 1

_CACHE: dict[tuple[str, int, int], Matcher] = {}


def matcher_for(plan: Plan) -> Matcher:
    return Matcher(plan.variants)


def matcher_of(workdir: Path) -> Matcher:
    """The plan's matcher, built once per process: by render's parent before it forks the
    workers when it can (`render`), else by each worker, from the plan's variants alone."""
    path = workdir / "plan.msgpack"
    stat = os.stat(path)
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = Matcher(read_variant_rows(workdir))
    return _CACHE[key]


def forget_matchers() -> None:
    """Drop the cached matcher: it holds every known surface of the batch."""
    _CACHE.clear()


def hits(text: str, planned: Iterable[ReplacementRow], matcher: Matcher) -> list[Hit]:
    """Occurrences to replace: no overlap with a planned replacement or with each other."""
    taken = sorted((start, end) for start, end, _, _ in planned)
    found = matcher.find_outside(text, taken)
    if found is None:  # planned replacements that overlap or are empty: the general rule
        starts = [a for a, _ in taken]
        found = [h for h in matcher.find(text) if not _overlaps(h[0], h[1], taken, starts)]
    out: list[Hit] = []
    reach = 0
    for start, neg_end, i in sorted((start, -end, i) for start, end, i in found):
        if start < reach:
            continue
        _, replacement, entity, label = matcher.variants[i]
        out.append(Hit(start, -neg_end, replacement, entity, label))
        reach = -neg_end
    return out


def _overlaps(start: int, end: int, taken: list[tuple[int, int]], starts: list[int]) -> bool:
    k = bisect.bisect_right(starts, start)
    return bool((k and taken[k - 1][1] > start) or (k < len(taken) and taken[k][0] < end))


def completed(
    text: str, replacements: Sequence[ReplacementRow], matcher: Matcher
) -> list[ReplacementRow]:
    """The planned replacements and the propagated ones, sorted by start."""
    planned = widened(text, replacements, matcher)
    found = [(h.start, h.end, h.text, h.entity) for h in hits(text, planned, matcher)]
    return sorted([*planned, *found], key=_start)


def widened(
    text: str, planned: Sequence[ReplacementRow], matcher: Matcher
) -> Sequence[ReplacementRow]:
    """The planned replacements, where a known person's name strictly contains some of them
    (and cuts none) replaced by that name. Detect may find "DUBOIS" alone in "MARIE DUBOIS
    a signé": without this, "DUBOIS" was replaced and "MARIE" stayed readable, and the leak
    check, which does not look for bare first names, said nothing. Persons only: around a
    place or an organisation the extra words are common ones ("dépôt de Lyon"), and taking
    them only trades one reading for another (measured: most documents changed)."""
    if not planned or not matcher:
        return planned
    rows = sorted(planned, key=_start)
    starts = [row[0] for row in rows]
    wider: list[tuple[int, int, int]] = []
    variants = matcher.variants
    for start, end, i in matcher.find_longest(text):
        if variants[i][3] != "PERSON":
            continue
        first = bisect.bisect_left(starts, start)  # rows[first:last] start inside
        last = bisect.bisect_left(starts, end)
        if first == last or rows[last - 1][1] > end:  # contains none, or cuts the last
            continue
        if first and rows[first - 1][1] > start:  # cuts the one before
            continue
        if last - first == 1 and (rows[first][0], rows[first][1]) == (start, end):
            continue  # the planned replacement itself
        wider.append((start, end, i))
    if not wider:
        return planned
    kept = [
        row for row in rows if not any(start <= row[0] and row[1] <= end for start, end, _ in wider)
    ]
    return [*kept, *((s, e, variants[i][1], variants[i][2]) for s, e, i in wider)]


_start = operator.itemgetter(0)
