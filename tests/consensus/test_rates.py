"""Disagreement tallies: counting, rates and merging."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dissensus.consensus.decide import ConsensusOutcome, decide
from dissensus.consensus.rates import CategoryTally, DisagreementTally
from dissensus.domain import AttributeSpec, Extraction

ATTRS = [AttributeSpec(name="Brand"), AttributeSpec(name="Color")]


def _outcome(brand_b: str, color_b: str | None, abstain: bool = False) -> ConsensusOutcome:
    return decide(
        [
            Extraction(model="m", role="a", values={"Brand": "Fila", "Color": "Red"}),
            Extraction(
                model="m",
                role="b",
                values={"Brand": brand_b, "Color": color_b},
                abstained=abstain,
            ),
        ],
        None,
        ATTRS,
    )


def test_record_counts_products_slots_and_reasons() -> None:
    tally = DisagreementTally()
    tally.record("Shoes", _outcome("Fila", "Red"))
    tally.record("Shoes", _outcome("Nike", "Red"))
    tally.record("Shoes", _outcome("Fila", "Red", abstain=True))
    tally.record("Kettles", _outcome("Fila", "Red"))
    shoes = tally.categories["Shoes"]
    assert shoes == CategoryTally(
        products=3,
        disputed_products=2,
        slots=6,
        disputed_slots=3,
        by_reason={"abstained": 2, "disagreement": 1},
    )
    assert tally.rate("Shoes") == 2 / 3
    assert tally.rate("Shoes", per="slot") == 0.5
    assert shoes.reason_rate("abstained") == 2 / 6
    assert tally.rate() == 2 / 4
    assert tally.rate("Unknown") == 0.0
    assert tally.total().slots == 8


counts = st.builds(
    CategoryTally,
    products=st.integers(0, 50),
    disputed_products=st.integers(0, 50),
    slots=st.integers(0, 50),
    disputed_slots=st.integers(0, 50),
    by_reason=st.dictionaries(
        st.sampled_from(["disagreement", "rejected", "abstained"]), st.integers(1, 9)
    ),
)
tallies = st.builds(
    DisagreementTally, categories=st.dictionaries(st.sampled_from(["A", "B", "C"]), counts)
)


@given(tallies, tallies, tallies)
def test_merging_is_associative_and_commutative(
    a: DisagreementTally, b: DisagreementTally, c: DisagreementTally
) -> None:
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a
    assert (a + b).total() == a.total() + b.total()


@given(tallies)
def test_an_empty_tally_is_neutral(a: DisagreementTally) -> None:
    assert a + DisagreementTally() == DisagreementTally() + a
    assert (a + DisagreementTally()).total() == a.total()
