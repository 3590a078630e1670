"""The reference arms that are not a pipeline run: one generator alone, the supervisor alone.

The system arms (``no-learning``, ``learning``) go through :class:`dissensus.pipeline.Runner`,
exactly as ``dissensus run`` does. These two use the same worker and supervisor classes on their
own: ``single`` is one :class:`~dissensus.workers.Generator` with no knowledge base and no
supervisor; ``supervisor-only`` gives the supervisor every attribute of every product as a
dispute with no worker candidates, so it extracts everything from the text and the verified
catalog's evidence (the quality and cost of using the expensive model alone).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from dissensus.bench.loader import ProductText
from dissensus.domain import AttributeDispute, Case, CatalogSchema, EnrichedRecord, Product
from dissensus.llm import LLM, recording
from dissensus.pipeline.evidence import CategoryEvidence, EvidenceSource
from dissensus.pipeline.stages import ProductOutcome
from dissensus.supervisor import Supervisor, VerifiedCatalog
from dissensus.workers import Generator, GeneratorStyle, LexiconWorker

__all__ = ["ArmOutput", "run_lexicon", "run_single", "run_supervisor_only"]

SUPERVISOR_ONLY_REASON = "not extracted yet: extract it from the text"
"""The dispute reason the supervisor reads for every attribute in the ``supervisor-only`` arm."""


@dataclass(slots=True)
class ArmOutput:
    """One product's predicted values and the outcome that produced them (for statistics)."""

    values: dict[str, str | None]
    outcome: ProductOutcome


Done = Callable[[ProductText, ArmOutput], None]


def _product(text: ProductText) -> Product:
    return Product.from_record(text.as_input())


class _Evidence:
    """Each category's evidence from the verified catalog alone (no knowledge base), cached."""

    def __init__(self, catalog: VerifiedCatalog | None, examples: int) -> None:
        self._source = EvidenceSource(catalog=catalog, kb=None, examples=examples)
        self._by_key: dict[str, CategoryEvidence] = {}

    def __call__(self, product: Product) -> CategoryEvidence:
        key = product.path.key
        if key not in self._by_key:
            self._by_key[key] = self._source.for_category(product.path)
        return self._by_key[key]


def run_lexicon(
    products: Sequence[ProductText], schema: CatalogSchema, catalog: VerifiedCatalog
) -> list[dict[str, str | None]]:
    """The lexicon worker alone: the verified catalog's known values found in each text."""
    evidence = _Evidence(catalog, 0)
    worker = LexiconWorker()
    out: list[dict[str, str | None]] = []
    for text in products:
        product = _product(text)
        lexicon = evidence(product).lexicon
        assert lexicon is not None  # the source is built with the lexicon on
        out.append(worker.extract(product, schema.attributes_for(product.path), lexicon).values)
    return out


async def _gather(
    products: Sequence[ProductText],
    one: Callable[[ProductText], Awaitable[ArmOutput]],
    concurrency: int,
) -> list[ArmOutput]:
    gate = asyncio.Semaphore(max(1, concurrency))

    async def guarded(text: ProductText) -> ArmOutput:
        async with gate:
            return await one(text)

    return list(await asyncio.gather(*(guarded(p) for p in products)))


async def run_single(
    products: Sequence[ProductText],
    schema: CatalogSchema,
    llm: LLM,
    *,
    style: GeneratorStyle = "direct",
    concurrency: int = 4,
    done: Done | None = None,
    catalog: VerifiedCatalog | None = None,
    examples: int = 3,
) -> list[ArmOutput]:
    """One generator per product, no learnings, no supervisor; results in input order.

    With a ``catalog`` it is the ``few-shot`` arm: the ``examples`` most similar verified
    products are shown before each product, as in a run; without, it is zero-shot.
    """
    generator = Generator(llm, role="generator-a", style=style)
    evidence = _Evidence(catalog, examples) if catalog is not None else None

    async def one(text: ProductText) -> ArmOutput:
        product = _product(text)
        attributes = schema.attributes_for(product.path)
        shown = evidence(product).examples(product) if evidence is not None else []
        with recording() as calls:
            extraction = await generator.extract(product, attributes, [], shown)
        outcome = ProductOutcome(
            record=EnrichedRecord(id=product.id, category=product.category), calls=calls
        )
        output = ArmOutput(dict(extraction.values), outcome)
        if done is not None:
            done(text, output)
        return output

    return await _gather(products, one, concurrency)


async def run_supervisor_only(
    products: Sequence[ProductText],
    schema: CatalogSchema,
    llm: LLM,
    catalog: VerifiedCatalog | None,
    *,
    run_id: str = "bench-supervisor-only",
    concurrency: int = 4,
    done: Done | None = None,
    examples: int = 3,
) -> list[ArmOutput]:
    """The supervisor model on every attribute of every product; results in input order.

    It gets the evidence a run's supervisor gets (the most similar verified examples and the
    known values the lexicon finds), so the arm measures the model, not a poorer prompt.
    """
    evidence = _Evidence(catalog, examples)

    async def one(text: ProductText) -> ArmOutput:
        product = _product(text)
        attributes = schema.attributes_for(product.path)
        category = evidence(product)
        open_names = [a.name for a in attributes if not a.values]
        case = Case(
            id=f"{run_id}:{product.id}",
            product=product,
            attributes=attributes,
            disputes=[
                AttributeDispute(attribute=a.name, reason=SUPERVISOR_ONLY_REASON)
                for a in attributes
            ],
            extractions=[],
            examples=category.examples(product),
            known_values=category.lexicon.match(product.text, open_names)
            if category.lexicon is not None
            else {},
            vocabulary=category.lexicon.vocabulary(a.name for a in attributes)
            if category.lexicon is not None
            else {},
        )
        # Every attribute is "disputed" here, so allow the answer room for all of them.
        supervisor = Supervisor(
            llm, knowledge=None, catalog=catalog, max_tokens=max(320, 160 + 24 * len(attributes))
        )
        with recording() as calls:
            report = await supervisor.resolve(case)
        resolved = report.resolution
        values = dict(resolved.values) if resolved is not None else {}
        outcome = ProductOutcome(
            record=EnrichedRecord(id=product.id, category=product.category),
            supervisor_called=True,
            calls=calls,
        )
        output = ArmOutput(values, outcome)
        if done is not None:
            done(text, output)
        return output

    return await _gather(products, one, concurrency)
