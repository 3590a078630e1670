"""The worker team: generators in parallel, then the evaluator on what they proposed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pydantic import BaseModel, Field

from dissensus.domain.example import SolvedExample
from dissensus.domain.extraction import Evaluation, Extraction
from dissensus.domain.learning import Learning
from dissensus.domain.lexicon import Lexicon
from dissensus.domain.product import Product
from dissensus.domain.schema import AttributeSpec
from dissensus.domain.usage import Usage
from dissensus.workers.evaluator import Evaluator
from dissensus.workers.generator import Generator
from dissensus.workers.lexicon import LexiconWorker

__all__ = ["ProductEvidence", "WorkerOutput", "WorkerTeam"]


class ProductEvidence(BaseModel):
    """What the workers get besides the product: solved examples and the category's lexicon."""

    model_config = {"arbitrary_types_allowed": True}

    examples: list[SolvedExample] = Field(default_factory=list)
    """Most similar solved products first (verified catalog and example learnings)."""
    lexicon: Lexicon | None = None
    """Known values of the category; ``None``: the lexicon worker does not run."""
    lexicon_learnings: list[str] = Field(default_factory=list)
    """Ids of the value learnings in ``lexicon`` (provenance of the lexicon's votes)."""


class WorkerOutput(BaseModel):
    """Everything the workers said about one product; consensus decides from it."""

    extractions: list[Extraction] = Field(default_factory=list)
    """One per generator (then the lexicon worker's, when it ran), in team order."""
    evaluation: Evaluation | None = None
    """``None`` when the team has no evaluator."""

    @property
    def usage(self) -> Usage:
        """Tokens and requests of every worker call for this product."""
        total = sum((e.usage for e in self.extractions), Usage())
        return total + self.evaluation.usage if self.evaluation else total

    @property
    def models(self) -> list[str]:
        """Distinct models that worked on the product, generators first."""
        names = [e.model for e in self.extractions]
        if self.evaluation:
            names.append(self.evaluation.model)
        return list(dict.fromkeys(names))

    @property
    def learnings(self) -> list[str]:
        """Ids of every learning that was in any worker's prompt, first seen first."""
        ids = [i for e in self.extractions for i in e.learnings]
        if self.evaluation:
            ids.extend(self.evaluation.learnings)
        return list(dict.fromkeys(ids))


class WorkerTeam:
    """Runs a product through the generators, concurrently, then through the evaluator.

    Args:
        generators: At least one; roles must be unique because consensus keys votes by role.
        evaluator: The critical evaluator, or ``None`` to decide on generator agreement alone.
    """

    def __init__(
        self,
        generators: Sequence[Generator],
        evaluator: Evaluator | None,
        *,
        lexicon: LexiconWorker | None = None,
    ) -> None:
        if not generators:
            raise ValueError("a worker team needs at least one generator")
        roles = [g.role for g in generators] + ([lexicon.role] if lexicon else [])
        if len(set(roles)) != len(roles):
            raise ValueError(f"generator roles must be unique, got {roles}; name them a, b, ...")
        self.generators = list(generators)
        self.evaluator = evaluator
        self.lexicon = lexicon
        """Votes with the known values of the category, when the evidence carries a lexicon."""

    def __repr__(self) -> str:
        return f"WorkerTeam({self.generators!r}, evaluator={self.evaluator!r})"

    @property
    def roles(self) -> list[str]:
        return [g.role for g in self.generators]

    async def run(
        self,
        product: Product,
        attributes: Sequence[AttributeSpec],
        learnings: Sequence[Learning],
        evidence: ProductEvidence | None = None,
    ) -> WorkerOutput:
        """Extract with every generator at once (and the lexicon), then evaluate the proposals."""
        examples = evidence.examples if evidence is not None else []
        extractions = list(
            await asyncio.gather(
                *(g.extract(product, attributes, learnings, examples) for g in self.generators)
            )
        )
        if self.lexicon is not None and evidence is not None and evidence.lexicon is not None:
            extractions.append(
                self.lexicon.extract(
                    product, attributes, evidence.lexicon, learnings=evidence.lexicon_learnings
                )
            )
        evaluation = None
        if self.evaluator is not None:
            evaluation = await self.evaluator.evaluate(product, attributes, extractions, learnings)
        return WorkerOutput(extractions=list(extractions), evaluation=evaluation)

    async def run_batch(
        self,
        products: Sequence[Product],
        attributes: Sequence[AttributeSpec],
        learnings: Sequence[Learning],
        *,
        concurrency: int = 4,
    ) -> list[WorkerOutput]:
        """Run a batch of one category (same attributes and learnings), results in input order.

        At most ``concurrency`` products are in flight; products of one category share the
        system prompt, so a local engine serves their prefix from its cache.
        """
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        gate = asyncio.Semaphore(concurrency)

        async def one(product: Product) -> WorkerOutput:
            async with gate:
                return await self.run(product, attributes, learnings)

        return list(await asyncio.gather(*(one(p) for p in products)))
