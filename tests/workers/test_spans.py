"""The span enum: what values a worker may copy from the product text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dissensus.workers.spans import NA, closed_options, text_spans

FILA = "Fila Men's Hometown Extra-M, Black/White/Vintage Red, 10 M US"

texts = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 ,.;:-/'\"&()\n\té")), min_size=0, max_size=80
)
limits = st.integers(min_value=1, max_value=60)
words = st.integers(min_value=1, max_value=7)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_spans_of_a_listing_keep_values_whole_and_do_not_cross_commas() -> None:
    spans = text_spans([FILA])
    for value in ("Fila", "Men's", "Hometown Extra-M", "Black/White/Vintage Red", "10 M US"):
        assert value in spans
    assert "Extra-M, Black/White/Vintage" not in spans
    assert not any("," in s for s in spans)
    assert spans[-1] == NA


def test_shorter_spans_come_first() -> None:
    spans = text_spans(["Diesel Men's Exposure High-Top Sneaker"])[:-1]
    lengths = [len(s.split()) for s in spans]
    assert lengths == sorted(lengths)
    assert spans[:5] == ["Diesel", "Men's", "Exposure", "High-Top", "High"]


def test_hyphen_glued_values_are_offered_as_parts() -> None:
    spans = text_spans(["Pearl Izumi Men's X-Alp Low Shoe-49-Black/Moonlight"])
    assert {"49", "Black/Moonlight", "X-Alp Low", "Pearl Izumi"} <= set(spans)


def test_a_final_period_is_offered_with_and_without() -> None:
    spans = text_spans(["G.H. Bass & Co. Women's Margie Sandal"])
    assert "G.H. Bass & Co" in spans
    assert "G.H. Bass & Co." in spans
    assert spans.index("G.H. Bass & Co") < spans.index("G.H. Bass & Co.")


def test_inch_marks_stay_and_quotes_go() -> None:
    spans = text_spans(['Acer 15.6" Laptop "Swift" edition'])
    assert '15.6"' in spans
    assert "Swift" in spans
    assert '"Swift"' not in spans


def test_description_spans_follow_title_spans() -> None:
    spans = text_spans(["Acme Kettle", "Made of steel"], limit=4)
    assert spans == ["Acme", "Kettle", "Acme Kettle", NA]


def test_na_in_the_text_is_not_a_second_escape() -> None:
    assert text_spans(["Color: N/A"]) == ["Color", NA]


def test_closed_options_dedupe_and_end_with_na() -> None:
    assert closed_options(["Men's", "Women's", "Men's", NA]) == ["Men's", "Women's", NA]


@given(st.lists(st.one_of(st.none(), texts), max_size=3), words, limits)
def test_every_span_is_copied_from_a_text(
    sources: list[str | None], max_words: int, limit: int
) -> None:
    spans = text_spans(sources, max_words=max_words, limit=limit)
    flat = [_flat(t) for t in sources if t]
    for span in spans[:-1]:
        assert any(span in t for t in flat), span
        assert span == span.strip() and any(c.isalnum() for c in span)
        assert len(span.split()) <= max_words


@given(st.lists(texts, max_size=3), words, limits)
def test_na_is_last_and_the_cap_holds(sources: list[str], max_words: int, limit: int) -> None:
    spans = text_spans(sources, max_words=max_words, limit=limit)
    assert spans[-1] == NA
    assert len(spans) <= limit
    assert len(set(spans)) == len(spans)
    assert sum(s.casefold() == NA for s in spans) == 1


@given(st.lists(texts, max_size=3), words, limits)
def test_spans_are_deterministic_and_a_smaller_cap_is_a_prefix(
    sources: list[str], max_words: int, limit: int
) -> None:
    full = text_spans(sources, max_words=max_words, limit=1000)
    assert text_spans(list(sources), max_words=max_words, limit=1000) == full
    capped = text_spans(sources, max_words=max_words, limit=limit)
    assert capped[:-1] == full[:-1][: limit - 1]
