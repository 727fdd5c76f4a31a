"""The compiled-regex cache that makes a model load ~5 s cheaper (detection/regex_cache.py)."""

from __future__ import annotations

import re
from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twophase.detection import regex_cache
from twophase.detection.regex_cache import cached_regexes, compile_cached

pytestmark = pytest.mark.skipif(not regex_cache._AVAILABLE, reason="CPython internals only")

WORDS = st.text(alphabet="abcdéèçœ-'’ ", min_size=1, max_size=12)


def _big(words: list[str], named: bool) -> str:
    # Large classes and case folding: what makes spaCy's French patterns slow to compile.
    alts = "|".join(f"(?:^{re.escape(w)}[{_LETTERS}]*$)" for w in words)
    return f"(?iu)(?P<hit>{alts})" if named else f"(?iu){alts}"


_LETTERS = "a-zà-öø-ÿœ" + "".join(chr(c) for c in range(0x100, 0x250) if chr(c).islower())


@settings(max_examples=20, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=30), st.booleans(), st.lists(WORDS, max_size=10))
def test_a_cached_pattern_equals_what_re_compiles(
    tmp_path_factory: pytest.TempPathFactory, words: list[str], named: bool, probes: list[str]
) -> None:
    folder = tmp_path_factory.mktemp("cache")
    pattern = _big(words, named)
    fresh = re.compile(pattern)
    cold = compile_cached(pattern, 0, folder)  # compiled, then written
    warm = compile_cached(pattern, 0, folder)  # rebuilt from the file
    assert len(list(folder.iterdir())) == 1
    # Pattern equality compares the pattern, the flags and the compiled code.
    assert cold == fresh and warm == fresh
    assert warm.groupindex == fresh.groupindex and warm.groups == fresh.groups
    for probe in [*words, *probes]:
        expected = fresh.match(probe)
        got = warm.match(probe)
        assert (got and got.span()) == (expected and expected.span())


def _one_file(folder: Path) -> Path:
    (path,) = folder.iterdir()
    return path


@pytest.mark.parametrize(
    "damage",
    [
        lambda record: b"not msgpack at all",
        lambda record: msgpack.packb(
            {**record, "code": record["code"][: len(record["code"]) // 2]}
        ),
        lambda record: msgpack.packb({**record, "code": [7] * len(record["code"])}),
        lambda record: msgpack.packb({**record, "schema": "twophase.regex/1|another python"}),
        lambda record: msgpack.packb({k: v for k, v in record.items() if k != "groups"}),
    ],
    ids=["garbage", "truncated code", "invalid code", "another python", "missing field"],
)
def test_a_damaged_or_foreign_file_is_ignored_and_rewritten(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    pattern = _big(["jean", "marie-claire", "entr'abat"], named=True)
    compile_cached(pattern, 0, tmp_path)
    path = _one_file(tmp_path)
    good = path.read_bytes()
    path.write_bytes(damage(msgpack.unpackb(good, raw=False)))
    assert compile_cached(pattern, 0, tmp_path) == re.compile(pattern)
    assert path.read_bytes() == good


def test_an_unwritable_cache_folder_only_costs_the_compile(tmp_path: Path) -> None:
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("")
    pattern = _big(["dubois", "martin"], named=False)
    assert compile_cached(pattern, 0, blocked / "cache") == re.compile(pattern)


def test_the_block_routes_large_patterns_only_and_restores_re(tmp_path: Path) -> None:
    original = re._compile  # type: ignore[attr-defined]
    large = _big(
        ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"], named=False
    )
    assert len(large) >= regex_cache.MIN_CHARS
    with pytest.raises(RuntimeError), cached_regexes(tmp_path):
        assert re.compile(large) == re.compile(large)  # compiled, then read back
        assert re.compile("small") == re.compile("small")
        with cached_regexes(tmp_path):  # nested in one thread: no deadlock
            re.compile(large + "|x")
        raise RuntimeError("the block fails")
    assert re._compile is original  # type: ignore[attr-defined]
    assert len(list(tmp_path.iterdir())) == 2  # `large` (twice the same key) and `large|x`


def test_the_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWOPHASE_CACHE_DIR", "/somewhere/explicit")
    assert regex_cache.cache_dir() == Path("/somewhere/explicit")
    monkeypatch.delenv("TWOPHASE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
    assert regex_cache.cache_dir() == Path("/xdg/twophase")


def test_spacy_french_tokenizer_pattern_from_the_cache_equals_spacys(tmp_path: Path) -> None:
    """The 1.4 MB pattern that motivated the cache, compiled cold then rebuilt."""
    from spacy.lang.fr import TOKEN_MATCH

    spacy_pattern = TOKEN_MATCH.__self__  # type: ignore[attr-defined]
    compile_cached(spacy_pattern.pattern, spacy_pattern.flags & ~re.UNICODE, tmp_path)
    warm = compile_cached(spacy_pattern.pattern, spacy_pattern.flags & ~re.UNICODE, tmp_path)
    assert warm == spacy_pattern
