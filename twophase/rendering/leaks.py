"""The leak check that ends every render: no known original surface left readable.

After a document is rendered, its output is searched for every surface variant of the plan
(the batch's mentions, their derived forms, and vault entities found in the batch) as a
whole word, case-exact — the same rule propagation used. An occurrence counts as a leak
unless every letter and digit of it lies in text that render inserted: a pseudonym never
equals a real name or component of its type (assign guarantees it), so a match inside
inserted text is a pseudonym that happens to read like a real of another type (a place
named like a given-name pseudonym), which reveals nothing.

Invariant: only counts leave this module; a leaked surface is never printed or stored.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from twophase.rendering.propagate import Matcher


@dataclass(frozen=True, slots=True)
class LeakFinding:
    """A rendered document still holding `count` occurrences of known original surfaces."""

    document: str
    count: int


def count_leaks(output: str, inserted: Sequence[tuple[int, int]], matcher: Matcher) -> int:
    """Occurrences of known surfaces in `output` not made only of `inserted` text.

    `inserted` holds (start, end) output ranges written by render, sorted, disjoint.
    """
    ends = [end for _, end in inserted]
    count = 0
    for start, end, _ in matcher.find(output):
        k = bisect.bisect_right(ends, start)
        if k < len(inserted) and inserted[k][0] <= start and end <= inserted[k][1]:
            continue  # typed by render from end to end: the common case, decided at once
        if not all(_inside(i, inserted, ends) for i in range(start, end) if output[i].isalnum()):
            count += 1
    return count


def _inside(i: int, inserted: Sequence[tuple[int, int]], ends: list[int]) -> bool:
    k = bisect.bisect_right(ends, i)
    return k < len(inserted) and inserted[k][0] <= i
