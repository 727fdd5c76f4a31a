"""The detector's tokenizer warm-up: the tokens, and so the spans, are those of spaCy's
tokenizer left alone (real small French model)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import MODEL, ROOT
from twophase.detection import pipeline

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
