"""Replaying a rule on verified products: the gate's check for prose learnings.

A rule cannot be checked by reading it; it can be checked by what it does. The first generator
extracts the nearest verified products twice, without and with the rule in its prompt, and the
correct slots are counted against the checked values. The products are shown without retrieved
examples (the verified product would be its own best example).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dissensus.consensus import normalize
from dissensus.domain import CatalogSchema, CategoryPath, Learning, LearningDraft, Product
from dissensus.errors import SchemaError
from dissensus.knowledge import CheckedProduct, ReplayOutcome
from dissensus.llm import for_purpose
from dissensus.workers import Generator

__all__ = ["RuleReplay"]


class RuleReplay:
    """The gate's replay function, bound to a run's first generator and schema."""

    def __init__(self, generator: Generator, schema: CatalogSchema) -> None:
        self.generator = generator
        self.schema = schema

    async def __call__(
        self, draft: LearningDraft, products: Sequence[CheckedProduct]
    ) -> ReplayOutcome:
        rule = Learning(
            id="L-replay",
            node=CategoryPath.parse(draft.category).key,
            attributes=list(draft.attributes),
            text=draft.text,
            example=draft.example,
            status="active",
        )
        without = with_rule = worse = counted = 0
        for checked in products:
            product = Product(id="replay", title=checked.title, category=checked.category)
            try:
                attributes = self.schema.attributes_for(product.path)
            except SchemaError:
                continue
            counted += 1
            with for_purpose("gate"):
                plain = await self.generator.extract(product, attributes, [])
                ruled = await self.generator.extract(product, attributes, [rule])
            a = _correct(plain.values, checked.attributes)
            b = _correct(ruled.values, checked.attributes)
            without, with_rule = without + a, with_rule + b
            worse += b < a
        return ReplayOutcome(counted, without, with_rule, worse)


def _correct(values: Mapping[str, str | None], truth: Mapping[str, str | None]) -> int:
    """Slots of a verified product the extraction got right (absence included)."""
    return sum(
        1
        for name, value in truth.items()
        if name in values and normalize(values[name]) == normalize(value)
    )
