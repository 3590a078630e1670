"""One product's values do not share words: ``domain.overlaps``."""

from __future__ import annotations

import itertools

from dissensus.domain import Lexicon, separate
from dissensus.domain.overlaps import cut_back, one_owner


def test_a_value_that_ends_with_another_attributes_value_is_cut_back() -> None:
    out = cut_back({"Model name": "Battery Park Slip On"}, {"Shoe type": "Slip On"})
    assert out == {"Model name": "Battery Park"}


def test_a_value_that_starts_with_another_is_cut_back_and_the_text_spelling_is_kept() -> None:
    out = cut_back({"Flavor": "Decaf, Chocolate Raspberry Truffle"}, {"Caffeine": "DECAF"})
    assert out == {"Flavor": "Chocolate Raspberry Truffle"}


def test_cuts_repeat_until_nothing_changes() -> None:
    settled = {"Brand": "Dunham", "Gender": "Men's", "Shoe type": "Slip On"}
    out = cut_back({"Model name": "Dunham Men's Battery Park Slip On"}, settled)
    assert out == {"Model name": "Battery Park"}


def test_the_longest_other_value_is_cut_first() -> None:
    # Cutting "Green Tea" first would leave the brand as the flavour.
    resolved = {"Flavor": "Newman's Own Organics Green Tea", "Tea variety": "Green Tea"}
    out = cut_back(resolved, {"Brand": "Newman's Own Organics"})
    assert out == {"Flavor": "Green Tea", "Tea variety": "Green Tea"}


def test_the_result_does_not_depend_on_the_order_of_the_values() -> None:
    values = {
        "Model name": "Dunham Men's Battery Park Slip On",
        "Brand": "Dunham",
        "Gender": "Men's",
        "Shoe type": "Slip On",
        "Size": "8 D US",
    }
    results = set()
    for order in itertools.permutations(values):
        out = cut_back({k: values[k] for k in order}, {})
        results.add(tuple(sorted(out.items())))
    assert len(results) == 1
    assert dict(next(iter(results)))["Model name"] == "Battery Park"


def test_what_is_left_alone() -> None:
    resolved = {
        "Supplement type": "Vitamin C with Rose Hips",  # "Rose" only in the middle
        "Net content": "Pack of 2",  # the rest, "Pack of", would end with a joining word
        "Color": "Black",  # equal to another value: nothing would be left
        "Material": "Brown Smooth",  # "Brown Sm" is not a whole value at its edge
        "Age": None,
    }
    settled = {"Ingredient": "Rose", "Count": "2", "Brand color": "Black", "Finish": "Smoo"}
    assert cut_back(resolved, settled) == resolved


def test_only_resolved_values_are_returned_and_cut() -> None:
    # The settled (consensus) value is only compared against: it is never returned or cut.
    out = cut_back({"Shoe type": "Slip On"}, {"Model name": "Battery Park Slip On"})
    assert out == {"Shoe type": "Slip On"}


def _vocabulary(known: dict[str, list[str]]) -> dict[str, list[str]]:
    lexicon = Lexicon()
    for attribute, values in known.items():
        for value in values:
            lexicon.add(attribute, value)
    return lexicon.vocabulary(known)


def test_a_value_consensus_gave_another_attribute_is_dropped() -> None:
    out = one_owner(
        {"Pack size": "12 OZ", "Flavor": "Dark Roast"},
        {"Net content": "12 oz", "Roast type": None},
        {},
    )
    assert out == {"Pack size": None, "Flavor": "Dark Roast"}


def test_a_repeated_value_stays_with_the_attribute_whose_words_it_uses() -> None:
    vocabulary = _vocabulary(
        {"Net content": ["100 oz", "50 Fl Oz"], "Load size": ["66 Loads", "32 loads"]}
    )
    # "140 loads" has the load sizes' words (a number and "loads"), the net contents' only a
    # number: it is a load size.
    out = one_owner(
        {"Net content": "140 loads", "Load size": "140 loads", "Scent": "Clean Burst"},
        {},
        vocabulary,
    )
    assert out == {"Net content": None, "Load size": "140 loads", "Scent": "Clean Burst"}


def test_a_repeated_value_no_attribute_claims_is_dropped_everywhere() -> None:
    vocabulary = _vocabulary({"Brand": ["Fanola", "Redken"], "Benefit": ["Color Protection"]})
    resolved = {
        "Brand": "No Yellow",
        "Benefit": "No Yellow",
        "Scent": "No Yellow",
        "Volume": "350ml",
    }
    out = one_owner(resolved, {}, vocabulary)
    assert out == {"Brand": None, "Benefit": None, "Scent": None, "Volume": "350ml"}


def test_a_tie_between_two_attributes_drops_the_value_from_both() -> None:
    vocabulary = _vocabulary({"Flavor": ["Green Tea"], "Tea variety": ["Green Tea"]})
    out = one_owner({"Flavor": "Green Tea", "Tea variety": "green tea"}, {}, vocabulary)
    assert out == {"Flavor": None, "Tea variety": None}


def test_the_owner_does_not_depend_on_the_order_of_the_values() -> None:
    vocabulary = _vocabulary({"Firmness": ["Soft", "Medium"], "Color": ["Blue"]})
    values = {"Color": "Soft", "Firmness": "Soft", "Specialty": "Soft", "Age": None}
    results = {
        tuple(sorted(one_owner({k: values[k] for k in order}, {}, vocabulary).items()))
        for order in itertools.permutations(values)
    }
    assert results == {(("Age", None), ("Color", None), ("Firmness", "Soft"), ("Specialty", None))}


def test_separate_cuts_first_and_then_gives_each_value_one_owner() -> None:
    # The cut turns "Battery Park Slip On" into "Battery Park", which the model name also
    # holds; only the model name's vocabulary has those words.
    vocabulary = _vocabulary({"Model name": ["Battery Park II"], "Style": ["Loafer"]})
    out = separate(
        {"Model name": "Battery Park", "Style": "Battery Park Slip On"},
        {"Shoe type": "Slip On"},
        vocabulary,
    )
    assert out == {"Model name": "Battery Park", "Style": None}
