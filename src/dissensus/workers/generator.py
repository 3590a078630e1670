"""A generator: one model, one prompt style, one constrained extraction per product."""

from __future__ import annotations

from collections.abc import Sequence

from dissensus.domain.example import SolvedExample
from dissensus.domain.extraction import Extraction
from dissensus.domain.learning import Learning
from dissensus.domain.product import Product
from dissensus.domain.schema import AttributeSpec
from dissensus.llm.base import LLM
from dissensus.workers._asking import ask_into
from dissensus.workers.output_model import SpanOptions, extraction_model, read_values
from dissensus.workers.prompts import (
    GeneratorStyle,
    generator_system,
    product_prompt,
    usable_learnings,
)

__all__ = ["Generator", "output_budget"]


def output_budget(attributes: Sequence[AttributeSpec], *, per_attribute: int = 24) -> int:
    """Tokens to allow for one answer: a key and a span of up to six words per attribute.

    A cap keeps a looping tiny model from burning seconds; the grammar ends the object anyway.
    """
    return 32 + per_attribute * len(attributes)


class Generator:
    """Extracts a product's attributes with one model in one prompt style.

    Args:
        llm: The model to ask.
        role: Name in extractions and disputes (``generator-a``); unique within a team.
        style: Prompt style; two generators on the same model should differ here.
        spans: How the span enum of open attributes is built.
        max_tokens: Output cap; by default :func:`output_budget` of the attributes.
    """

    def __init__(
        self,
        llm: LLM,
        *,
        role: str,
        style: GeneratorStyle = "direct",
        spans: SpanOptions | None = None,
        max_tokens: int | None = None,
    ) -> None:
        self.llm = llm
        self.role = role
        self.style: GeneratorStyle = style
        self.spans = spans or SpanOptions()
        self.max_tokens = max_tokens

    def __repr__(self) -> str:
        return f"Generator({self.llm.name!r}, role={self.role!r}, style={self.style!r})"

    def system_prompt(
        self, category: str, attributes: Sequence[AttributeSpec], learnings: Sequence[Learning]
    ) -> str:
        """The shared prefix for every product of ``category`` (exposed for cache warm-up)."""
        return generator_system(category, attributes, learnings, style=self.style)

    async def extract(
        self,
        product: Product,
        attributes: Sequence[AttributeSpec],
        learnings: Sequence[Learning],
        examples: Sequence[SolvedExample] = (),
    ) -> Extraction:
        """Ask the model for every attribute of ``product`` at once.

        ``examples`` are solved similar products, shown before the product.

        Never raises for a model failure: a failed or invalid answer is an abstained extraction
        (with the error), because an abstention is a disagreement signal for consensus.
        """
        used = usable_learnings(learnings)
        output_type = extraction_model(product, attributes, spans=self.spans)
        base = Extraction(
            model=self.llm.name, role=self.role, learnings=[learning.id for learning in used]
        )
        return await ask_into(
            base,
            self.llm,
            output_type,
            system=self.system_prompt(product.category, attributes, used),
            prompt=product_prompt(product, examples, [a.name for a in attributes]),
            max_tokens=self.max_tokens or output_budget(attributes),
            read=lambda output: {"values": read_values(output, attributes)},
            role=self.role,
            shown=[ex.source for ex in examples if not ex.source.startswith("verified:")],
        )
