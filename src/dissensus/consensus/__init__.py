"""Consensus: deciding, without any model, which worker values are settled.

Owns value normalization (when two values count as equal), the disagreement policy, the
per-attribute decision (agreement, or a dispute for the supervisor with its reason, candidates
and the evaluator's note) and the disagreement counts that run summaries report. Pure functions
over ``dissensus.domain`` types: must not import ``dissensus.llm``, ``dissensus.workers`` or any
model SDK, and must not do I/O.
"""

from dissensus.consensus.decide import (
    AttributeDecision,
    ConsensusOutcome,
    DecisionReason,
    confidence,
    decide,
)
from dissensus.consensus.normalize import NONE_WORDS, normalize, same_value
from dissensus.consensus.policy import ConsensusPolicy
from dissensus.consensus.rates import CategoryTally, DisagreementTally
from dissensus.consensus.routes import Route, audited, presence_routes, route_for, routes_from

__all__ = [
    "NONE_WORDS",
    "AttributeDecision",
    "CategoryTally",
    "ConsensusOutcome",
    "ConsensusPolicy",
    "DecisionReason",
    "DisagreementTally",
    "Route",
    "audited",
    "confidence",
    "decide",
    "normalize",
    "presence_routes",
    "route_for",
    "routes_from",
    "same_value",
]
