"""Context rules: what the layout and words around a name say, after NER and patterns.

A statistical model reads sentences; French working documents are also made of speaker
turns, attendee lists, mail headers, signatures, registers and forms, where it both misses
names ("GAUTHIER :", "DUBOIS Marie", "Dubois, Marie") and invents them (a heading, a job
title, "Bonjour Marie" as one name). This package:

1. cleans model spans (`cleaning`): cut at line breaks, table pipes and other characters no
   name holds, greetings dropped from the front, field labels and one-letter tokens dropped;
2. finds person names from context: after a title (the title stays outside the span),
   speaker turns, "Nom :"-style fields, mail headers, signature blocks (`headers`),
   "NOM Prénom" and "Prénom NOM", "Nom, Prénom" list lines, table columns headed "Nom",
   greetings (`layout`), and first names of the lexicon inside a sentence (`prose`);
3. drops model persons that are headings in capitals, job titles or common words at a line
   start, unless the lexicon or another rule vouches for them (`cleaning`), then settles
   the document as a whole (`document`).

`lexicon` holds the word sets, `tokens` the name scanner, `found` what the rules share.
Context spans win over the model's where they overlap, pattern spans win over both.
Invariant: `refine` is a pure function of the text, the spans and the lists; its result is
sorted, non-overlapping, inside the text, and no PERSON span starts with a title.
"""

from __future__ import annotations

import bisect
import re

from twophase.detection.context.cleaning import clean, drop
from twophase.detection.context.document import (
    consistent,
    coordinated,
    non_overlapping,
    person_like,
    ruled_person,
)
from twophase.detection.context.found import Found
from twophase.detection.context.headers import fields, mail_headers, signatures, speakers, titles
from twophase.detection.context.layout import (
    caps_pairs,
    comma_lists,
    greetings,
    list_blocks,
    tables,
)
from twophase.detection.context.lexicon import PARTICLES, fold, is_given, world_lexicon_version
from twophase.detection.context.prose import after_role, given_pairs, lone_given, role_names
from twophase.detection.context.tokens import TOKEN, split_lines
from twophase.detection.lists import Lists
from twophase.spans import Span

__all__ = ["is_given", "refine", "world_lexicon_version"]


def refine(
    text: str, patterns: list[Span], ner: list[Span], lists: Lists | None = None
) -> list[Span]:
    """The document's spans: patterns, then deny-list hits, then context rules, then NER."""
    lists = lists or Lists()
    lines = split_lines(text)
    cleaned = [piece for span in ner for piece in clean(text, span)]
    evidence = {
        fold(t.group())
        for s, first in cleaned
        if first and s.label == "PERSON" and not s.text.isupper()
        for t in TOKEN.finditer(s.text)
        if fold(t.group()) not in PARTICLES
    }
    found = Found(text)
    titles(text, found)
    mail_headers(text, lines, found)
    fields(text, lines, found)
    speakers(text, lines, found, evidence)
    comma_lists(text, lines, found, evidence)
    list_blocks(text, lines, found)
    tables(text, lines, found)
    caps_pairs(text, lines, found)
    greetings(text, found)
    contacts = sorted(s.start for s in patterns if s.label in ("ADDRESS", "EMAIL", "PHONE"))
    signatures(text, lines, found, evidence, contacts)
    # Words of names the rules found: stronger than the model's, they may relabel its spans.
    ruled = {
        fold(t.group())
        for s in found.spans
        if s.label == "PERSON"
        for t in TOKEN.finditer(s.text)
        if fold(t.group()) not in PARTICLES
    }
    evidence |= ruled
    line_starts = {line.start for line in lines} | {
        m.end() for m in re.finditer(r"(?m)^[ \t]*(?:[-*•>#]+[ \t]*)+", text)
    }
    line_of = [line.start for line in lines]
    model: list[Span] = []
    sure: set[int] = set()  # starts of persons a rule vouches for: they win a document's vote
    for span, first in cleaned:
        line = lines[bisect.bisect_right(line_of, span.start) - 1]
        if span.label != "PERSON" and (
            person_like(text, span)
            or ruled_person(text, span, ruled, evidence)
            # Places only: "le pilote Force India" drives for a team.
            or (span.label == "LOCATION" and after_role(text, span))
        ):
            span = Span(span.start, span.end, "PERSON", span.text)
            sure.add(span.start)
        if not drop(text, span, first, line, evidence, line_starts):
            model.append(span)
    result = [s for s in patterns]
    taken = [(s.start, s.end) for s in result]
    for group in (lists.find(text), found.spans, model):
        added = non_overlapping((s for s in group if not lists.allowed(s.text)), taken)
        result.extend(added)
        taken.extend((s.start, s.end) for s in added)
    lone = Found(text)
    lone_given(text, sorted(taken), lone)
    given_pairs(text, sorted(taken), lone)
    role_names(text, sorted(taken), lone)
    result.extend(non_overlapping((s for s in lone.spans if not lists.allowed(s.text)), taken))
    sure.update(s.start for s in found.spans + lone.spans if s.label == "PERSON")
    return consistent(text, coordinated(text, sorted(result)), sure)
