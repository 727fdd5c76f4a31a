from __future__ import annotations

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twophase.errors import UnreadableDocument
from twophase.formats import Edit, PlainText, apply_edits, decode, format_for

TEXT = "Réunion à Lyon avec Marie Dubois.\r\nFin.\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
)
def test_each_encoding_decodes_and_round_trips(data: bytes, encoding: str) -> None:
    decoded = decode(data)
    assert decoded.text == TEXT
    assert decoded.encoding == encoding
    assert PlainText().rebuild(data, []) == data


def test_edits_are_written_back_in_the_source_encoding() -> None:
    data = codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le")
    start = TEXT.index("Marie Dubois")
    out = PlainText().rebuild(data, [Edit(start, start + 12, "Claire Lambert")])
    assert out.startswith(codecs.BOM_UTF16_LE)
    assert out[2:].decode("utf-16-le") == TEXT.replace("Marie Dubois", "Claire Lambert")


@pytest.mark.parametrize("data", [b"\x00\x01binary\x00", b"PK\x03\x04\x14\x00\x06\x00", b"a\x07b"])
def test_binary_files_are_refused_without_quoting_them(data: bytes) -> None:
    with pytest.raises(UnreadableDocument) as info:
        decode(data)
    assert "binary" in str(info.value)


def test_unsupported_suffix_is_refused() -> None:
    with pytest.raises(UnreadableDocument):
        format_for("photo.jpg")


def test_overlapping_edits_are_a_bug_not_a_silent_mangle() -> None:
    with pytest.raises(ValueError):
        apply_edits("abcdef", [Edit(0, 3, "x"), Edit(2, 4, "y")])


@given(st.text(), st.data())
def test_apply_edits_matches_naive_slicing(text: str, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    edits = [Edit(cuts[i], cuts[i + 1], f"<{i}>") for i in range(0, len(cuts) - 1, 2)]
    expected = text
    for edit in reversed(edits):
        expected = expected[: edit.start] + edit.text + expected[edit.end :]
    assert apply_edits(text, edits) == expected


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"))))
def test_utf8_text_round_trips_byte_for_byte(text: str) -> None:
    data = text.encode("utf-8")
    assert PlainText().rebuild(data, []) == data
