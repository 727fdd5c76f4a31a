"""Render's fast paths give exactly what the plain rules give (docs/performance.md, render).

Propagation scans a copy of the text with the planned replacements masked, the leak check
decides most occurrences without looking at each letter, and outputs are flushed in
batches: each is checked here against the rule it shortcuts.
"""

from __future__ import annotations

import bisect
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twophase import files
from twophase.files import AtomicBatch
from twophase.rendering.leaks import count_leaks
from twophase.rendering.propagate import Matcher
from twophase.sidecar import Variant
from twophase.words import whole_word

SURFACES = ["Marie", "Marie Dubois", "Dubois", "DUBOIS", "Rose", "J.-P. Martin", "06 12", "Lé"]
MATCHER = Matcher([Variant(s, f"P{i}", i, "PERSON") for i, s in enumerate(SURFACES)])
PIECES = [*SURFACES, " ", "-", "'", "x", "é", ".", ", ", "_", "\n", "rose", "Marie-", "12"]

texts = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


@st.composite
def text_and_ranges(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    """A text and sorted, disjoint, non-empty ranges in it."""
    text = draw(texts)
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=12))))
    pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
    return text, [(a, b) for a, b in pairs if a < b]


@settings(max_examples=300, deadline=None)
@given(text_and_ranges())
def test_masked_scan_finds_what_the_full_scan_finds_outside_the_ranges(
    case: tuple[str, list[tuple[int, int]]],
) -> None:
    text, taken = case
    expected = [
        (s, e, i) for s, e, i in MATCHER.find(text) if all(e <= a or s >= b for a, b in taken)
    ]
    assert MATCHER.find_outside(text, taken) == expected


@settings(max_examples=300, deadline=None)
@given(texts)
def test_every_occurrence_names_the_variant_of_its_own_surface(text: str) -> None:
    found = MATCHER.find(text)
    assert all(text[s:e] == MATCHER.variants[i][0] for s, e, i in found)
    # And every whole-word occurrence is found: the surfaces counted one by one.
    expected = {
        (s, s + len(v), i)
        for i, v in enumerate(SURFACES)
        for s in range(len(text))
        if text.startswith(v, s) and whole_word(text, s, s + len(v))
    }
    assert set(found) == expected


def test_masked_scan_declines_overlapping_or_empty_ranges() -> None:
    assert MATCHER.find_outside("Marie Dubois", [(0, 5), (3, 8)]) is None
    assert MATCHER.find_outside("Marie Dubois", [(2, 2)]) is None


def _reference_leaks(output: str, inserted: list[tuple[int, int]], matcher: Matcher) -> int:
    """The rule as written in leaks.py: some letter or digit outside inserted text."""
    ends = [end for _, end in inserted]

    def inside(i: int) -> bool:
        k = bisect.bisect_right(ends, i)
        return k < len(inserted) and inserted[k][0] <= i

    return sum(
        1
        for start, end, _ in matcher.find(output)
        if not all(inside(i) for i in range(start, end) if output[i].isalnum())
    )


@settings(max_examples=300, deadline=None)
@given(text_and_ranges())
def test_leak_count_equals_the_letter_by_letter_rule(
    case: tuple[str, list[tuple[int, int]]],
) -> None:
    output, inserted = case
    assert count_leaks(output, inserted, MATCHER) == _reference_leaks(output, inserted, MATCHER)


@pytest.mark.parametrize("flush", ["syncfs", "fsync each"])
def test_a_batch_renames_each_unit_whole_and_in_order(
    tmp_path: Path, flush: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if flush == "fsync each":  # as on systems without syncfs, or when it reports an error
        monkeypatch.setattr(files, "_syncfs", lambda: None)
    elif files._syncfs() is None:
        pytest.skip("no syncfs here")
    batch = AtomicBatch()
    batch.stage(
        (tmp_path / "a.marker", b"m", 0o600, False), (tmp_path / "a.txt", b"A", 0o644, True)
    )
    with pytest.raises(FileNotFoundError):  # a folder that does not exist: the unit fails
        batch.stage(
            (tmp_path / "b.marker", b"m", 0o600, False),
            (tmp_path / "missing" / "b.txt", b"B", 0o644, True),
        )
    batch.stage((tmp_path / "c.txt", b"C", 0o644, True))
    assert not (tmp_path / "a.txt").exists()  # nothing visible before the commit
    assert len(batch) == 2 and batch.commit() == [None, None]
    assert sorted(os.listdir(tmp_path)) == ["a.marker", "a.txt", "c.txt"]  # no temporaries
    assert (tmp_path / "a.txt").read_bytes() == b"A"
    assert len(batch) == 0 and batch.commit() == []


def test_a_unit_staged_first_is_renamed_and_reported_first(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_bytes(b"")  # a folder where a file should go: it fails
    batch = AtomicBatch()
    batch.stage((tmp_path / "a.txt", b"A", 0o644, True))
    batch.stage((tmp_path / "taken", b"m", 0o600, False), first=True)
    errors = batch.commit()
    assert isinstance(errors[0], OSError) and errors[1] is None
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "taken"]  # no temporaries


def test_a_discarded_batch_leaves_nothing(tmp_path: Path) -> None:
    batch = AtomicBatch()
    batch.stage((tmp_path / "a.txt", b"A", 0o644, True))
    batch.stage((tmp_path / "m", b"m", 0o600, False), first=True)
    batch.discard()
    assert os.listdir(tmp_path) == [] and len(batch) == 0 and batch.commit() == []
