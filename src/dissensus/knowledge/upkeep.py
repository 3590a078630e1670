"""Automatic compaction: run the aggregator on a node once new learnings push it past a threshold.

``dissensus kb compact`` is the manual way; this is the automatic one. A run calls
:meth:`AutoCompaction.after_batch` at each batch boundary (never inside a product's processing,
so model calls of the hot path do not wait on it). It reads the history since its last look,
takes the nodes where a learning became (or stayed) active — placed, merged, replaced,
confirmed, promoted — and compacts those whose active learnings are more than
``max_learnings`` or whose prompt tokens exceed ``budget_tokens`` (the node's prompt share,
``learning_budget_tokens``). Its own events are never a reason to compact again. Every change is
the aggregator's, recorded under ``actor``, so ``kb rollback`` undoes it like a manual compact.
"""

from __future__ import annotations

from sqlalchemy import select

from dissensus.knowledge.aggregator import Aggregator, CompactionReport, NodeSize
from dissensus.knowledge.knowledge_base import KnowledgeBase
from dissensus.knowledge.retrieval import estimate_tokens
from dissensus.llm import LLM
from dissensus.storage import KbEvent

__all__ = ["AutoCompaction"]


class AutoCompaction:
    """Compacts nodes that new learnings pushed past a size or token threshold.

    Args:
        kb: The knowledge base.
        llm: Synthesizes groups (the memory manager's model); ``None`` keeps groups unmerged.
        max_learnings: A node with more active learnings than this is compacted.
        budget_tokens: A node whose active learnings take more prompt tokens than this is
            compacted; also the aggregator's budget.
        similarity: The aggregator's grouping threshold.
        min_group: The aggregator's smallest synthesized group.
        actor: Who the history names for the changes.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        llm: LLM | None,
        *,
        max_learnings: int,
        budget_tokens: int,
        similarity: float = 0.5,
        min_group: int = 3,
        actor: str = "auto-compaction",
    ) -> None:
        self.kb = kb
        self.max_learnings = max_learnings
        self.budget_tokens = budget_tokens
        self.actor = actor
        self._aggregator = Aggregator(
            kb, llm, similarity=similarity, min_group=min_group, budget_tokens=budget_tokens
        )
        self._seen = kb.version()
        self.reports: list[CompactionReport] = []
        """Every compaction it ran, in order."""

    def touched_nodes(self) -> list[str]:
        """Nodes where a learning became or stayed active since the last look, in key order."""
        with self.kb.database.read() as session:
            rows = session.execute(
                select(KbEvent.node_key, KbEvent.after, KbEvent.actor).where(
                    KbEvent.seq > self._seen, KbEvent.learning_id.is_not(None)
                )
            ).all()
        return sorted(
            {
                key
                for key, after, actor in rows
                if key is not None
                and actor != self.actor
                and isinstance(after, dict)
                and after.get("status") == "active"
            }
        )

    def size(self, key: str) -> NodeSize:
        """The node's active learnings and the prompt tokens they take."""
        # Rules only: they are what takes prompt budget and what compaction can merge.
        active = self.kb.list(node_key=key, status="active", kind="rule")
        return NodeSize(
            node=key,
            learnings=len(active),
            tokens=sum(estimate_tokens(lr.render() + "\n") for lr in active),
        )

    def over_threshold(self, key: str) -> bool:
        size = self.size(key)
        return size.learnings > self.max_learnings or size.tokens > self.budget_tokens

    async def after_batch(self) -> CompactionReport | None:
        """Compact the touched nodes past a threshold; ``None`` when none is."""
        due = [key for key in self.touched_nodes() if self.over_threshold(key)]
        report = await self._aggregator.compact(due, actor=self.actor) if due else None
        self._seen = self.kb.version()
        if report is not None:
            self.reports.append(report)
        return report
