"""Knowledge: the tree of categories, the learnings on it, their placement, retrieval and history.

Owns the knowledge base (:class:`KnowledgeBase` — nodes with materialized-path keys, learnings
with status, scope and provenance, an append-only event history whose last ``seq`` is the KB
version), the :class:`MemoryManager` that places supervisor learnings in the tree, and retrieval
of learnings for prompts. Uses ``domain``, ``llm`` (the ``LLM`` contract only), ``storage`` and
``errors``; must not import ``pipeline``, ``supervisor``, ``workers``, ``cli`` or ``web`` — it
knows nothing about runs.
"""

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
from dissensus.knowledge.retrieval import estimate_tokens, select_for_prompt
from dissensus.knowledge.tree import NodeInfo

__all__ = [
    "MAX_EXAMPLE_CHARS",
    "MAX_TEXT_CHARS",
    "TRANSITIONS",
    "Event",
    "EventOp",
    "KnowledgeBase",
    "MemoryManager",
    "NodeInfo",
    "Placement",
    "PlacementDecision",
    "PlacementOp",
    "PlacementStep",
    "estimate_tokens",
    "select_for_prompt",
]
