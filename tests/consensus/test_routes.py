"""Routes: when the supervisor's track record lets consensus settle a lone value alone."""

from __future__ import annotations

import pytest

from dissensus.consensus import (
    ConsensusPolicy,
    Route,
    audited,
    decide,
    presence_routes,
    route_for,
    routes_from,
)
from dissensus.domain import AttributeSpec, Extraction, TrackCounts

ATTRS = [AttributeSpec(name="Brand"), AttributeSpec(name="Color")]
POLICY = ConsensusPolicy(min_voters=2)


def _team(gen: dict[str, str | None], lexicon: dict[str, str | None]) -> list[Extraction]:
    return [
        Extraction(model="m", role="generator-a", values=gen),
        Extraction(model="lexicon", role="lexicon", values=lexicon, scope=list(lexicon)),
    ]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        (TrackCounts(absent=3), None),  # too few rulings
        (TrackCounts(absent=4), "absent"),  # (4 + 1) / 6 = 0.83
        (TrackCounts(upheld=1, absent=7), "absent"),  # 0.8: one ruling against in eight
        (TrackCounts(replaced=1, absent=7), "absent"),
        (TrackCounts(upheld=2, absent=6), None),  # 0.7: still the supervisor's call
        (TrackCounts(upheld=9), None),  # never a route that publishes a lone value
        (TrackCounts(replaced=9), None),  # nor one that drops what the supervisor corrects
    ],
)
def test_a_route_needs_enough_rulings_of_absence(counts: TrackCounts, expected: str | None) -> None:
    assert route_for(counts, after=4, share=0.8) == expected


def test_zero_after_never_routes() -> None:
    assert route_for(TrackCounts(absent=100), after=0, share=0.8) is None
    record = {
        ("Color", "generator-a"): TrackCounts(absent=9),
        ("Brand", "generator-a"): TrackCounts(upheld=5, absent=5),
    }
    assert routes_from(record, after=4, share=0.8) == {("Color", "generator-a"): "absent"}


def test_a_lone_value_is_named_and_sent_up_without_a_route() -> None:
    # Brand: the lexicon knows brands and found none; Color: the lexicon knows no colors.
    outcome = decide(
        _team({"Brand": "Kaito", "Color": "7in"}, {"Brand": None}), None, ATTRS, POLICY
    )
    assert outcome.disputed == ["Brand", "Color"]
    assert outcome.decisions["Brand"].lone == ("Brand", "generator-a")
    assert outcome.decisions["Color"].lone == ("Color", "generator-a")
    assert outcome.routed == []


def test_a_route_settles_a_lone_value_as_absent_instead_of_asking_the_supervisor() -> None:
    routes: dict[tuple[str, str], Route] = {("Color", "generator-a"): "absent"}
    outcome = decide(
        _team({"Brand": "Kaito", "Color": "7in"}, {"Brand": None}), None, ATTRS, POLICY, routes
    )
    assert outcome.disputed == ["Brand"]
    assert outcome.routed == ["Color"]
    assert outcome.settled == {"Color": None}
    # One voice (the only worker with Color in scope), no evaluator.
    assert outcome.decisions["Color"].confidence == 0.8


def test_two_different_values_are_never_routed() -> None:
    routes: dict[tuple[str, str], Route] = {
        ("Brand", "generator-a"): "absent",
        ("Brand", "lexicon"): "absent",
    }
    outcome = decide(_team({"Brand": "Kaito"}, {"Brand": "Acme"}), None, ATTRS[:1], POLICY, routes)
    assert outcome.disputed == ["Brand"]
    assert outcome.decisions["Brand"].lone is None


def test_a_route_of_another_worker_or_attribute_does_not_apply() -> None:
    routes: dict[tuple[str, str], Route] = {
        ("Color", "generator-b"): "absent",
        ("Size", "generator-a"): "absent",
    }
    outcome = decide(_team({"Color": "7in"}, {}), None, ATTRS[1:], POLICY, routes)
    assert outcome.disputed == ["Color"]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        (TrackCounts(upheld=4), None),  # (4 + 1) / 6 = 0.83 < 0.85
        (TrackCounts(upheld=5), "keep"),  # 6 / 7 = 0.86
        (TrackCounts(upheld=9, replaced=1), None),  # 10 / 12 = 0.83
        (TrackCounts(upheld=11, replaced=1), "keep"),  # 12 / 14 = 0.86
        (TrackCounts(upheld=8, absent=2), None),  # 0.75: the supervisor still drops some
        (TrackCounts(absent=9), "absent"),
    ],
)
def test_a_keep_route_needs_a_stricter_share_of_upheld_rulings(
    counts: TrackCounts, expected: str | None
) -> None:
    assert route_for(counts, after=4, share=0.8, keep_share=0.85) == expected


def test_keep_share_none_never_keeps() -> None:
    assert route_for(TrackCounts(upheld=100), after=4, share=0.8, keep_share=None) is None
    record = {("Brand", "generator-a"): TrackCounts(upheld=9)}
    assert routes_from(record, after=4, share=0.8, keep_share=0.85) == {
        ("Brand", "generator-a"): "keep"
    }


@pytest.mark.parametrize(
    ("value", "text", "kept"),
    [
        ("Kaito", "KAITO Voyager Radio", True),  # compared as consensus compares
        ("Kaito Voyager", "KAITO  Voyager Radio", True),
        ("Kai", "KAITO Voyager Radio", False),  # part of a word
        ("Kaito Pro", "KAITO Voyager Radio", False),  # a completion, not a span
        ("Radio", "Kaito Voyager Radio", True),
        ("Kaito", None, False),  # no text: never kept
    ],
)
def test_a_keep_route_publishes_only_a_span_of_the_products_text(
    value: str, text: str | None, kept: bool
) -> None:
    routes: dict[tuple[str, str], Route] = {("Brand", "generator-a"): "keep"}
    outcome = decide(
        _team({"Brand": value}, {"Brand": None}), None, ATTRS[:1], POLICY, routes, text
    )
    if kept:
        assert outcome.routed == ["Brand"]
        assert outcome.settled == {"Brand": value}
        assert outcome.decisions["Brand"].confidence == 0.4  # one voice of two, no evaluator
    else:
        assert outcome.disputed == ["Brand"]


def test_the_audit_sample_is_stable_and_near_its_share() -> None:
    ids = [f"p{n}" for n in range(2000)]
    picked = [i for i in ids if audited(i, 0.1)]
    assert 150 < len(picked) < 250
    assert picked == [i for i in ids if audited(i, 0.1)]
    assert not any(audited(i, 0.0) for i in ids)
    assert all(audited(i, 1.0) for i in ids)


def test_the_presence_prior_holds_until_the_record_has_enough_rulings() -> None:
    prior = presence_routes(["Color", "Country"], ["generator-a", "generator-b"])
    assert prior == {
        ("Color", "generator-a"): "absent",
        ("Color", "generator-b"): "absent",
        ("Country", "generator-a"): "absent",
        ("Country", "generator-b"): "absent",
    }
    record = {
        # Four rulings that kept generator-a's color: the record decides (a keep route).
        ("Color", "generator-a"): TrackCounts(upheld=4),
        # Mixed rulings: the supervisor is still needed, the prior no longer holds.
        ("Country", "generator-a"): TrackCounts(upheld=2, absent=2),
        # Too few rulings to outweigh the prior.
        ("Color", "generator-b"): TrackCounts(upheld=3),
    }
    assert routes_from(record, after=4, share=0.8, keep_share=0.8, prior=prior) == {
        ("Color", "generator-a"): "keep",
        ("Color", "generator-b"): "absent",
        ("Country", "generator-b"): "absent",
    }
    assert presence_routes([], ["generator-a"]) == {}
