"""``dissensus bench retrieval``: which way of finding solved examples gives the best ones.

Demonstrations are the form of learning a small model uses, so which solved products a worker
is shown matters as much as how many there are. A run ranks a category's solved products by the
rare words they share with the product (``words``, :class:`dissensus.pipeline.evidence
.CategoryEvidence`). This benchmark compares that with the alternatives the learning issue names,
on records of the *train* split that are not in the verified catalog (a tuning slice: never the
test split), against the verified catalog as the pool, as a run has it:

- ``first``: the category's first solved products, in file order (no ranking at all);
- ``words``: what runs do today (the sum of the shared words' inverse document frequencies);
- ``bm25``: Okapi BM25 over the same words (what SQLite FTS5's ``bm25()`` and PostgreSQL's
  ranking functions compute, in process);
- ``embedding``: cosine similarity of all-MiniLM-L6-v2 sentence vectors (extra ``embeddings``).

Two measures need no generative model: for each labelled value of a query record, whether one of
the ``k`` examples carries the *same value* for that attribute (a value the worker can copy), and
whether one carries *any* value for it (the worker sees the attribute filled in). With
``--generator`` the same slice is also extracted by one generator shown each method's examples,
scored by the published protocol with paired bootstrap intervals against ``words``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from dissensus.bench.bootstrap import difference_interval, record_counts
from dissensus.bench.loader import LabelledRecord
from dissensus.bench.results import Interval
from dissensus.bench.scoring import score
from dissensus.bench.splits import plan_data
from dissensus.domain import CategoryPath, Product, SolvedExample
from dissensus.domain.schema import AttributeSpec
from dissensus.knowledge._text import bm25_rank
from dissensus.llm import LLM
from dissensus.pipeline.evidence import CategoryEvidence
from dissensus.workers import Generator

__all__ = [
    "METHODS",
    "Method",
    "MethodResult",
    "RetrievalConfig",
    "RetrievalReport",
    "run_retrieval",
]

Method = Literal["first", "words", "bm25", "embedding"]
METHODS: tuple[Method, ...] = ("first", "words", "bm25", "embedding")

Ranker = Callable[[LabelledRecord, list[LabelledRecord]], list[int]]
"""Query record and its category's pool to pool indices, best first."""


class RetrievalConfig(BaseModel):
    data_dir: str
    methods: list[Method] = Field(default_factory=lambda: list(METHODS))
    queries: int = 200
    """Train records outside the verified catalog, seeded sample (the tuning slice)."""
    seed: int = 99
    k: int = 3
    generator: str | None = None


class MethodResult(BaseModel):
    """One method's measures on the slice."""

    method: Method
    labelled_values: int
    """Labelled (present) values of the query records."""
    value_hits: int
    """Of those, how many a retrieved example carries with the same value."""
    attribute_hits: int
    """Of those, how many a retrieved example carries with some value."""
    ms_per_query: float
    setup_seconds: float
    """Building the method's index (for ``embedding``: loading the model, encoding the pool)."""
    f1: float | None = None
    """Published micro-F1 of the generator shown this method's examples (with ``--generator``)."""
    strict_f1: float | None = None

    @property
    def value_hit_rate(self) -> float:
        return self.value_hits / self.labelled_values if self.labelled_values else 0.0

    @property
    def attribute_hit_rate(self) -> float:
        return self.attribute_hits / self.labelled_values if self.labelled_values else 0.0


class RetrievalReport(BaseModel):
    config: RetrievalConfig
    pool: int
    """Verified products the examples come from."""
    results: list[MethodResult]
    intervals: list[Interval] = Field(default_factory=list)
    """With a generator: each method's published micro-F1 minus ``words``, 95 % bootstrap."""


def _example(record: LabelledRecord, names: Sequence[str]) -> SolvedExample:
    return SolvedExample(
        title=record.product.title,
        values={name: record.gold.first_present(name) for name in names},
        source=f"verified:{record.product.id}",
    )


def _product(record: LabelledRecord) -> Product:
    return Product.from_record(record.product.as_input())


def _words_ranker(schema: dict[str, list[str]]) -> Ranker:
    """Exactly the run's ranking: a ``CategoryEvidence`` over the category's pool."""
    cache: dict[str, CategoryEvidence] = {}

    def rank(query: LabelledRecord, pool: list[LabelledRecord]) -> list[int]:
        key = query.product.category  # a category's pool is the same for all its queries
        if key not in cache:
            names = schema.get(query.product.category, [])
            cache[key] = CategoryEvidence(
                path=CategoryPath.parse(query.product.category),
                pool=[_example(r, names) for r in pool],
                lexicon=None,
                lexicon_learnings=[],
                catalog=None,
                limit=len(pool),
            )
        shown = cache[key].examples(_product(query))
        order = {f"verified:{r.product.id}": i for i, r in enumerate(pool)}
        return [order[ex.source] for ex in shown]

    return rank


def _bm25(query: LabelledRecord, pool: list[LabelledRecord]) -> list[int]:
    ranked = [i for i, _ in bm25_rank(query.product.title, [r.product.title for r in pool])]
    seen = set(ranked)
    return ranked + [i for i in range(len(pool)) if i not in seen]


def _first(query: LabelledRecord, pool: list[LabelledRecord]) -> list[int]:
    return list(range(len(pool)))


def _embedding_ranker(pools: dict[str, list[LabelledRecord]]) -> Ranker:
    import numpy as np  # with the embeddings extra only, like the model

    from dissensus.llm.embedding import SentenceEncoder

    encoder = SentenceEncoder()
    vectors = {
        category: encoder.encode([r.product.title for r in pool])
        for category, pool in pools.items()
    }

    def rank(query: LabelledRecord, pool: list[LabelledRecord]) -> list[int]:
        q = encoder.encode([query.product.title])[0]
        sims = vectors[query.product.category] @ q
        return [int(i) for i in np.argsort(-sims, kind="stable")]

    return rank


def _hits(
    query: LabelledRecord, shown: list[LabelledRecord], names: Sequence[str]
) -> tuple[int, int, int]:
    labelled = value_hits = attribute_hits = 0
    for name in names:
        gold = query.gold.values.get(name)
        if not gold or query.gold.first_present(name) is None:
            continue
        labelled += 1
        accepted = {g.strip().casefold() for g in gold}
        values = [r.gold.first_present(name) for r in shown]
        value_hits += any(v is not None and v.casefold() in accepted for v in values)
        attribute_hits += any(v is not None for v in values)
    return labelled, value_hits, attribute_hits


async def _extract(
    llm: LLM,
    queries: list[LabelledRecord],
    shown: list[list[LabelledRecord]],
    schema: dict[str, list[str]],
    concurrency: int,
) -> list[dict[str, str | None]]:
    generator = Generator(llm, role="generator-a")
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(query: LabelledRecord, examples: list[LabelledRecord]) -> dict[str, str | None]:
        names = schema.get(query.product.category, [])
        attributes = [AttributeSpec(name=n) for n in names]
        async with gate:
            extraction = await generator.extract(
                _product(query), attributes, [], [_example(r, names) for r in examples]
            )
        return dict(extraction.values)

    return list(await asyncio.gather(*(one(q, s) for q, s in zip(queries, shown, strict=True))))


async def run_retrieval(
    config: RetrievalConfig,
    *,
    llm: LLM | None = None,
    concurrency: int = 4,
    on_method: Callable[[MethodResult], None] | None = None,
) -> RetrievalReport:
    """Rank every query's category pool by each method and measure the top ``k``.

    Raises:
        MissingExtraError: ``embedding`` is asked for without the ``embeddings`` extra.
    """
    plan = plan_data(Path(config.data_dir), seed=config.seed, stream_limit=None, eval_limit=None)
    queries = plan.stream[: config.queries]
    pools: dict[str, list[LabelledRecord]] = {}
    for record in plan.verified:
        pools.setdefault(record.product.category, []).append(record)
    results: list[MethodResult] = []
    predictions: dict[Method, list[dict[str, str | None]]] = {}
    for method in config.methods:
        started = time.perf_counter()
        ranker: Ranker
        if method == "first":
            ranker = _first
        elif method == "words":
            ranker = _words_ranker(plan.schema)
        elif method == "bm25":
            ranker = _bm25
        else:
            ranker = _embedding_ranker(pools)
        setup = time.perf_counter() - started
        started = time.perf_counter()
        shown: list[list[LabelledRecord]] = []
        totals = [0, 0, 0]
        for query in queries:
            pool = pools.get(query.product.category, [])
            top = [pool[i] for i in ranker(query, pool)[: config.k]] if pool else []
            shown.append(top)
            names = plan.schema.get(query.product.category, [])
            totals = [a + b for a, b in zip(totals, _hits(query, top, names), strict=True)]
        elapsed = time.perf_counter() - started
        result = MethodResult(
            method=method,
            labelled_values=totals[0],
            value_hits=totals[1],
            attribute_hits=totals[2],
            ms_per_query=round(1000 * elapsed / max(len(queries), 1), 3),
            setup_seconds=round(setup, 3),
        )
        if llm is not None:
            predicted = await _extract(llm, queries, shown, plan.schema, concurrency)
            predictions[method] = predicted
            gold = [q.gold for q in queries]
            result.f1 = score(gold, predicted, schema=plan.schema, variant="published").micro.f1
            result.strict_f1 = score(gold, predicted, schema=plan.schema, variant="strict").micro.f1
        results.append(result)
        if on_method is not None:
            on_method(result)
    intervals: list[Interval] = []
    if "words" in predictions:
        gold = [q.gold for q in queries]
        base = record_counts(gold, predictions["words"], schema=plan.schema, variant="published")
        for method, predicted in predictions.items():
            if method == "words":
                continue
            counts = record_counts(gold, predicted, schema=plan.schema, variant="published")
            intervals.append(
                difference_interval(method, "words", counts, base, variant="published")
            )
    return RetrievalReport(
        config=config, pool=len(plan.verified), results=results, intervals=intervals
    )
