"""Value types that cross phase boundaries.

Offsets are Python string indices into the decoded document text, end exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """One detected mention: where it is, what it is, and its surface text."""

    start: int
    end: int
    label: str
    text: str
