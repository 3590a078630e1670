"""The critical evaluator: one verdict per attribute on the generators' proposals."""

from __future__ import annotations

from collections.abc import Sequence

from dissensus.domain.extraction import Evaluation, Extraction
from dissensus.domain.learning import Learning
from dissensus.domain.product import Product
from dissensus.domain.schema import AttributeSpec
from dissensus.llm.base import LLM
from dissensus.workers._asking import ask_into
from dissensus.workers.output_model import SpanOptions, evaluation_model, read_verdicts
from dissensus.workers.prompts import (
    evaluator_prompt,
    evaluator_system,
    usable_learnings,
)

__all__ = ["Evaluator", "candidates_by_attribute"]


def candidates_by_attribute(
    attributes: Sequence[AttributeSpec], extractions: Sequence[Extraction]
) -> dict[str, list[str | None]]:
    """Distinct proposals per attribute from the extractions that did not abstain.

    Sorted (absent last) rather than in generator order, so the evaluator's prompt, and with it
    its verdict, does not depend on which generator happened to answer first.
    """
    result: dict[str, list[str | None]] = {}
    for spec in attributes:
        proposed = {
            e.values[spec.name] for e in extractions if not e.abstained and spec.name in e.values
        }
        present = sorted(v for v in proposed if v is not None)
        result[spec.name] = [*present, None] if None in proposed else list(present)
    return result


class Evaluator:
    """Scrutinizes proposed values and says ``ok``, ``wrong``, ``missing`` or ``ambiguous``.

    Args:
        llm: The model to ask.
        spans: How the suggestion enum is built (the same spans the generators choose from).
        reason_chars: Cap on each reason; small models are slow at long outputs.
        max_tokens: Output cap; by default about 40 tokens per attribute plus the reasons.
    """

    def __init__(
        self,
        llm: LLM,
        *,
        spans: SpanOptions | None = None,
        reason_chars: int = 120,
        max_tokens: int | None = None,
    ) -> None:
        self.llm = llm
        self.spans = spans or SpanOptions()
        self.reason_chars = reason_chars
        self.max_tokens = max_tokens

    def __repr__(self) -> str:
        return f"Evaluator({self.llm.name!r})"

    def _budget(self, attributes: Sequence[AttributeSpec]) -> int:
        # verdict + suggestion + keys ≈ 40 tokens, a reason ≈ 1 token per 3 characters.
        return 32 + len(attributes) * (40 + self.reason_chars // 3)

    def system_prompt(
        self, category: str, attributes: Sequence[AttributeSpec], learnings: Sequence[Learning]
    ) -> str:
        """The shared prefix for every product of ``category``."""
        return evaluator_system(category, attributes, learnings)

    async def evaluate(
        self,
        product: Product,
        attributes: Sequence[AttributeSpec],
        extractions: Sequence[Extraction],
        learnings: Sequence[Learning],
    ) -> Evaluation:
        """Judge every attribute of ``product`` given the generators' extractions.

        Does not call the model when every generator abstained (there is nothing to judge);
        like the generator, a failed answer is an abstained evaluation, never an exception.
        """
        used = usable_learnings(learnings)
        base = Evaluation(model=self.llm.name, learnings=[learning.id for learning in used])
        if extractions and all(e.abstained for e in extractions):
            return base.model_copy(
                update={"abstained": True, "error": "every generator abstained; nothing to judge"}
            )
        output_type = evaluation_model(
            product, attributes, spans=self.spans, reason_chars=self.reason_chars
        )
        return await ask_into(
            base,
            self.llm,
            output_type,
            system=self.system_prompt(product.category, attributes, used),
            prompt=evaluator_prompt(product, candidates_by_attribute(attributes, extractions)),
            max_tokens=self.max_tokens or self._budget(attributes),
            read=lambda output: {"verdicts": read_verdicts(output, attributes)},
            role="evaluator",
        )
