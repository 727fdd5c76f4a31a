"""The detector: its tokenizer warm-up gives the tokens, and so the spans, of spaCy's
tokenizer left alone, and its shared stream gives each text the spans it gets alone (real
small French model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import MODEL, ROOT
from twophase.corpus import Source
from twophase.detection import context, pipeline, worker
from twophase.sidecar import read_sidecar
from twophase.spans import Span

HARD = sorted((ROOT / "tests/data/hardcases/docs").glob("*.txt"))
# Words that hit the French tokenizer's special cases, prefixes, suffixes and infixes.
WORDS = [
    "M.", "Mme", "Dr", "aujourd'hui", "l'école", "qu'il", "J.-P.", "c.-à-d.", "(M.", "Dubois,",
    "«Marie»", "rendez-vous", "http://ex.fr/a?b=1", "06.12.34.56.78", "3h30", "etc.", "St-Étienne",
    "DUBOIS", "l'", "Jean-Pierre", "d'Estaing", "1er", "n°12", "marie.dubois@exemple.fr", ":",
    "!", "...", "(voir", "p.ex.", "Mlle.", "12,5%", "A.B.C.", "l’Orient", "O'Brien", "vs.",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", "  ", "\n", "\n\n", "\t", "\u00a0", " \n ", "\u2009"]


class _Cold(pipeline.Detector):
    """The detector without the warm-up."""

    __slots__ = ()

    def _warm(self, text: str) -> None:
        pass


@pytest.fixture(scope="module")
def detectors() -> tuple[pipeline.Detector, pipeline.Detector]:
    warm = pipeline.load(MODEL)
    other = pipeline.load(MODEL)
    return warm, _Cold(other.nlp, other.model, other.fingerprint)


def _tokens(nlp: Any, text: str) -> list[tuple[str, str, str, bool]]:
    return [(t.text, t.whitespace_, t.norm_, t.is_space) for t in nlp.tokenizer(text)]


def _texts() -> Iterator[str]:
    yield from (p.read_text(encoding="utf-8") for p in HARD)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=40),
    st.text(alphabet="aéM.'’-( )«»\n,:@1", max_size=30),
)
def test_warmed_tokens_are_the_tokenizer_s_own(
    detectors: tuple[pipeline.Detector, pipeline.Detector],
    pairs: list[tuple[str, str]],
    noise: str,
) -> None:
    warm, cold = detectors
    text = "".join(w + s for w, s in pairs) + noise
    warm._warm(text)
    cold.nlp.tokenizer._flush_cache()  # nothing cached: each word split in its context
    assert _tokens(warm.nlp, text) == _tokens(cold.nlp, text)


def test_warmed_detection_finds_the_same_spans(
    detectors: tuple[pipeline.Detector, pipeline.Detector],
) -> None:
    warm, cold = detectors
    texts = list(_texts())
    found = list(warm.detect(texts))
    assert sum(map(len, found)) > 50
    assert found == list(cold.detect(texts))
    assert len(warm.warmed) > 500  # the warm-up did run: these words are in the cache


def test_the_warm_set_starts_again_past_its_limit(
    detectors: tuple[pipeline.Detector, pipeline.Detector], monkeypatch: pytest.MonkeyPatch
) -> None:
    warm, _ = detectors
    monkeypatch.setattr(pipeline, "WARM_WORDS", 3)
    warm.warmed.clear()
    warm._warm("un deux")
    assert warm.warmed == {"un", "deux"}
    warm._warm("trois quatre")
    assert warm.warmed == {"trois", "quatre"}


@pytest.mark.parametrize("batch_chars", [pipeline.BATCH_CHARS, 700])
def test_texts_detected_together_get_the_spans_each_gets_alone(
    detectors: tuple[pipeline.Detector, pipeline.Detector],
    monkeypatch: pytest.MonkeyPatch,
    batch_chars: int,
) -> None:
    """The model's batches mix texts (short ones many to a batch, a long one cut in pieces
    across batches): each text's spans are still its own, in order."""
    warm, _ = detectors
    hard = list(_texts())
    long = "\n\n".join(hard * (1 + 2 * pipeline.PIECE_CHARS // sum(map(len, hard))))
    assert len(list(pipeline.split_pieces(long))) >= 3
    texts = [hard[0], "", "Mme Dubois.", long, *hard[1:4], "\n", hard[4]]
    alone = [next(warm.detect([text])) for text in texts]
    # The model's own spans, each piece run alone: what the batches must give back.
    model = [
        [
            s
            for a, b in pipeline.split_pieces(t)
            for s in pipeline._ner_spans(t, warm.nlp(t[a:b]), a)
        ]
        for t in texts
    ]
    assert model[2] and max(s.end for s in model[3]) > 2 * pipeline.PIECE_CHARS
    monkeypatch.setattr(pipeline, "BATCH_CHARS", batch_chars)
    assert list(warm.detect(iter(texts))) == alone
    monkeypatch.setattr(context, "refine", lambda text, patterns, spans, lists: spans)
    assert list(warm.detect(iter(texts))) == model


def test_a_document_failing_inside_the_shared_stream_fails_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One run of the model serves all of a task's documents; when it fails for one of them,
    the others still get their sidecars, the same as when detected alone."""
    names = ["a.txt", "b.txt", "boom.txt", "c.bin", "d.txt", "e.txt"]
    texts = {n: f"Compte rendu {n}.\nMme Claire Dubois et M. Paul Martin, à Lyon.\n" for n in names}
    texts["boom.txt"] += "BOOM\n"
    for name, text in texts.items():
        (tmp_path / name).write_bytes(text.encode() if name != "c.bin" else b"\x00\x01\xff")
    real = context.refine

    def refine(text: str, *args: Any) -> list[Span]:
        if "BOOM" in text:
            raise ValueError("a rule failed")
        return real(text, *args)

    monkeypatch.setattr(context, "refine", refine)
    sources = tuple(Source(n, str(tmp_path), str(tmp_path / n)) for n in names)
    work = tmp_path / "work"
    outcomes = worker.run_task(worker.Task(str(work), MODEL, sources))
    failed = sorted(o.document for o in outcomes if o.failure)
    assert failed == ["boom.txt", "c.bin"] and len(outcomes) == len(names)
    detector = worker.detector_for(MODEL)
    for name in ("a.txt", "b.txt", "d.txt", "e.txt"):
        spans = read_sidecar(work, name).spans
        assert spans and list(spans) == next(detector.detect([texts[name]]))
