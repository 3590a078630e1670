"""Consensus decisions: examples of each reason, and properties of the rules."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dissensus.consensus.decide import ConsensusOutcome, confidence, decide
from dissensus.consensus.normalize import normalize
from dissensus.consensus.policy import ConsensusPolicy
from dissensus.domain import (
    AttributeDispute,
    AttributeSpec,
    Evaluation,
    Extraction,
    Verdict,
    VerdictKind,
)

BRAND = [AttributeSpec(name="Brand")]
ATTRS = [AttributeSpec(name="Brand"), AttributeSpec(name="Color")]


def _ex(role: str, abstained: bool = False, **values: str | None) -> Extraction:
    return Extraction(model="m", role=role, values=values, abstained=abstained)


def _eval(**verdicts: VerdictKind) -> Evaluation:
    return Evaluation(
        model="e",
        verdicts={k: Verdict(attribute=k, verdict=v, reason="why") for k, v in verdicts.items()},
    )


def test_unanimous_values_agree_with_the_common_spelling() -> None:
    outcome = decide(
        [_ex("a", Brand="Fila"), _ex("b", Brand="FILA"), _ex("c", Brand="Fila,")],
        _eval(Brand="ok"),
        BRAND,
    )
    decision = outcome.decisions["Brand"]
    assert decision.agreed and decision.reason == "agreement"
    assert decision.value == "FILA" or decision.value == "Fila"
    assert decision.confidence == 1.0
    assert outcome.disputed == [] and outcome.all_agreed
    assert outcome.settled == {"Brand": decision.value}


def test_the_most_common_spelling_wins() -> None:
    outcome = decide(
        [_ex("a", Brand="fila"), _ex("b", Brand="Fila"), _ex("c", Brand="Fila")], None, BRAND
    )
    assert outcome.decisions["Brand"].value == "Fila"
    assert outcome.decisions["Brand"].confidence == 0.8


def test_different_values_are_a_disagreement_for_the_supervisor() -> None:
    outcome = decide(
        [
            _ex("generator-a", Brand="Fila", Color=None),
            _ex("generator-b", Brand="Fila Men's", Color="n/a"),
        ],
        Evaluation(
            model="e",
            verdicts={
                "Brand": Verdict(
                    attribute="Brand", verdict="wrong", reason="includes gender", suggestion="Fila"
                )
            },
        ),
        ATTRS,
    )
    assert outcome.disputed == ["Brand"]
    assert outcome.decisions["Color"].agreed and outcome.decisions["Color"].value is None
    brand = outcome.decisions["Brand"]
    assert brand.reason == "disagreement" and brand.value is None
    assert brand.confidence == 0.1
    assert outcome.disputes() == [
        AttributeDispute(
            attribute="Brand",
            reason="disagreement",
            candidates={"generator-a": "Fila", "generator-b": "Fila Men's"},
            evaluator="wrong: includes gender (suggests 'Fila')",
        )
    ]


def test_a_veto_rejects_an_agreed_value() -> None:
    outcome = decide(
        [_ex("a", Brand="Men's"), _ex("b", Brand="Men's")], _eval(Brand="wrong"), BRAND
    )
    assert outcome.decisions["Brand"].reason == "rejected"
    assert outcome.decisions["Brand"].value == "Men's"
    assert outcome.decisions["Brand"].confidence == 0.2
    lenient = decide(
        [_ex("a", Brand="Men's"), _ex("b", Brand="Men's")],
        _eval(Brand="wrong"),
        BRAND,
        ConsensusPolicy(evaluator_veto=False),
    )
    assert lenient.decisions["Brand"].agreed


def test_missing_rejects_agreed_absence_and_ambiguous_escalates() -> None:
    outcome = decide(
        [_ex("a", Brand=None, Color="Red"), _ex("b", Brand=None, Color="red")],
        _eval(Brand="missing", Color="ambiguous"),
        ATTRS,
    )
    assert outcome.decisions["Brand"].reason == "rejected"
    assert outcome.decisions["Color"].reason == "ambiguous"
    assert outcome.decisions["Color"].evaluator_note == "ambiguous: why"


def test_absent_agreement_can_be_distrusted() -> None:
    extractions = [_ex("a", Brand=None), _ex("b", Brand="n/a")]
    assert decide(extractions, None, BRAND).decisions["Brand"].agreed
    strict = decide(extractions, None, BRAND, ConsensusPolicy(absent_agreement_is_consensus=False))
    assert strict.decisions["Brand"].reason == "disagreement"


def test_abstentions_escalate_and_are_not_candidates() -> None:
    extractions = [_ex("a", Brand="Fila"), _ex("b", abstained=True)]
    decision = decide(extractions, None, BRAND).decisions["Brand"]
    assert decision.reason == "abstained" and not decision.agreed
    assert decision.candidates == {"a": "Fila"} and decision.abstained == ["b"]
    # Not escalating the abstention itself still needs every generator under the default quorum.
    lenient = ConsensusPolicy(abstention_escalates=False)
    assert decide(extractions, None, BRAND, lenient).decisions["Brand"].reason == "abstained"
    one = ConsensusPolicy(abstention_escalates=False, quorum=1)
    assert decide(extractions, None, BRAND, one).decisions["Brand"].agreed


def test_a_missing_key_counts_as_an_abstention_for_that_attribute() -> None:
    decision = decide([_ex("a", Brand="Fila", Color="Red"), _ex("b", Brand="Fila")], None, ATTRS)
    assert decision.decisions["Brand"].agreed
    assert decision.decisions["Color"].reason == "abstained"


def test_an_abstained_evaluator_escalates_by_policy() -> None:
    extractions = [_ex("a", Brand="Fila"), _ex("b", Brand="Fila")]
    silent = Evaluation(model="e", abstained=True, error="timeout")
    decision = decide(extractions, silent, BRAND).decisions["Brand"]
    assert decision.reason == "abstained"
    assert decision.evaluator_note == "evaluator abstained: timeout"
    policy = ConsensusPolicy(evaluator_abstention_escalates=False)
    kept = decide(extractions, silent, BRAND, policy).decisions["Brand"]
    assert kept.agreed and kept.confidence == 0.8


def test_quorum_two_of_three_settles_a_majority() -> None:
    extractions = [_ex("a", Brand="Fila"), _ex("b", Brand="fila"), _ex("c", Brand="Nike")]
    assert decide(extractions, None, BRAND).decisions["Brand"].reason == "disagreement"
    majority = decide(extractions, None, BRAND, ConsensusPolicy(quorum=2)).decisions["Brand"]
    assert majority.agreed and majority.confidence == round(2 / 3 * 0.8, 4)


def test_a_tie_never_settles_even_with_quorum_one() -> None:
    extractions = [_ex("a", Brand="Fila"), _ex("b", Brand="Nike")]
    decision = decide(extractions, None, BRAND, ConsensusPolicy(quorum=1)).decisions["Brand"]
    assert decision.reason == "disagreement" and decision.value is None


def test_duplicate_roles_are_refused() -> None:
    with pytest.raises(ValueError, match="distinct"):
        decide([_ex("a", Brand="x"), _ex("a", Brand="x")], None, BRAND)


def test_confidence_is_share_times_evaluator_factor() -> None:
    assert confidence(1.0, "ok") == 1.0
    assert confidence(1.0, None) == 0.8
    assert confidence(0.5, "ambiguous") == 0.25
    assert confidence(1.0, "missing") == 0.2


# --- properties ------------------------------------------------------------------------------

VALUES = st.sampled_from(["Fila", "fila", "FILA ", "Nike", "Black/White", None, "n/a"])
VERDICTS = st.sampled_from(["ok", "wrong", "missing", "ambiguous"])


@st.composite
def teams(draw: st.DrawFn) -> list[Extraction]:
    n = draw(st.integers(min_value=1, max_value=4))
    return [
        Extraction(
            model="m",
            role=f"g{i}",
            abstained=draw(st.booleans()) if draw(st.integers(0, 3)) == 0 else False,
            values={"Brand": draw(VALUES), "Color": draw(VALUES)},
        )
        for i in range(n)
    ]


evaluations = st.one_of(
    st.none(),
    st.builds(
        lambda b, c, abstained: Evaluation(
            model="e",
            abstained=abstained,
            verdicts={}
            if abstained
            else {
                "Brand": Verdict(attribute="Brand", verdict=b),
                "Color": Verdict(attribute="Color", verdict=c),
            },
        ),
        VERDICTS,
        VERDICTS,
        st.booleans(),
    ),
)
policies = st.builds(
    ConsensusPolicy,
    quorum=st.one_of(st.none(), st.integers(min_value=1, max_value=5)),
    evaluator_veto=st.booleans(),
    ambiguous_escalates=st.booleans(),
    absent_agreement_is_consensus=st.booleans(),
    abstention_escalates=st.booleans(),
    evaluator_abstention_escalates=st.booleans(),
)


def _all_ok(names: list[str]) -> Evaluation:
    return Evaluation(model="e", verdicts={n: Verdict(attribute=n, verdict="ok") for n in names})


@given(st.integers(min_value=1, max_value=4), VALUES, policies)
def test_unanimity_with_an_ok_evaluator_agrees(
    n: int, value: str | None, policy: ConsensusPolicy
) -> None:
    extractions = [_ex(f"g{i}", Brand=value) for i in range(n)]
    decision = decide(extractions, _all_ok(["Brand"]), BRAND, policy).decisions["Brand"]
    within_quorum = policy.quorum is None or policy.quorum <= n
    trusted = normalize(value) is not None or policy.absent_agreement_is_consensus
    assert decision.agreed == (within_quorum and trusted)
    if decision.agreed:
        assert normalize(decision.value) == normalize(value)
        assert decision.confidence == 1.0


@given(teams(), evaluations, policies)
def test_any_abstention_disputes_when_abstentions_escalate(
    extractions: list[Extraction], evaluation: Evaluation | None, policy: ConsensusPolicy
) -> None:
    outcome = decide(extractions, evaluation, ATTRS, policy)
    if policy.abstention_escalates and any(e.abstained for e in extractions):
        assert outcome.disputed == ["Brand", "Color"]
        assert {d.reason for d in outcome.decisions.values()} == {"abstained"}


@given(teams(), evaluations, policies, st.randoms(use_true_random=False))
def test_generator_order_never_changes_the_decision(
    extractions: list[Extraction],
    evaluation: Evaluation | None,
    policy: ConsensusPolicy,
    rnd: random.Random,
) -> None:
    shuffled = list(extractions)
    rnd.shuffle(shuffled)
    assert decide(shuffled, evaluation, ATTRS, policy) == decide(
        extractions, evaluation, ATTRS, policy
    )


@given(teams(), evaluations, policies)
def test_a_veto_always_disputes(
    extractions: list[Extraction], evaluation: Evaluation | None, policy: ConsensusPolicy
) -> None:
    outcome = decide(extractions, evaluation, ATTRS, policy)
    for name, decision in outcome.decisions.items():
        verdict = evaluation.verdicts.get(name) if evaluation else None
        if verdict and verdict.verdict in ("wrong", "missing") and policy.evaluator_veto:
            assert not decision.agreed
        if verdict and verdict.verdict == "ambiguous" and policy.ambiguous_escalates:
            assert not decision.agreed


@given(teams(), evaluations, policies, st.integers(min_value=1, max_value=5))
def test_raising_the_quorum_never_settles_more(
    extractions: list[Extraction],
    evaluation: Evaluation | None,
    policy: ConsensusPolicy,
    extra: int,
) -> None:
    low = policy.model_copy(update={"quorum": policy.quorum or 1})
    high = policy.model_copy(update={"quorum": (policy.quorum or 1) + extra})
    settled_low = set(decide(extractions, evaluation, ATTRS, low).settled)
    settled_high = set(decide(extractions, evaluation, ATTRS, high).settled)
    assert settled_high <= settled_low


@given(teams(), evaluations, policies)
def test_outcomes_are_well_formed(
    extractions: list[Extraction], evaluation: Evaluation | None, policy: ConsensusPolicy
) -> None:
    outcome: ConsensusOutcome = decide(extractions, evaluation, ATTRS, policy)
    assert list(outcome.decisions) == ["Brand", "Color"]
    for decision in outcome.decisions.values():
        assert decision.agreed == (decision.reason == "agreement")
        assert 0.0 <= decision.confidence <= 1.0
        assert set(decision.candidates) | set(decision.abstained) == {e.role for e in extractions}
        if decision.agreed and decision.value is not None:
            assert decision.value in decision.candidates.values()
    assert [d.attribute for d in outcome.disputes()] == outcome.disputed
