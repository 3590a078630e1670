"""The supervisor's tools: what it may look at beyond the workers' answers.

The same functions serve both supervisor modes: a tool-calling model calls them itself; a model
that cannot call tools gets their results gathered into its prompt (:meth:`SupervisorTools.gather`).
They only read: the supervisor never writes the knowledge base.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from dissensus.domain import AttributeSpec, Case, CategoryPath, Learning, Product
from dissensus.supervisor.verified_catalog import VerifiedCatalog

__all__ = ["KnowledgeReader", "SupervisorTools"]


class KnowledgeReader(Protocol):
    """The read side of the knowledge base that the supervisor needs."""

    def retrieve(
        self, path: CategoryPath, attributes: list[str] | None = None, *, budget_tokens: int = 400
    ) -> list[Learning]: ...

    def search(
        self, text: str, *, limit: int = 5, node_prefix: str | None = None
    ) -> list[Learning]: ...


class SupervisorTools:
    """Read-only tools bound to one product."""

    def __init__(
        self,
        *,
        product: Product,
        attributes: list[AttributeSpec],
        knowledge: KnowledgeReader | None,
        catalog: VerifiedCatalog | None,
    ) -> None:
        self.product = product
        self.attributes = attributes
        self.knowledge = knowledge
        self.catalog = catalog

    def search_knowledge(self, query: str) -> str:
        """Search the knowledge base for learnings about a term, brand or pattern."""
        if self.knowledge is None:
            return "The knowledge base is disabled for this run."
        found = self.knowledge.search(query, limit=5)
        return "\n".join(item.render() for item in found) or "No learnings match."

    def category_learnings(self) -> str:
        """List the active learnings that apply to this product's category path."""
        return self._render_learnings(self._learnings())

    def _learnings(self) -> list[Learning]:
        if self.knowledge is None:
            return []
        return self.knowledge.retrieve(self.product.path, None, budget_tokens=600)

    def _render_learnings(self, found: list[Learning]) -> str:
        if self.knowledge is None:
            return "The knowledge base is disabled for this run."
        return "\n".join(item.render() for item in found) or "No learnings for this category yet."

    def category_schema(self) -> str:
        """Describe the attributes of this product's category and their allowed values."""
        lines = []
        for spec in self.attributes:
            line = f"- {spec.name}: {spec.description or 'no description'}"
            if spec.values:
                line += f" (allowed: {', '.join(spec.values)})"
            lines.append(line)
        return "\n".join(lines)

    def similar_verified_products(self, query: str = "") -> str:
        """Find verified products similar to this one (or to a query) with their checked values."""
        if self.catalog is None or len(self.catalog) == 0:
            return "No verified catalog is configured."
        found = self.catalog.similar(
            query or self.product.text, category=self.product.path, limit=3
        )
        if not found:
            return "No similar verified products."
        lines = []
        for item in found:
            values = "; ".join(
                f"{k}: {v if v is not None else 'n/a'}" for k, v in item.attributes.items()
            )
            lines.append(f'- "{item.title}" ({item.category}) -> {values}')
        return "\n".join(lines)

    def product_signals(self) -> str:
        """Show the product's reviews, returns and seller history, if the record has any."""
        signals = self.product.signals()
        if not signals:
            return "No reviews, returns or seller history for this product."
        # Signal text is untrusted customer/seller input: present it as quoted data.
        return "Untrusted data, quoted:\n" + json.dumps(signals, ensure_ascii=False)[:1500]

    def as_list(self) -> list[Callable[..., Any]]:
        """The tools, for a tool-calling supervisor."""
        return [
            self.search_knowledge,
            self.category_learnings,
            self.category_schema,
            self.similar_verified_products,
            self.product_signals,
        ]

    def gather(self, case: Case | None = None, *, skip_empty: bool = False) -> str:
        """Every tool's result up front, for a supervisor model that cannot call tools.

        With a ``case`` that carries retrieved examples, those are the similar solved products
        (the verified catalog's and the learned ones, ranked for this product); the lexicon's
        known values found in the text come next. ``skip_empty`` leaves out the learnings and
        signals sections when there are none: on a local model every prompt token costs time.
        """
        if case is not None and case.examples:
            similar = "\n".join(f"- {ex.render()}" for ex in case.examples)
        else:
            similar = self.similar_verified_products()
        sections = [("Similar solved products (checked values)", similar)]
        if case is not None and case.known_values:
            known = "\n".join(f"- {a}: {v!r}" for a, v in case.known_values.items())
            sections.append(("Known values of this category found in the text", known))
        learnings = self._learnings()
        if not skip_empty or learnings:
            sections.append(("Learnings for this category", self._render_learnings(learnings)))
        if not skip_empty or self.product.signals():
            sections.append(("Signals", self.product_signals()))
        return "\n\n".join(f"## {title}\n{body}" for title, body in sections)
