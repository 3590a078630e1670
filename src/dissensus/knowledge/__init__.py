"""Knowledge: the tree of categories, the learnings on it, their placement, retrieval and history.

Owns the knowledge base (:class:`KnowledgeBase` — nodes with materialized-path keys, learnings
with status, scope and provenance, an append-only event history whose last ``seq`` is the KB
version; learnings are rules, known values or solved examples), the :class:`LearningGate` that
checks machine-made learnings against verified products before they go live, the
:class:`MemoryManager` that places supervisor learnings in the tree, retrieval
of learnings for prompts, and their governance (:class:`Governance`: states, deployment modes,
promote, versions, diff, rollback, YAML export and import). Uses ``domain``, ``llm`` (the
``LLM`` contract only), ``storage`` and ``errors``; must not import ``pipeline``,
``supervisor``, ``workers``, ``cli`` or ``web`` — it knows nothing about runs.
"""

from dissensus.knowledge.deployment import DeploymentMode, DeploymentPolicy
from dissensus.knowledge.gate import CheckedProduct, GateVerdict, LearningGate, ReplayOutcome
from dissensus.knowledge.governance import Governance
from dissensus.knowledge.history import Event, EventOp
from dissensus.knowledge.knowledge_base import (
    MAX_EXAMPLE_CHARS,
    MAX_TEXT_CHARS,
    TRANSITIONS,
    KnowledgeBase,
)
from dissensus.knowledge.memory_manager import (
    MemoryManager,
    Placement,
    PlacementDecision,
    PlacementOp,
    PlacementStep,
)
from dissensus.knowledge.outcomes import RETIRE_AFTER, record_review_outcomes
from dissensus.knowledge.retrieval import estimate_tokens, select_for_prompt
from dissensus.knowledge.track_record import Ruling, TrackRecords
from dissensus.knowledge.transfer import ImportReport
from dissensus.knowledge.tree import NodeInfo
from dissensus.knowledge.versions import (
    KbDiff,
    KbState,
    LearningChange,
    LearningVersion,
    NodeState,
)

__all__ = [
    "MAX_EXAMPLE_CHARS",
    "MAX_TEXT_CHARS",
    "RETIRE_AFTER",
    "TRANSITIONS",
    "CheckedProduct",
    "DeploymentMode",
    "DeploymentPolicy",
    "Event",
    "EventOp",
    "GateVerdict",
    "Governance",
    "ImportReport",
    "KbDiff",
    "KbState",
    "KnowledgeBase",
    "LearningChange",
    "LearningGate",
    "LearningVersion",
    "MemoryManager",
    "NodeInfo",
    "NodeState",
    "Placement",
    "PlacementDecision",
    "PlacementOp",
    "PlacementStep",
    "ReplayOutcome",
    "Ruling",
    "TrackRecords",
    "estimate_tokens",
    "record_review_outcomes",
    "select_for_prompt",
]
