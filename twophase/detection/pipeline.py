"""The detector: spaCy NER with only the components it needs, pattern recognizers, then
context rules (detection/context/) and the user's allow and deny lists (detection/lists.py).

Invariant: the same text and the same fingerprint give the same spans, sorted and
non-overlapping, PERSON spans without their titles. The fingerprint covers the model, the
recognizers, this logic's version and the lists' content.
"""

from __future__ import annotations

import importlib.metadata
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from twophase.detection import context, recognizers
from twophase.detection.context.cleaning import trim_edges
from twophase.detection.lists import Lists
from twophase.detection.regex_cache import cached_regexes
from twophase.errors import UsageError
from twophase.spans import Span
from twophase.titles import leading_title

DEFAULT_MODEL = "fr_core_news_md"
# Measured on fr_core_news_sm and _md: without these three the entities are identical and
# NER runs 15-25% faster; the parser must stay (without it the entities change).
EXCLUDED = ("lemmatizer", "morphologizer", "attribute_ruler")
# "MODEL:fast" also leaves out the parser and, with it, tok2vec: the French pipelines' ner
# has its own embedding and only the parser and morphologizer listen to tok2vec. NER alone
# runs ~2x faster than with the parser, but the parser's sentence boundaries (ner never
# lets an entity cross one) change about 2.5% of the model's entities (docs/quality.md has
# the leak rate and precision of both profiles). An option, never the default.
FAST = "fast"
FAST_EXCLUDED = ("parser", "tok2vec")
# spaCy's own limit is 1,000,000 characters, and one huge doc costs memory quadratic in
# nothing useful: long texts are cut at paragraph or line boundaries.
PIECE_CHARS = 20_000
# A batch of the model holds two long pieces or many short texts. Measured with the default
# profile on 2,000-word documents, one worker: 40,000 characters ran as fast as 80,000 at
# ~520 against ~660 MiB; 20,000 (a document a batch) took ~420 MiB and ~10% longer
# (spaCy's default batch, 1,000 texts, peaked at 9 GB; docs/performance.md).
BATCH_CHARS = 2 * PIECE_CHARS
# Bump when the spans a text gets can change for the same model and lists (sidecars redone).
DETECT_LOGIC = "5"
# Words whose tokens a worker has put in spaCy's tokenizer cache (`Detector._warm`); past
# this many (a few tens of MB) the set starts again.
WARM_WORDS = 500_000

_LABELS = {"PER": "PERSON", "LOC": "LOCATION", "ORG": "ORG"}


@dataclass(frozen=True, slots=True)
class Detector:
    """A loaded model and its fingerprint; built once per process."""

    nlp: Any
    model: str
    fingerprint: str
    warmed: set[str] = field(default_factory=set, repr=False, compare=False)

    def detect(self, texts: Iterable[str], lists: Lists | None = None) -> Iterator[list[Span]]:
        """Spans of each text, in order.

        Texts are read lazily, a batch of the model ahead of what is yielded; their pieces
        go to the model in batches of up to BATCH_CHARS characters, so short texts share
        one (a call per text ran documents of ~80 words at half the model's speed:
        docs/performance.md).
        """
        fed: deque[tuple[str, list[tuple[int, int]]]] = deque()  # texts the model was given
        docs = self._model(self._pieces(texts, fed))
        for first in docs:  # the first piece of the oldest text given
            text, cuts = fed.popleft()
            spans = list(_ner_spans(text, first, cuts[0][0]))
            for offset, _ in cuts[1:]:
                spans.extend(_ner_spans(text, next(docs), offset))
            yield context.refine(text, recognizers.find_patterns(text), spans, lists)

    def _pieces(
        self, texts: Iterable[str], fed: deque[tuple[str, list[tuple[int, int]]]]
    ) -> Iterator[str]:
        for text in texts:
            self._warm(text)
            cuts = list(split_pieces(text))  # at least one, even for ""
            fed.append((text, cuts))
            for a, b in cuts:
                yield text[a:b]

    def _model(self, pieces: Iterator[str]) -> Iterator[Any]:
        """The model's doc of each piece, in order. Batches are bounded in characters, not
        in pieces: a worker's memory grows with the length of a batch."""
        batch: list[str] = []
        size = 0
        for piece in pieces:
            if batch and size + len(piece) > BATCH_CHARS:
                yield from self.nlp.pipe(batch, batch_size=len(batch))
                batch, size = [], 0
            batch.append(piece)
            size += len(piece)
        if batch:
            yield from self.nlp.pipe(batch, batch_size=len(batch))

    def _warm(self, text: str) -> None:
        """Put each new word of `text` in spaCy's tokenizer cache, tokenized alone.

        The tokenizer caches a word's tokens only until the first special case of a text
        ("M.", "Mme", "aujourd'hui"), so in practice almost never, and then costs ~11% of
        `ner`. A whitespace-separated word is tokenized the same way alone and in context
        (the cache relies on it), and a word holding a special case is not cached either
        way: the tokens are the same, ~25x faster (docs/performance.md).
        """
        new = set(text.split()).difference(self.warmed)
        if len(self.warmed) + len(new) > WARM_WORDS:
            self.warmed.clear()
        tokenizer = self.nlp.tokenizer
        for word in new:
            tokenizer(word)
        self.warmed.update(new)


def components(model: str) -> tuple[str, tuple[str, ...]]:
    """The package of a model spec ("fr_core_news_md" or "fr_core_news_md:fast") and the
    components to leave out of it."""
    package, sep, profile = model.partition(":")
    if sep and profile != FAST:
        raise UsageError(f"unknown detection profile {profile!r}; the only one is {FAST!r}")
    return package, EXCLUDED + (FAST_EXCLUDED if sep else ())


def fingerprint(model: str, lists: Lists | None = None) -> str:
    """What the sidecars depend on, known without loading the model."""
    package, excluded = components(model)
    try:
        version = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError as exc:
        raise UsageError(
            f"spaCy model {package!r} is not installed; `pip install {package.replace('_', '-')}`"
        ) from exc
    digest = lists.digest if lists is not None else ""
    return (
        f"{package}=={version}|exclude={','.join(excluded)}"
        f"|recognizers={recognizers.VERSION}:{','.join(recognizers.RECOGNIZERS)}"
        f"|logic={DETECT_LOGIC}|{context.world_lexicon_version()}"
        + (f"|lists={digest}" if digest else "")
    )


def load(model: str = DEFAULT_MODEL) -> Detector:
    """The model with the fingerprint of detection without lists (see `fingerprint`)."""
    print_ = fingerprint(model)
    package, excluded = components(model)
    # spaCy's French tokenizer patterns cost ~5 s to compile in each process: cached.
    with cached_regexes():
        import spacy

        nlp = spacy.load(package, exclude=list(excluded))
    detector = Detector(nlp, model, print_)
    # The context rules build their lexicons on first use (~0.3 s, the world's first names
    # from Faker above all): built here, before a fork, they are built once and shared.
    for _ in detector.detect([_WARM_UP]):
        pass
    return detector


_WARM_UP = "M. Jean Dupont, de Lyon, écrit à Marie.\nPrésents : DUBOIS Marie, Paul Martin."


def split_pieces(text: str, limit: int = PIECE_CHARS) -> Iterator[tuple[int, int]]:
    """Cut `text` into pieces of at most `limit` characters at the best boundary found."""
    start = 0
    while len(text) - start > limit:
        window = text[start : start + limit]
        cut = -1
        for sep in ("\n\n", "\n", ". ", " "):
            cut = window.rfind(sep)
            if cut > limit // 4:
                cut += len(sep)
                break
        if cut <= 0:
            cut = limit
        yield start, start + cut
        start += cut
    yield start, len(text)


def _ner_spans(text: str, doc: Any, offset: int) -> Iterator[Span]:
    for ent in doc.ents:
        start, end = offset + ent.start_char, offset + ent.end_char
        label = _LABELS.get(ent.label_)
        surface = text[start:end]
        cut, _ = leading_title(surface)
        if label is None and ent.label_ == "MISC" and cut:
            # The small models often tag "Dr Jean Martin" as MISC; a title says person.
            label = "PERSON"
        if label is None:
            continue
        if label == "PERSON":
            start += cut
        start, end = trim_edges(text, start, end)
        if start < end:
            yield Span(start, end, label, text[start:end])
