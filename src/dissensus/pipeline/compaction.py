"""Automatic compaction in runs: settings to a :class:`~dissensus.knowledge.upkeep.AutoCompaction`.

Kept out of the runner so that its only trace there is one call per batch boundary.
"""

from __future__ import annotations

from collections.abc import Callable

from dissensus.config import Settings
from dissensus.knowledge import KnowledgeBase
from dissensus.knowledge.upkeep import AutoCompaction
from dissensus.llm import LLM

__all__ = ["auto_compaction"]


def auto_compaction(
    settings: Settings, kb: KnowledgeBase, open_model: Callable[[str], LLM]
) -> AutoCompaction | None:
    """The run's automatic compaction, or ``None`` when it is off or the run writes no learnings.

    A baseline run (``learning: false``) must leave the knowledge base as it found it.
    """
    c = settings.compaction
    if not (c.auto and settings.learning):
        return None
    return AutoCompaction(
        kb,
        open_model(settings.memory_manager_model()),
        max_learnings=c.max_learnings_per_node,
        budget_tokens=settings.learning_budget_tokens,
        similarity=c.similarity,
        min_group=c.min_group,
    )
