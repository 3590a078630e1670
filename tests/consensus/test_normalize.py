"""Normalization: which spellings count as the same value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dissensus.consensus.normalize import normalize, same_value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Men's", "men's"),
        ("  MEN’S ", "men's"),
        ("Burgundy,", "burgundy"),
        ('"Black/White"', "black/white"),
        ("Black & White", "black and white"),
        ("AT&T", "at&t"),
        ("(Pack of 2)", "pack of 2"),
        ("50%", "50%"),
        ("Ｆｉｌａ", "fila"),
        ("Straße", "strasse"),
        ("10\u00a0D  US", "10 d us"),
        ("G.H. Bass & Co.", "g.h. bass and co"),
    ],
)
def test_examples(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "placeholder", [None, "", " ", "n/a", "N/A.", "NA", "None", "unknown", "-", "null"]
)
def test_placeholders_mean_no_value(placeholder: str | None) -> None:
    assert normalize(placeholder) is None


def test_inner_punctuation_still_separates_values() -> None:
    assert not same_value("Black/White", "Black White")
    assert same_value("Black and White", "black & white")


@given(st.one_of(st.none(), st.text()))
def test_normalize_is_idempotent(value: str | None) -> None:
    once = normalize(value)
    assert normalize(once) == once


# ASCII plus Latin-1 letters: outside them upper() and lower() are not inverse (Turkish "ı").
@given(st.text(alphabet=st.characters(max_codepoint=0xFF, exclude_characters="ßÿµ")))
def test_case_and_whitespace_do_not_matter(value: str) -> None:
    spaced = "  " + "\t".join(value.split(" ")) + "\n"
    assert normalize(value.upper()) == normalize(value.lower()) == normalize(value.casefold())
    assert normalize(spaced) == normalize(value)


@given(st.text(alphabet=st.characters(categories=["Lu", "Ll", "Nd"]), min_size=1))
def test_words_are_kept_unless_they_are_placeholders(value: str) -> None:
    result = normalize(value)
    assert result is not None or value.casefold() in {"na", "none", "null", "nil", "unknown"}
    assert result is None or (result and result.strip() == result)
