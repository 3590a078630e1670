"""The lexicon: known values found in text, longest first, no two sharing a word."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dissensus.domain import Lexicon
from dissensus.domain.lexicon import value_shapes, value_tokens


def lexicon(**values: list[str]) -> Lexicon:
    lex = Lexicon()
    for attribute, known in values.items():
        for value in known:
            lex.add(attribute.replace("_", " "), value)
    return lex


def test_the_longest_known_value_wins_and_keeps_the_texts_spelling() -> None:
    lex = lexicon(Brand=["Finn", "Finn Comfort"], Gender=["women's"])
    found = lex.match("FINN COMFORT Women's 2051-014099", ["Brand", "Gender"])
    assert found == {"Brand": "FINN COMFORT", "Gender": "Women's"}


def test_two_attributes_never_share_a_word() -> None:
    # "Cast Iron" is a material; the brand "Cast" must not take the same word.
    lex = lexicon(Brand=["Cast"], Material=["Cast Iron"])
    assert lex.match("Lodge Cast Iron Skillet", ["Brand", "Material"]) == {"Material": "Cast Iron"}


def test_values_match_whole_tokens_only() -> None:
    lex = lexicon(Brand=["Ace"])
    assert lex.match("Spacer Bracket", ["Brand"]) == {}
    assert lex.match("ACE spacer", ["Brand"]) == {"Brand": "ACE"}


def test_a_known_value_is_never_found_inside_a_decimal_number() -> None:
    # Seen on a train slice: "8 Fl Oz" offered as the volume of "... 33.8 Fl Oz".
    lex = lexicon(Volume=["8 Fl Oz", "1,000 ml"], Size=["8"])
    assert lex.match("Super Skinny Conditioner, 33.8 Fl Oz", ["Volume"]) == {}
    assert lex.match("Sneaker, Size 8.5", ["Size"]) == {}
    assert lex.match("Serum 1,000 ml", ["Volume"]) == {"Volume": "1,000 ml"}
    assert lex.match("Shampoo 8 fl oz", ["Volume"]) == {"Volume": "8 fl oz"}


def test_ties_go_to_the_value_confirmed_more_often() -> None:
    lex = Lexicon()
    lex.add("Color", "Red", 1)
    lex.add("Flavor", "Red", 5)
    assert lex.match("Red Tea", ["Color", "Flavor"]) == {"Flavor": "Red"}
    assert lex.attributes_knowing("red") == ["Color", "Flavor"]
    assert lex.count("Flavor", "RED") == 5 and lex.knows("Color") and not lex.knows("Size")


def test_blank_na_and_sentence_values_are_not_kept() -> None:
    lex = Lexicon()
    for value in (None, "", "  ", "n/a", "one two three four five six seven eight nine ten x y z"):
        lex.add("Brand", value)
    assert len(lex) == 0


@given(st.lists(st.sampled_from(["acme", "chef", "knife", "8", '"', "steel", "red"]), max_size=12))
def test_matches_are_spans_of_the_text_and_never_overlap(words: list[str]) -> None:
    lex = lexicon(Brand=["acme", "acme chef"], Material=["steel", "chef knife"], Size=['8 "'])
    text = " ".join(words)
    found = lex.match(text, ["Brand", "Material", "Size"])
    for value in found.values():
        assert value in text
    # Disjoint spans: the chosen values together use no more words than the text has.
    assert sum(len(value_tokens(v)) for v in found.values()) <= len(value_tokens(text))


def test_the_vocabulary_of_an_attribute_is_the_words_of_its_known_values_numbers_as_hash() -> None:
    lexicon = Lexicon()
    lexicon.add("Load size", "66 Loads")
    lexicon.add("Load size", "32 loads")
    lexicon.add("Net content", "100 fl. oz")
    assert lexicon.vocabulary(["Load size", "Net content", "Brand"]) == {
        "Load size": ["#", "loads"],
        "Net content": ["#", ".", "fl", "oz"],
    }
    assert value_shapes("140 Loads") == ("#", "loads")
