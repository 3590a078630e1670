"""The lexicon worker: a model-free vote of known values, in scope only where it knows some."""

from __future__ import annotations

from dissensus.consensus import ConsensusPolicy, decide
from dissensus.domain import AttributeSpec, Extraction, Lexicon, Product
from dissensus.workers import LEXICON_MODEL, LexiconWorker

ATTRS = [
    AttributeSpec(name="Brand"),
    AttributeSpec(name="Color"),
    AttributeSpec(name="Knife type", values=["Chef", "Paring", "Santoku"]),
    AttributeSpec(name="Dishwasher safe", values=["yes", "no"]),
]
KNIFE = Product(id="p1", title="Kaito Santoku Knife, no rust", category="Home > Knives")


def known() -> Lexicon:
    lex = Lexicon()
    lex.add("Brand", "Kaito")
    lex.add("Brand", "Acme")
    return lex


def test_it_votes_known_values_and_absence_only_where_it_knows_values() -> None:
    extraction = LexiconWorker().extract(KNIFE, ATTRS, known(), learnings=["L-1"])
    assert extraction.model == LEXICON_MODEL and extraction.role == "lexicon"
    # Brand: known and found. Color: no value known at all, so out of scope (not "absent").
    # Knife type: exactly one allowed value named. Dishwasher safe: "no" is not a word to read.
    assert extraction.values == {"Brand": "Kaito", "Knife type": "Santoku"}
    assert extraction.scope == ["Brand", "Knife type"]
    assert extraction.learnings == ["L-1"] and extraction.usage.requests == 0


def test_a_known_attribute_with_no_match_is_an_absent_vote() -> None:
    other = Product(id="p2", title="Zeta Paring and Chef Knife Set", category="Home > Knives")
    extraction = LexiconWorker().extract(other, ATTRS, known())
    # Two allowed knife types named: no opinion; the brand is unknown: an absent vote.
    assert extraction.values == {"Brand": None}


def test_consensus_counts_the_lexicon_only_in_its_scope() -> None:
    generator = Extraction(
        model="m",
        role="generator-a",
        values={
            "Brand": "Kaito Santoku",
            "Color": "red",
            "Knife type": "Santoku",
            "Dishwasher safe": "no",
        },
    )
    lexicon = LexiconWorker().extract(KNIFE, ATTRS, known())
    outcome = decide([generator, lexicon], None, ATTRS, ConsensusPolicy())
    assert outcome.disputed == ["Brand"]  # "Kaito Santoku" vs "Kaito": a real signal
    assert outcome.decisions["Color"].value == "red"  # the generator alone, lexicon out of scope
    assert outcome.decisions["Knife type"].confidence == 0.8  # two of two, no evaluator
    assert outcome.decisions["Dishwasher safe"].agreed
