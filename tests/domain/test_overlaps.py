"""One product's values do not share words: ``domain.overlaps.separate``."""

from __future__ import annotations

import itertools

from dissensus.domain import separate


def test_a_value_that_ends_with_another_attributes_value_is_cut_back() -> None:
    out = separate({"Model name": "Battery Park Slip On"}, {"Shoe type": "Slip On"})
    assert out == {"Model name": "Battery Park"}


def test_a_value_that_starts_with_another_is_cut_back_and_the_text_spelling_is_kept() -> None:
    out = separate({"Flavor": "Decaf, Chocolate Raspberry Truffle"}, {"Caffeine": "DECAF"})
    assert out == {"Flavor": "Chocolate Raspberry Truffle"}


def test_cuts_repeat_until_nothing_changes() -> None:
    settled = {"Brand": "Dunham", "Gender": "Men's", "Shoe type": "Slip On"}
    out = separate({"Model name": "Dunham Men's Battery Park Slip On"}, settled)
    assert out == {"Model name": "Battery Park"}


def test_the_longest_other_value_is_cut_first() -> None:
    # Cutting "Green Tea" first would leave the brand as the flavour.
    resolved = {"Flavor": "Newman's Own Organics Green Tea", "Tea variety": "Green Tea"}
    out = separate(resolved, {"Brand": "Newman's Own Organics"})
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
        out = separate({k: values[k] for k in order}, {})
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
    assert separate(resolved, settled) == resolved


def test_only_resolved_values_are_returned_and_cut() -> None:
    # The settled (consensus) value is only compared against: it is never returned or cut.
    out = separate({"Shoe type": "Slip On"}, {"Model name": "Battery Park Slip On"})
    assert out == {"Shoe type": "Slip On"}
