"""The enqueue policy: needs a human, low confidence, the audit sample and its decay."""

from __future__ import annotations

from dissensus.config import Settings
from dissensus.domain import AttributeResult, EnrichedRecord, Resolution
from dissensus.review import ReviewPolicy, sample_point
from dissensus.review.policy import Triage

from .conftest import knife_record

POLICY = ReviewPolicy(confidence=0.3, audit_rate=0.05, audit_half_life=1000, audit_min_rate=0.005)


def consensus(product_id: str) -> EnrichedRecord:
    return knife_record(product_id, waiting=False)


def test_a_hand_off_or_an_abstention_needs_a_human() -> None:
    record = knife_record("k1")
    hand_off = Resolution(values={"Brand": "Acme"}, confidence=0.9, needs_human=True)
    for resolution in (hand_off, None):
        assert POLICY.triage(record, resolution=resolution, run_id="r", maturity=0) == Triage(
            "needs_human", ["Brand"]
        )
    # A disputed attribute the resolution left out is no low-confidence call either.
    partial = Resolution(values={}, confidence=0.1)
    assert POLICY.triage(record, resolution=partial, run_id="r", maturity=0) == Triage(
        "needs_human", ["Brand"]
    )


def test_a_resolution_below_the_threshold_is_low_confidence() -> None:
    record = knife_record("k1")
    unsure = Resolution(values={"Brand": "Acme"}, confidence=0.2)
    assert POLICY.triage(record, resolution=unsure, run_id="r", maturity=0) == Triage(
        "low_confidence", ["Brand"]
    )


def test_error_records_and_records_without_consensus_are_never_audited() -> None:
    broken = EnrichedRecord(id="x", category=None, error="bad record")
    settled = EnrichedRecord(
        id="y",
        category="Home",
        attributes={"Brand": AttributeResult(value="A", status="supervisor", confidence=0.9)},
    )
    always = ReviewPolicy(audit_rate=1.0)
    for record in (broken, settled):
        assert always.triage(record, resolution=None, run_id="r", maturity=0) is None


def test_the_audit_rate_halves_per_half_life_down_to_the_floor() -> None:
    assert [POLICY.audit_rate_at(n) for n in (0, 1000, 2000, 3000)] == [
        0.05,
        0.025,
        0.0125,
        0.00625,
    ]
    assert POLICY.audit_rate_at(10_000) == 0.005
    assert ReviewPolicy(audit_rate=0.0).audit_rate_at(0) == 0.0  # 0 turns audits off


def test_the_audit_sample_is_the_configured_share_of_consensus_records() -> None:
    ids = [f"p{i}" for i in range(20_000)]
    sampled = [
        i
        for i in ids
        if POLICY.triage(consensus(i), resolution=None, run_id="run-a", maturity=0) is not None
    ]
    assert 0.045 < len(sampled) / len(ids) < 0.055
    mature = [i for i in ids if POLICY.audited("run-a", i, maturity=2000)]
    assert 0.011 < len(mature) / len(ids) < 0.014
    assert set(mature) <= set(sampled)  # decay only drops products, it never swaps them
    triage = POLICY.triage(consensus(sampled[0]), resolution=None, run_id="run-a", maturity=0)
    assert triage == Triage("audit", ["Brand", "Knife type"], audit_rate=0.05)


def test_sampling_is_a_pure_function_of_run_and_product() -> None:
    ids = [f"p{i}" for i in range(2_000)]
    first = [i for i in ids if POLICY.audited("run-a", i, maturity=0)]
    again = [i for i in ids if ReviewPolicy().audited("run-a", i, maturity=0)]
    other_run = [i for i in ids if POLICY.audited("run-b", i, maturity=0)]
    assert first == again and first != other_run
    assert sample_point("run-a", "p1") == sample_point("run-a", "p1")
    assert 0.0 <= sample_point("run-a", "p1") < 1.0


def test_the_policy_reads_the_settings() -> None:
    settings = Settings.model_validate(
        {"review_confidence": 0.5, "review": {"audit_rate": 0.1, "audit_half_life": 10}}
    )
    assert ReviewPolicy.from_settings(settings) == ReviewPolicy(
        confidence=0.5, audit_rate=0.1, audit_half_life=10, audit_min_rate=0.005
    )
