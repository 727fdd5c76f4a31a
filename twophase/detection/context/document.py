"""Document-wide rules: coordinated items, a consistent label per name, and relabelling.

Invariant: they take and return sorted, non-overlapping spans inside the text.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable

from twophase.detection.context.found import WORD
from twophase.detection.context.lexicon import (
    ARTICLES,
    CALENDAR,
    COMPASS,
    PARTICLES,
    PLACE_NAMES,
    PLACE_WORDS,
    fold,
    given_names,
    word_set,
)
from twophase.detection.context.tokens import (
    TOKEN,
    Tok,
    is_particle,
    looks_like_job,
    name_word,
    scan_name,
)
from twophase.spans import Span
from twophase.words import whole_word

# An enumeration's separators: "A, B et C", "A ou B".
_LINK_AFTER = re.compile(r"[ \u00a0]*(?:,|et|ou|&)[ \u00a0]+")
_LINK_BEFORE = re.compile(r"[ \u00a0]*(?:,|(?<![^\W\d_])et|(?<![^\W\d_])ou|&)[ \u00a0]*$")
_ITEM_END = re.compile(r"[ \u00a0]*(?:$|[,.;:)!?\n\"»”]|(?:et|ou)(?![^\W\d_]))")
_COORDINATED = frozenset(("PERSON", "LOCATION", "ORG"))
# Before an item, these make it a complement, not a list member: "le directeur de Microsoft,
# Bill Gates", "le à Raw, Jeff Hardy et lui".
_COMPLEMENT = word_set("le la les l du des au aux un une de d à a en dans sur vers chez")


def _item_reads_as_name(toks: list[Tok]) -> bool:
    words = [t for t in toks if not is_particle(t)]
    if not 1 <= len(words) <= 4 or not all(name_word(t) or is_particle(t) for t in toks):
        return False
    first = words[0].key
    return not (
        first in PLACE_NAMES
        or first.split("-")[0] in PLACE_WORDS
        or any(w.key in CALENDAR for w in words)
        or looks_like_job(words)
        or (len(words) == 1 and words[0].caps)
    )


def _complement(text: str, start: int) -> bool:
    """Whether the word just before `start` makes what follows a complement."""
    before = text[max(0, start - 12) : start]
    words = WORD.findall(before.rstrip(" \u00a0")) if before.endswith((" ", "\u00a0")) else []
    if before.endswith(("'", "’")):
        words = [before[-2:-1]]
    return bool(words) and fold(words[-1]) in _COMPLEMENT


def coordinated(text: str, spans: list[Span]) -> list[Span]:
    """Items enumerated with a person are persons: "Rock Hudson, Tony Curtis et Cher".

    The model often names the odd item of a list of people a place or an organisation, or
    misses a single name beside full ones. An enumeration is a chain of items linked by
    commas, "et", "ou" on one line, each item a run of name words, that holds a person of two
    name words and at least one "et" or "ou": its items become persons. Without a
    conjunction a comma is as often an apposition ("Karim Benali, Lumen Études"), and then
    nothing changes. A model place of one word is left alone; so is a single word opening a
    sentence, or a name after "de", "à", "le"... ("le directeur de Microsoft, Bill Gates").
    """
    by_start = {s.start: s for s in spans}
    by_end = {s.end: s for s in spans}
    starts = sorted(by_start)

    def item(a: int, b: int) -> Span | None:
        old = by_start.get(a)
        if old is not None and old.end == b and old.label == "PERSON":
            return old
        toks = [Tok(m.start(), m.end(), m.group()) for m in TOKEN.finditer(text, a, b)]
        if not toks or not _item_reads_as_name(toks) or _complement(text, a):
            return None
        if old is not None and old.end == b:
            if old.label not in _COORDINATED or (old.label == "LOCATION" and len(toks) < 2):
                return None
            return Span(a, b, "PERSON", old.text)
        i = bisect.bisect_left(starts, b)
        if i and by_start[starts[i - 1]].end > a:
            return None
        before = text[max(0, a - 3) : a].rstrip(" \u00a0")
        if len(toks) == 1 and (not before or before[-1] in '.!?:;\n«"“(—–-'):
            return None  # a single word opening a sentence is capitalised for that
        return Span(a, b, "PERSON", text[a:b])

    def right(pos: int) -> tuple[Span | None, bool]:
        link = _LINK_AFTER.match(text, pos)
        if link is None:
            return None, False
        a = link.end()
        line_end = text.find("\n", a)
        limit = len(text) if line_end < 0 else line_end
        old = by_start.get(a)
        b = old.end if old is not None else scan_name(text, a, limit, max_words=3)[0]
        if b == a or not _ITEM_END.match(text, b):
            return None, False
        return item(a, b), "," not in link.group()

    def left(pos: int) -> tuple[Span | None, bool]:
        line_start = text.rfind("\n", 0, pos) + 1
        link = _LINK_BEFORE.search(text, line_start, pos)
        if link is None or link.end() != pos:
            return None, False
        b, conj = link.start(), "," not in link.group()
        old = by_end.get(b)
        if old is not None:
            return item(old.start, b), conj
        # The longest run of name words that ends at `b` ("avec Queen Latifah").
        for m in list(TOKEN.finditer(text, max(line_start, b - 80), b))[-3:]:
            if fold(m.group()) in PARTICLES:
                continue  # "Lors de SummerSlam": a lower-case particle opens no item here
            end, run = scan_name(text, m.start(), b, max_words=3)
            if run and end == b:
                return item(m.start(), b), conj
        return None, False

    changed: dict[int, Span] = {}
    done: set[int] = set()
    for anchor in spans:
        words = [m for m in TOKEN.finditer(anchor.text) if fold(m.group()) not in PARTICLES]
        if anchor.label != "PERSON" or len(words) < 2 or anchor.start in done:
            continue
        chain, queue, conj = {anchor.start: anchor}, [anchor], False
        while queue:
            span = queue.pop()
            for found, linked_by_conj in (right(span.end), left(span.start)):
                if found is not None and found.start not in chain:
                    chain[found.start] = found
                    queue.append(found)
                    conj |= linked_by_conj
        done |= chain.keys()
        if conj:
            changed.update((a, s) for a, s in chain.items() if by_start.get(a) != s)
    if not changed:
        return spans
    relabelled = [changed.pop(s.start) if s.start in changed else s for s in spans]
    added = non_overlapping(changed.values(), [(s.start, s.end) for s in relabelled])
    return sorted(relabelled + added)


def consistent(text: str, spans: list[Span], sure: set[int]) -> list[Span]:
    """One label for one way of writing a name in a document, and persons found everywhere.

    The model reads each sentence alone: "The Miz" is a person in one, an organisation or
    nothing in the next. Spans of one surface take the label most of them have (a person
    wins a tie, and a person a rule found wins outright; other ties stay as they are), and
    every other whole-word, case-exact occurrence of a surface that is then a person becomes
    a person too.
    """
    votes: dict[str, Counter[str]] = {}
    for s in spans:
        if s.label in _COORDINATED:
            # A person a rule vouches for outweighs every reading of the model.
            weight = len(spans) if s.label == "PERSON" and s.start in sure else 1
            votes.setdefault(s.text, Counter())[s.label] += weight
    label_of: dict[str, str] = {}
    persons: list[str] = []
    for surface, count in votes.items():
        (first, n), *rest = count.most_common(2)
        if count["PERSON"] == n:  # a tie with a person: the safer reading, for a leak
            label_of[surface] = "PERSON"
            if len(surface) >= 3:
                persons.append(surface)
        elif not rest or rest[0][1] < n:
            label_of[surface] = first
    out = [
        Span(s.start, s.end, label_of[s.text], s.text)
        if s.label in _COORDINATED and label_of.get(s.text, s.label) != s.label
        else s
        for s in spans
    ]
    if not persons:
        return out
    pattern = re.compile("|".join(re.escape(p) for p in sorted(persons, key=len, reverse=True)))
    found = (
        Span(m.start(), m.end(), "PERSON", m.group())
        for m in pattern.finditer(text)
        if whole_word(text, m.start(), m.end())
    )
    return sorted(out + non_overlapping(found, [(s.start, s.end) for s in out]))


_GENERATION = re.compile(r"^[^\W\d_][\w'’\-]+(?: [^\W\d_][\w'’\-.]*){0,3},? (?:Jr|Sr|Jnr|Snr)\.?$")


def person_like(text: str, span: Span) -> bool:
    """A model place or organisation that reads as a person: "Rock Hudson", "Enzo Ferrari"."""
    if _GENERATION.search(span.text):
        return True  # "Lon Chaney Jr", "Ken Griffey Sr."
    toks = [Tok(m.start(), m.end(), m.group()) for m in TOKEN.finditer(text, span.start, span.end)]
    # The French lexicon only: with the world's first names, "Columbia Records" and "Pink
    # Floyd" became persons on WikiNEuRal (docs/quality.md).
    if not 2 <= len(toks) <= 4 or toks[0].caps or fold(toks[0].text) not in given_names():
        return False
    if fold(toks[0].text) in PLACE_NAMES or any(t.key in COMPASS for t in toks):
        return False  # "France Inter", "Caroline du Sud"
    if not all(name_word(t) or is_particle(t) for t in toks) or looks_like_job(toks):
        return False
    if any(t.caps or t.initials or t.key.split("-")[0] in PLACE_WORDS for t in toks):
        return False  # "Paris Saint-Germain"; and "Louis XIV" reads as well as "Fiat SPA"
    prev = WORD.findall(text[max(0, span.start - 30) : span.start])
    return not (prev and (fold(prev[-1]) in ARTICLES or fold(prev[-1]) in PLACE_WORDS))


def ruled_person(text: str, span: Span, ruled: set[str], evidence: set[str]) -> bool:
    """A model place made only of words of names the rules found here ("Hendrik"), or a
    first name the model itself calls a person elsewhere in the document ("Olivier")."""
    keys = [fold(m.group()) for m in TOKEN.finditer(text, span.start, span.end)]
    keys = [k for k in keys if k not in PARTICLES]
    if not keys or keys[0] in PLACE_NAMES:
        return False
    if len(keys) == 1 and keys[0] in evidence and keys[0] in given_names():
        return True
    return all(k in ruled for k in keys)


def non_overlapping(spans: Iterable[Span], taken: list[tuple[int, int]]) -> list[Span]:
    """Spans that overlap neither `taken` nor each other: longest first, then leftmost."""
    kept: list[tuple[int, int]] = sorted(taken)
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start - s.end, s.start, s.label)):
        i = bisect.bisect_right(kept, (span.start, span.end))
        if i and kept[i - 1][1] > span.start:
            continue
        if i < len(kept) and kept[i][0] < span.end:
            continue
        kept.insert(i, (span.start, span.end))
        out.append(span)
    return out
