"""The scorer: the ExtractGPT protocol and the strict variant on hand-computed cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dissensus.bench.loader import GoldLabels
from dissensus.bench.scoring import SlotCounts, classify, score, slot_scores

SCHEMA = {"Shoes": ["Brand", "Color", "Size"]}


def gold(**values: list[str]) -> GoldLabels:
    return GoldLabels(category="Shoes", values={k: tuple(v) for k, v in values.items()})


# Four records; the comment after each prediction is its slot in the published / strict variant.
GOLD = [
    gold(Brand=["Nike"], Color=["Red", "Crimson"], Size=["n/a"]),
    gold(Brand=[" Adidas "], Color=["Blue"]),
    gold(Brand=["Puma"], Size=["n/a"]),
    gold(Brand=["Asics"], Color=["Black"]),
]
PREDICTIONS: list[dict[str, str | None]] = [
    # Brand VC; Color VC (any gold value counts); Size NV (gold "n/a"); Gender ignored (no slot)
    {"Brand": "Nike", "Color": "Crimson", "Size": "10", "Gender": "Men's"},
    # Brand VC (gold is stripped); Color VW (case-sensitive); Size: skipped / NV (not listed)
    {"Brand": "Adidas", "Color": "blue", "Size": "9"},
    # Brand VW (the prediction is not stripped); Size NN; Color "n/a": skipped / NN
    {"Brand": " Puma", "Size": None, "Color": "n/a"},
    # Brand VN ("None" is no value); Color VN (missing); Size: skipped / NN
    {"Brand": "None"},
]


@pytest.mark.parametrize(
    ("values", "prediction", "kind"),
    [
        (["Nike"], "Nike", "vc"),
        (["Nike"], "nike", "vw"),
        ([" Nike "], "Nike", "vc"),
        (["Nike"], " Nike", "vw"),
        (["Red", "Crimson"], "Crimson", "vc"),
        (["n/a"], None, "nn"),
        (["n/a"], "n/a", "nn"),
        (["n/a"], "None", "nn"),
        (["n/a"], "Red", "nv"),
        (["n/a"], "N/A", "nv"),
        (["n/a", "Red"], "Red", "nv"),
        (["Red"], None, "vn"),
        (["Red"], "n/a", "vn"),
        (["Red"], "N/A", "vw"),
        (None, None, "nn"),
        (None, "Red", "nv"),
    ],
)
def test_each_slot_is_classified_by_the_published_rules(
    values: list[str] | None, prediction: str | None, kind: str
) -> None:
    assert classify(values, prediction) == kind


def test_published_variant_matches_hand_computed_counts_and_scores() -> None:
    scores = score(GOLD, PREDICTIONS, schema=SCHEMA, variant="published")
    pairs = scores.by_pair["Shoes"]
    assert pairs["Brand"].counts == SlotCounts(vc=2, vw=1, vn=1)
    # P = 2/3, R = 2/4; F1 from the rounded P and R: 2*66.67*50/116.67 = 57.14
    assert (pairs["Brand"].precision, pairs["Brand"].recall, pairs["Brand"].f1) == (
        66.67,
        50.0,
        57.14,
    )
    assert pairs["Color"].counts == SlotCounts(vc=1, vw=1, vn=1)
    assert (pairs["Color"].precision, pairs["Color"].recall, pairs["Color"].f1) == (
        50.0,
        33.33,
        40.0,
    )
    assert pairs["Size"].counts == SlotCounts(nv=1, nn=1)
    assert (pairs["Size"].precision, pairs["Size"].recall, pairs["Size"].f1) == (0.0, 0.0, 0.0)
    # Micro: VC 3, VW 2, VN 2, NV 1 -> P = 3/6 = 50, R = 3/7 = 42.86, F1 = 46.16
    assert scores.micro.counts == SlotCounts(vc=3, vw=2, vn=2, nv=1, nn=1)
    assert (scores.micro.precision, scores.micro.recall, scores.micro.f1) == (50.0, 42.86, 46.16)
    # Macro: mean of the pairs' rounded F1 = (57.14 + 40 + 0) / 3
    assert scores.macro.f1 == 32.38
    assert scores.macro.pairs == 3
    assert scores.by_category["Shoes"].f1 == scores.micro.f1
    assert scores.by_attribute["Color"].counts == SlotCounts(vc=1, vw=1, vn=1)


def test_strict_variant_counts_unlisted_schema_attributes_as_absent() -> None:
    scores = score(GOLD, PREDICTIONS, schema=SCHEMA, variant="strict")
    pairs = scores.by_pair["Shoes"]
    assert pairs["Brand"].counts == SlotCounts(vc=2, vw=1, vn=1)
    assert pairs["Color"].counts == SlotCounts(vc=1, vw=1, vn=1, nn=1)
    # Size: "10" against "n/a" and "9" for an unlisted attribute are both false positives.
    assert pairs["Size"].counts == SlotCounts(nv=2, nn=2)
    # Micro: VC 3, VW 2, VN 2, NV 2 -> P = 3/7, R = 3/7 -> 42.86 each
    assert (scores.micro.precision, scores.micro.recall, scores.micro.f1) == (42.86, 42.86, 42.86)


def test_a_pair_with_only_nn_slots_is_left_out_of_the_macro_average() -> None:
    records = [gold(Brand=["Nike"], Size=["n/a"])]
    scores = score(records, [{"Brand": "Nike"}], schema=SCHEMA, variant="published")
    assert list(scores.by_pair["Shoes"]) == ["Brand"]
    assert (scores.macro.f1, scores.macro.pairs) == (100.0, 1)
    strict = score(records, [{"Brand": "Nike", "Color": "Red"}], schema=SCHEMA, variant="strict")
    # Color is unlisted: "Red" is a false positive in the strict variant only.
    assert strict.by_pair["Shoes"]["Color"].counts == SlotCounts(nv=1)
    assert (strict.micro.precision, strict.micro.recall, strict.micro.f1) == (50.0, 100.0, 66.67)


def test_gold_attributes_outside_the_schema_are_still_scored() -> None:
    records = [gold(Brand=["Nike"], Width=["Wide"])]
    scores = score(records, [{"Brand": "Nike"}], schema=SCHEMA, variant="published")
    assert scores.by_pair["Shoes"]["Width"].counts == SlotCounts(vn=1)
    assert scores.micro.recall == 50.0


def test_categories_are_scored_separately_and_together() -> None:
    records = [
        gold(Brand=["Nike"]),
        GoldLabels(category="Tea", values={"Brand": ("Lipton",)}),
    ]
    scores = score(
        records, [{"Brand": "Nike"}, {"Brand": "Tazo"}], schema=SCHEMA, variant="published"
    )
    assert scores.by_category["Shoes"].f1 == 100.0
    assert scores.by_category["Tea"].f1 == 0.0
    assert scores.by_attribute["Brand"].counts == SlotCounts(vc=1, vw=1)
    assert scores.micro.f1 == 50.0


def test_empty_counts_score_zero_and_lengths_must_match() -> None:
    assert slot_scores(SlotCounts()).f1 == 0.0
    with pytest.raises(ValueError, match="2 gold records but 1 predictions"):
        score(GOLD[:2], PREDICTIONS[:1], schema=SCHEMA, variant="published")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Nike", " Nike", "n/a", "Puma"]), st.none() | st.text(max_size=5)
        ),
        max_size=12,
    )
)
def test_micro_precision_and_recall_stay_within_bounds(slots: list[tuple[str, str | None]]) -> None:
    records = [gold(Brand=[g]) for g, _ in slots]
    predictions = [{"Brand": p} for _, p in slots]
    for variant in ("published", "strict"):
        scores = score(records, predictions, schema=SCHEMA, variant=variant)
        assert 0.0 <= scores.micro.precision <= 100.0
        assert 0.0 <= scores.micro.recall <= 100.0
        assert scores.micro.counts.vc <= len(slots)
