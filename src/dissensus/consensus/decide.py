"""The consensus decision: per attribute, settled by the workers or sent to the supervisor."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from dissensus.consensus.normalize import normalize
from dissensus.consensus.policy import ConsensusPolicy
from dissensus.consensus.routes import Route, RouteKey
from dissensus.domain.case import AttributeDispute
from dissensus.domain.extraction import Evaluation, Extraction, Verdict, VerdictKind
from dissensus.domain.schema import AttributeSpec

__all__ = [
    "AttributeDecision",
    "ConsensusOutcome",
    "DecisionReason",
    "confidence",
    "decide",
]

DecisionReason = Literal[
    "agreement", "routed", "disagreement", "unconfirmed", "rejected", "ambiguous", "abstained"
]
"""Why an attribute ended as it did: settled by ``agreement``, or ``routed`` (a lone value dropped
or kept by the supervisor's track record on such values, see ``consensus.routes``); or sent up
because generators
gave different values (or agreed on absence under a policy that does not trust it), the evaluator
said ``wrong``/``missing`` (``rejected``) or ``ambiguous``, a worker ``abstained``, or fewer
workers than the policy's ``min_voters`` had an opinion on it (``unconfirmed``)."""

_EVALUATOR_FACTOR: dict[VerdictKind | None, float] = {
    "ok": 1.0,
    None: 0.8,
    "ambiguous": 0.5,
    "wrong": 0.2,
    "missing": 0.2,
}


def confidence(share: float, verdict: VerdictKind | None) -> float:
    """How much to trust a value: the share of generators behind it times an evaluator factor.

    The factor is 1.0 for ``ok``, 0.8 with no verdict (no evaluator, or it abstained), 0.5 for
    ``ambiguous`` and 0.2 for ``wrong``/``missing``. So two of two generators with an ``ok`` give
    1.0, without an evaluator 0.8, and one of two 0.5 at best. Rounded to 4 places.
    """
    return round(max(0.0, min(1.0, share)) * _EVALUATOR_FACTOR[verdict], 4)


class AttributeDecision(BaseModel):
    """What consensus decided for one attribute of one product."""

    attribute: str
    agreed: bool
    """True when the value is settled without the supervisor."""
    value: str | None
    """The leading value as a worker wrote it (``None``: absent, or no unique leader)."""
    reason: DecisionReason
    candidates: dict[str, str | None] = Field(default_factory=dict)
    """Generator role to the value it proposed, for the generators that answered (sorted)."""
    abstained: list[str] = Field(default_factory=list)
    """Roles of the generators that gave no answer for this attribute."""
    confidence: float = Field(ge=0.0, le=1.0)
    evaluator_note: str | None = None
    """The evaluator's verdict, reason and suggestion, for the supervisor and for audits."""
    lone: RouteKey | None = None
    """(attribute, role) when one generator alone proposed a value and no worker confirmed it:
    the dispute whose resolution feeds, and whose settling can follow, a track record."""

    def to_dispute(self) -> AttributeDispute:
        """The supervisor's view of this attribute (call it for disputed ones)."""
        candidates = dict(self.candidates)
        return AttributeDispute(
            attribute=self.attribute,
            reason=self.reason,
            candidates=candidates,
            evaluator=self.evaluator_note,
        )


class ConsensusOutcome(BaseModel):
    """Every attribute's decision for one product, in schema order."""

    decisions: dict[str, AttributeDecision] = Field(default_factory=dict)

    @property
    def disputed(self) -> list[str]:
        """Names of the attributes that go to the supervisor."""
        return [name for name, d in self.decisions.items() if not d.agreed]

    @property
    def all_agreed(self) -> bool:
        return not self.disputed

    @property
    def routed(self) -> list[str]:
        """Names of the attributes settled by a route instead of the supervisor."""
        return [name for name, d in self.decisions.items() if d.reason == "routed"]

    @property
    def settled(self) -> dict[str, str | None]:
        """Values the workers settled, by attribute (``None``: agreed absent)."""
        return {name: d.value for name, d in self.decisions.items() if d.agreed}

    def disputes(self) -> list[AttributeDispute]:
        """The disputed attributes as the supervisor's case expects them."""
        return [d.to_dispute() for d in self.decisions.values() if not d.agreed]


def _offers_alternative(verdict: Verdict, value: str | None) -> bool:
    """Whether a veto names a value other than the one the generators agreed on."""
    return verdict.suggestion is not None and normalize(verdict.suggestion) != normalize(value)


def _note(evaluation: Evaluation | None, verdict: Verdict | None) -> str | None:
    if evaluation is not None and evaluation.abstained:
        return f"evaluator abstained: {evaluation.error or 'no valid answer'}"
    if verdict is None:
        return None
    note = verdict.verdict + (f": {verdict.reason}" if verdict.reason else "")
    if verdict.suggestion is not None:
        note += f" (suggests {verdict.suggestion!r})"
    return note


def _representative(raws: list[str | None]) -> str | None:
    """The spelling to publish for a group of equal values: the most common, then the first
    in sort order, so that the order of the generators never matters."""
    counts = Counter(raws)
    present = [r for r in counts if r is not None]
    if not present:
        return None
    return min(present, key=lambda r: (-counts[r], r))


def _decide_one(
    name: str,
    extractions: Sequence[Extraction],
    evaluation: Evaluation | None,
    policy: ConsensusPolicy,
    routes: Mapping[RouteKey, Route],
    text: str | None,
) -> AttributeDecision:
    votes: dict[str, str | None] = {}
    abstained: list[str] = []
    # A worker whose scope leaves this attribute out neither votes nor abstains on it.
    extractions = [e for e in extractions if e.scope is None or name in e.scope]
    for e in sorted(extractions, key=lambda e: e.role):
        if e.abstained or name not in e.values:
            abstained.append(e.role)
        else:
            votes[e.role] = e.values[name]

    groups: dict[str | None, list[str | None]] = {}
    for raw in votes.values():
        groups.setdefault(normalize(raw), []).append(raw)
    sizes = sorted((len(g) for g in groups.values()), reverse=True)
    unique_leader = bool(sizes) and (len(sizes) == 1 or sizes[0] > sizes[1])
    leader_key: str | None = None
    value: str | None = None
    top = sizes[0] if sizes else 0
    if unique_leader:
        leader_key = next(k for k, g in groups.items() if len(g) == top)
        value = None if leader_key is None else _representative(groups[leader_key])

    evaluator_out = evaluation is not None and evaluation.abstained
    verdict = None if evaluation is None or evaluator_out else evaluation.verdicts.get(name)
    reached = unique_leader and top >= policy.required(len(extractions))

    reason: DecisionReason
    if abstained and policy.abstention_escalates:
        reason = "abstained"
    elif len(votes) < policy.min_voters:
        reason = "unconfirmed"
    elif evaluator_out and policy.evaluator_abstention_escalates:
        reason = "abstained"
    elif not reached:
        # When the generators that answered all agree, the missing votes are why it failed.
        reason = "abstained" if abstained and len(groups) <= 1 else "disagreement"
    elif leader_key is None and not policy.absent_agreement_is_consensus:
        reason = "disagreement"
    elif (
        verdict is not None
        and verdict.verdict in ("wrong", "missing")
        and policy.evaluator_veto
        and (not policy.veto_needs_alternative or _offers_alternative(verdict, value))
    ):
        reason = "rejected"
    elif verdict is not None and verdict.verdict == "ambiguous" and policy.ambiguous_escalates:
        reason = "ambiguous"
    else:
        reason = "agreement"

    share = top / len(extractions) if extractions else 0.0
    lone = _lone(name, votes) if reason in ("unconfirmed", "disagreement") else None
    route = routes.get(lone) if lone is not None else None
    if route == "absent":
        reason, value = "routed", None
        # As sure as one voice, not an agreement.
        share = 1 / len(extractions)
    elif route == "keep" and lone is not None and _in_text(votes[lone[1]], text):
        reason, value = "routed", votes[lone[1]]
        share = 1 / len(extractions)
    return AttributeDecision(
        attribute=name,
        agreed=reason in ("agreement", "routed"),
        value=value,
        reason=reason,
        candidates=votes,
        abstained=abstained,
        confidence=confidence(share, verdict.verdict if verdict else None),
        evaluator_note=_note(evaluation, verdict),
        lone=lone,
    )


def _in_text(value: str | None, text: str | None) -> bool:
    """Whether ``value`` is a run of whole words of ``text``, compared as consensus compares.

    A kept value must be something the product says, not something a model made up or
    completed: "Acme" in "ACME Pro Blender" is, "Acme Pro 2" is not, nor is "Ac"."""
    key, haystack = normalize(value), normalize(text)
    if key is None or haystack is None:
        return False
    return re.search(rf"(?<!\w){re.escape(key)}(?!\w)", haystack) is not None


def _lone(name: str, votes: Mapping[str, str | None]) -> RouteKey | None:
    """(attribute, role) when exactly one worker voted a value and every other vote is absence."""
    present = [role for role, value in votes.items() if value is not None]
    return (name, present[0]) if len(present) == 1 else None


def decide(
    extractions: Sequence[Extraction],
    evaluation: Evaluation | None,
    attributes: Sequence[AttributeSpec],
    policy: ConsensusPolicy | None = None,
    routes: Mapping[RouteKey, Route] | None = None,
    text: str | None = None,
) -> ConsensusOutcome:
    """Decide every attribute of one product from the workers' output. Pure: calls no model.

    Per attribute: group the generators' values by :func:`normalize`; the attribute is settled
    when one group leads strictly and has at least ``policy.quorum`` votes, no worker
    abstained (``abstention_escalates``), the agreed value is not absence under a policy that
    distrusts it, and the evaluator neither vetoed (``wrong``/``missing``) nor called it
    ``ambiguous``. The decision does not depend on the order of ``extractions``.

    Args:
        extractions: One per generator; roles must be unique.
        evaluation: The evaluator's verdicts, or ``None`` when the team has no evaluator.
        attributes: The attributes to decide, in schema order.
        policy: Defaults to :class:`ConsensusPolicy` ().
        routes: Per (attribute, role), how to settle that worker's lone unconfirmed value
            without the supervisor (``consensus.routes``); none by default.
        text: The product's own text (title and description). A ``keep`` route publishes a
            lone value only when it is a run of whole words of it; without text it never does.

    Raises:
        ValueError: when two extractions share a role.
    """
    policy = policy or ConsensusPolicy()
    roles = [e.role for e in extractions]
    if len(set(roles)) != len(roles):
        raise ValueError(f"extractions must come from distinct generator roles, got {roles}")
    return ConsensusOutcome(
        decisions={
            spec.name: _decide_one(spec.name, extractions, evaluation, policy, routes or {}, text)
            for spec in attributes
        }
    )
