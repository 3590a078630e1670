"""``dissensus run``: stream a catalog through the layers, learning as it goes, resumably.

The input is read in chunks; each chunk is grouped by category (products of one category share
a prompt prefix, so the engine's prefix cache hits) and cut into batches of
``settings.batch_size``. Learnings the supervisor writes during a batch are retrieved for the
next batch of the category: that is deploy-and-learn. So the batches of one category run in
order, one after another, while batches of different categories run side by side under one
limit of ``settings.concurrency`` products in the models at once: a category's last slow product
then does not leave the engine's other slots idle (measured by ``dissensus bench throughput``).
The next chunk is read when the products in flight drop below a chunk, so memory stays bounded
and chunk boundaries leave no slot idle either.

Every finished product is committed with its model calls, and the output file is only ever
extended by the contiguous prefix of finished products, so a run killed at any point continues
with the same ``--run-id`` and loses or repeats nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from dissensus.config import Settings
from dissensus.consensus import ConsensusPolicy, Route, audited, presence_routes, routes_from
from dissensus.domain import (
    AttributeSpec,
    CatalogSchema,
    EnrichedRecord,
    Learning,
    Product,
    RouteKey,
)
from dissensus.errors import SchemaError
from dissensus.knowledge import KnowledgeBase, LearningGate, MemoryManager, TrackRecords
from dissensus.llm import LLM
from dissensus.observability import redact_url, stored_call
from dissensus.observability.metrics import ProductOutcomeLabel, RunMetrics
from dissensus.observability.tracing import Tracing
from dissensus.pipeline.compaction import auto_compaction
from dissensus.pipeline.evidence import CategoryEvidence, EvidenceSource
from dissensus.pipeline.inputs import (
    InputRecord,
    count_records,
    file_sha256,
    read_records,
    refuse_overwrite,
)
from dissensus.pipeline.ray_engine import RayOptions
from dissensus.pipeline.replay import RuleReplay
from dissensus.pipeline.stages import ProductEnricher, ProductOutcome
from dissensus.pipeline.store import HEARTBEAT_SECONDS, RunStore
from dissensus.pipeline.summary import RunSummary, summarize
from dissensus.review import ReviewPolicy, ReviewQueue
from dissensus.storage import Database
from dissensus.storage.output_file import append_prefix, rewrite_prefix
from dissensus.supervisor import Supervisor, VerifiedCatalog
from dissensus.workers import Evaluator, Generator, LexiconWorker, WorkerTeam

__all__ = ["ProductHook", "RunRequest", "Runner", "new_run_id"]

ModelOpener = Callable[[str], LLM]
ProgressHook = Callable[[int, int], None]
"""Called with (products finished so far, total records)."""
ProductHook = Callable[[InputRecord, ProductOutcome], None]
"""Called with each product's record and outcome right after it is committed (benchmarks)."""


log = logging.getLogger(__name__)


def new_run_id() -> str:
    """A sortable, readable run id: ``run-20261125-231800-1a2b``."""
    return f"run-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


@dataclass(slots=True)
class RunRequest:
    """What to run on."""

    input_path: Path
    schema_path: Path
    out_path: Path
    run_id: str = field(default_factory=new_run_id)
    verified_path: Path | None = None


async def _heartbeat(store: RunStore) -> None:
    """Tell the database this process still runs the run, until cancelled."""
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        await asyncio.to_thread(store.heartbeat)


class Runner:
    """Wires settings, models and storage into the stages, and drives a run."""

    def __init__(
        self,
        settings: Settings,
        *,
        db: Database,
        open_model: ModelOpener,
        progress: ProgressHook | None = None,
        on_product: ProductHook | None = None,
        metrics: RunMetrics | None = None,
        tracing: Tracing | None = None,
        ray: RayOptions | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.open_model = open_model
        self.progress = progress
        self.on_product = on_product
        self.metrics = metrics
        """Counted as products are saved (``--metrics-port``); ``None``: nothing is counted."""
        self.tracing = tracing if tracing is not None else Tracing.off()
        self.kb = KnowledgeBase(db)
        self.ray = ray
        """Run the model stages on a Ray actor pool (``--engine ray``); ``None``: in process."""

    def _enricher(
        self, run_id: str, catalog: VerifiedCatalog | None, schema: CatalogSchema
    ) -> ProductEnricher:
        s = self.settings
        generators = [
            Generator(self.open_model(g.model), role=f"generator-{chr(97 + i)}", style=g.style)
            for i, g in enumerate(s.generators)
        ]
        evaluator = (
            Evaluator(self.open_model(s.evaluator), reason_chars=s.evaluator_reason_chars)
            if s.evaluator
            else None
        )
        c = s.consensus
        policy = ConsensusPolicy(
            quorum=c.quorum,
            min_voters=c.min_voters,
            evaluator_veto=c.evaluator_veto,
            veto_needs_alternative=c.veto_needs_alternative,
            ambiguous_escalates=c.ambiguous_escalates,
            absent_agreement_is_consensus=c.absent_agreement_is_consensus,
            abstention_escalates=c.abstention_escalates,
        )
        knowledge = self.kb if s.use_knowledge else None
        supervisor = Supervisor(self.open_model(s.supervisor), knowledge=knowledge, catalog=catalog)
        gate = (
            LearningGate(
                catalog.products if catalog is not None else [],
                replay=RuleReplay(generators[0], schema),
            )
            if s.learning_gate
            else None
        )
        deployment = s.deployment()
        manager = (
            MemoryManager(
                self.kb,
                self.open_model(s.memory_manager_model()),
                status=deployment.placement_status,
                activate_after=deployment.activate_after,
                gate=gate,
            )
            if s.learning
            else None
        )
        return ProductEnricher(
            team=WorkerTeam(
                generators, evaluator, lexicon=LexiconWorker() if s.lexicon_worker else None
            ),
            policy=policy,
            supervisor=supervisor,
            memory_manager=manager,
            run_id=run_id,
            review_confidence=s.review_confidence,
            review=ReviewPolicy.from_settings(s),
            maturity=ReviewQueue(self.db).maturity_for(run_id),
            learning_kinds=s.learning_kinds,
            tracing=self.tracing,
            track=TrackRecords(self.db) if s.learning and s.consensus.route_after > 0 else None,
        )

    async def run(self, request: RunRequest) -> RunSummary:
        """Run (or resume) to the end and return the summary."""
        started = time.perf_counter()
        refuse_overwrite(
            request.out_path, (request.input_path, request.schema_path, request.verified_path)
        )
        schema = CatalogSchema.load(request.schema_path)
        catalog = VerifiedCatalog.load(request.verified_path) if request.verified_path else None
        # Check the input before a run row names it: a missing file or an unknown format is an
        # InputError here, not an OSError from hashing it or a run left 'running' forever.
        total = count_records(request.input_path)
        store = RunStore(self.db, request.run_id)
        resumed = store.open(
            input_path=str(request.input_path),
            input_sha256=file_sha256(request.input_path),
            schema_path=str(request.schema_path),
            schema_sha256=file_sha256(request.schema_path),
            config=_stored_config(self.settings),
            output_path=str(request.out_path),
        )
        done = store.done_seqs()
        log.info(
            "run %s %s: %d records, %d already done",
            request.run_id,
            "resumed" if resumed else "started",
            total,
            len(done),
            extra={"run_id": request.run_id, "records": total, "resumed": resumed},
        )
        writer = _OrderedWriter(request.out_path, store)
        finished = len(done)
        if self.progress:
            self.progress(finished, total)
        beating = asyncio.create_task(_heartbeat(store))
        run_span = self.tracing.span(
            "run", {"dissensus.run.id": request.run_id, "dissensus.resumed": resumed}
        )
        try:
            with run_span:
                if self.ray is not None:
                    await self._run_on_ray(request, done, writer, finished, total)
                else:
                    await self._run_here(request, done, writer, finished, total, schema, catalog)
        finally:
            beating.cancel()
            store.release()
        writer.flush()
        summary = summarize(
            request.run_id,
            store.rows(),
            learnings_added=self._learnings_added(request.run_id),
            totals=store.call_totals(),
            wall_seconds=time.perf_counter() - started,
            resumed=resumed,
            learned=self._learned(request.run_id),
        )
        store.finish("completed", json.loads(summary.model_dump_json()))
        log.info(
            "run %s completed: %d products, %d errors, %d supervisor calls, %.1f s",
            request.run_id,
            summary.products,
            summary.errors,
            summary.supervisor_calls,
            summary.wall_seconds,
            extra={"run_id": request.run_id, "products": summary.products},
        )
        return summary

    async def _run_here(
        self,
        request: RunRequest,
        done: set[int],
        writer: _OrderedWriter,
        finished: int,
        total: int,
        schema: CatalogSchema,
        catalog: VerifiedCatalog | None,
    ) -> None:
        """Run the batches in this process: one lane per category, under one concurrency cap."""
        store = writer.store
        enricher = self._enricher(request.run_id, catalog, schema)
        evidence = EvidenceSource(
            catalog=catalog,
            kb=self.kb if self.settings.use_knowledge else None,
            examples=self.settings.examples_per_product,
            lexicon=self.settings.lexicon_worker,
        )
        upkeep = auto_compaction(self.settings, self.kb, self.open_model)
        gate = asyncio.Semaphore(max(1, self.settings.concurrency))
        upkeep_turn = asyncio.Lock()

        async def run_batch(batch: list[InputRecord]) -> None:
            nonlocal finished
            count = await self._run_batch(batch, schema, enricher, store, gate, evidence)
            finished += count
            if upkeep is not None:
                async with upkeep_turn:  # one compaction at a time, whichever lane ends a batch
                    await upkeep.after_batch()
            writer.flush()
            if self.progress:
                try:
                    self.progress(finished, total)
                except (KeyboardInterrupt, SystemExit) as exc:
                    # Raised in a lane task these would escape the event loop; carried as an
                    # ordinary exception they cancel the other lanes and surface from run().
                    raise _Interrupted(exc) from exc

        chunk_size = self.settings.batch_size * 4
        lanes = _Lanes(run_batch)
        try:
            async with asyncio.TaskGroup() as tasks:
                for chunk in _chunks(read_records(request.input_path), chunk_size):
                    todo = [r for r in chunk if r.seq not in done]
                    await lanes.room_for(chunk_size)
                    for batch in _category_batches(todo, self.settings.batch_size):
                        lanes.submit(tasks, batch)
        except BaseExceptionGroup as group:
            # Callers catch DissensusError, not a group: the first failure is the cause, and
            # the lanes it cancelled lost nothing that was committed.
            first = group.exceptions[0]
            raise (first.cause if isinstance(first, _Interrupted) else first) from None

    async def _run_on_ray(
        self,
        request: RunRequest,
        done: set[int],
        writer: _OrderedWriter,
        finished: int,
        total: int,
    ) -> None:
        """Run the batches on a Ray actor pool (``dissensus.pipeline.ray_engine``).

        The input is grouped exactly as here: per chunk, by category, in batches; each
        category's batches go to one actor in order. The output file grows from the database as
        groups finish, in input order.
        """
        from dissensus.pipeline.ray_engine import connect, run_on_ray

        assert self.ray is not None
        options = self.ray
        # Ray wants its first call in the main thread (its signal handlers live there); the
        # blocking dataset work then runs in a thread so the heartbeat keeps beating.
        connect(options)

        def chunks() -> Iterator[list[list[list[InputRecord]]]]:
            for chunk in _chunks(read_records(request.input_path), options.chunk_records):
                todo = [r for r in chunk if r.seq not in done]
                groups: dict[str, list[list[InputRecord]]] = {}
                for batch in _category_batches(todo, self.settings.batch_size):
                    groups.setdefault(_lane_key(batch[0]), []).append(batch)
                yield list(groups.values())

        count = finished

        def progressed(committed: int) -> None:
            nonlocal count
            count += committed
            writer.flush()
            if self.progress:
                self.progress(count, total)

        await asyncio.to_thread(
            run_on_ray,
            settings=self.settings,
            request=request,
            database_url=self.db.url,
            chunks=chunks(),
            options=options,
            progress=progressed,
        )

    async def _run_batch(
        self,
        batch: list[InputRecord],
        schema: CatalogSchema,
        enricher: ProductEnricher,
        store: RunStore,
        gate: asyncio.Semaphore,
        evidence: EvidenceSource,
    ) -> int:
        first = next((r.product for r in batch if r.product is not None), None)
        attrs = {
            "dissensus.category": first.category if first is not None else None,
            "dissensus.batch.size": len(batch),
            "dissensus.kb.version": self.kb.version() if self.tracing.enabled else None,
        }
        with self.tracing.span("batch", attrs):
            learnings: list[Learning] = []
            # Read once per batch, like the rules: what this batch learns reaches the next one.
            category = evidence.for_category(first.path) if first is not None else None
            if first is not None and self.settings.use_knowledge and schema.has(first.path):
                names = [a.name for a in schema.attributes_for(first.path)]
                learnings = self.kb.retrieve(
                    first.path, names, budget_tokens=self.settings.learning_budget_tokens
                )

            async def one(record: InputRecord) -> None:
                async with gate:
                    outcome = await self._process(record, schema, enricher, learnings, category)
                self._save(store, record, outcome)
                if outcome.record.error is not None:
                    log.warning(
                        "record %d (%s) not enriched: %s",
                        record.seq,
                        outcome.record.id,
                        outcome.record.error,
                        extra={"run_id": store.run_id, "seq": record.seq},
                    )
                if self.metrics is not None:
                    self._count(outcome)
                if outcome.record.error is None:
                    # Rules count where they were put in the prompt; values and examples where a
                    # published value cites them (they reach the workers as evidence instead).
                    cited = [i for a in outcome.record.attributes.values() for i in a.learnings]
                    self.kb.record_uses([item.id for item in learnings] + cited)
                if self.on_product is not None:
                    self.on_product(record, outcome)

            await asyncio.gather(*(one(r) for r in batch))
            return len(batch)

    async def _process(
        self,
        record: InputRecord,
        schema: CatalogSchema,
        enricher: ProductEnricher,
        learnings: list[Learning],
        category: CategoryEvidence | None = None,
    ) -> ProductOutcome:
        product = record.product
        if product is None:
            return ProductOutcome(
                record=EnrichedRecord(
                    id=record.raw_id or f"#{record.seq}", category=None, error=record.error
                )
            )
        try:
            attributes = schema.attributes_for(product.path)
        except SchemaError as exc:
            return _error(product, str(exc))
        product, notes = _capped(product, self.settings)
        evidence = category.for_product(product) if category is not None else None
        limit = self.settings.product_timeout_seconds or None
        try:
            outcome = await asyncio.wait_for(
                enricher.enrich(
                    product,
                    attributes,
                    learnings,
                    evidence,
                    self._routes(product, attributes, category, enricher.team.roles),
                ),
                timeout=limit,
            )
        except TimeoutError:
            return _error(
                product,
                f"timed out after {limit:g} s in the models (product_timeout_seconds); "
                "the run went on without it",
            )
        outcome.record.notes = notes
        return outcome

    def _routes(
        self,
        product: Product,
        attributes: Sequence[AttributeSpec],
        category: CategoryEvidence | None,
        roles: Sequence[str],
    ) -> dict[RouteKey, Route]:
        """The routes for one product: the verified catalog's presence prior, then what the
        category's track record earns (only a run that uses knowledge reads the record).

        Read per product, not per batch like the learnings: it is one indexed read, and a
        category's first batch is where most lone values are, so a product sees the rulings on
        the ones finished before it started. A product in the audit sample gets no route at
        all, the prior included, so its rulings show whether the routes still hold.
        """
        c = self.settings.consensus
        if audited(product.id, c.route_audit):
            return {}
        prior: dict[RouteKey, Route] = {}
        if category is not None:
            rare = category.rare(
                (a.name for a in attributes if not a.values),
                floor=c.presence_floor,
                min_products=c.presence_min_products,
            )
            prior = presence_routes(rare, roles)
        if not self.settings.use_knowledge or c.route_after <= 0:
            return prior
        record = TrackRecords(self.db).for_category(product.path.key)
        return routes_from(
            record,
            after=c.route_after,
            share=c.route_share,
            keep_share=c.route_keep_share,
            prior=prior,
        )

    def _save(self, store: RunStore, record: InputRecord, outcome: ProductOutcome) -> None:
        rec = outcome.record
        ticket = outcome.review

        def enqueue(session: Session) -> None:
            # In the record's own transaction: a resumed run never misses or repeats an item.
            assert ticket is not None
            ReviewQueue(self.db).add(session, ticket, run_id=store.run_id, seq=record.seq)

        store.save(
            seq=record.seq,
            product_id=rec.id,
            category=rec.category if rec.error is None else None,
            output=json.loads(rec.model_dump_json(exclude=None if rec.notes else {"notes"})),
            disputed=len(outcome.disputed),
            supervisor_called=outcome.supervisor_called,
            supervisor=(
                json.loads(outcome.supervisor.model_dump_json())
                if outcome.supervisor is not None
                else None
            ),
            calls=[stored_call(c, self.settings.call_log) for c in outcome.calls],
            within=enqueue if ticket is not None else None,
        )

    def _count(self, outcome: ProductOutcome) -> None:
        assert self.metrics is not None
        rec = outcome.record
        label: ProductOutcomeLabel = "agreed"
        if rec.error is not None:
            label = "error"
        elif any(a.status == "needs_review" for a in rec.attributes.values()):
            label = "needs_review"
        elif outcome.supervisor_called:
            label = "resolved"
        self.metrics.product(
            category=rec.category,
            outcome=label,
            disputed=outcome.disputed,
            calls=outcome.calls,
            costs=[self.open_model(c.model).profile.cost(c.usage) for c in outcome.calls],
            supervisor_called=outcome.supervisor_called,
            learnings_in_prompt=outcome.learnings_in_prompt,
            learnings_active=len(outcome.learnings_added) - outcome.learnings_held,
            learnings_held=outcome.learnings_held,
        )

    def _learnings_added(self, run_id: str) -> int:
        return len(self._learned(run_id))

    def _learned(self, run_id: str) -> list[Learning]:
        """The learnings this run's cases wrote (their first source is one of its products)."""
        prefix = f"{run_id}:"
        return [
            item for item in self.kb.list() if item.sources and item.sources[0].startswith(prefix)
        ]


def _stored_config(settings: Settings) -> dict[str, object]:
    """The settings as a run row keeps them: no paths of this machine, no secrets in URLs."""
    config: dict[str, object] = json.loads(
        settings.model_dump_json(exclude={"home", "database_url"})
    )
    url = config.get("openai_base_url")
    if isinstance(url, str):
        config["openai_base_url"] = redact_url(url)
    return config


def _capped(product: Product, settings: Settings) -> tuple[Product, list[str]]:
    """The product with its texts cut to the settings' caps, and a note per cut."""
    notes: list[str] = []
    title, description = product.title, product.description
    if len(title) > settings.max_title_chars:
        notes.append(f"title cut from {len(title)} to {settings.max_title_chars} characters")
        title = title[: settings.max_title_chars]
    if description is not None and len(description) > settings.max_description_chars:
        notes.append(
            f"description cut from {len(description)} to {settings.max_description_chars} "
            "characters"
        )
        description = description[: settings.max_description_chars] or None
    if not notes:
        return product, notes
    return product.model_copy(update={"title": title, "description": description}), notes


def _error(product: Product, message: str) -> ProductOutcome:
    return ProductOutcome(
        record=EnrichedRecord(id=product.id, category=product.category, error=message)
    )


def _chunks(records: Iterable[InputRecord], size: int) -> Iterable[list[InputRecord]]:
    chunk: list[InputRecord] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _category_batches(records: list[InputRecord], size: int) -> list[list[InputRecord]]:
    """Group by category (first appearance order), then cut into batches of ``size``.

    Invalid records form their own group: they cost nothing and only need an error line.
    """
    groups: dict[str, list[InputRecord]] = {}
    for record in records:
        groups.setdefault(_lane_key(record), []).append(record)
    batches: list[list[InputRecord]] = []
    for group in groups.values():
        batches += [group[i : i + size] for i in range(0, len(group), size)]
    return batches


class _Interrupted(Exception):
    """Carries a KeyboardInterrupt or SystemExit out of a lane task."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(repr(cause))
        self.cause = cause


def _lane_key(record: InputRecord) -> str:
    return record.product.path.key if record.product is not None else "\0invalid"


class _Lanes:
    """One lane per category: its batches run in submission order, lanes run side by side.

    Order within a category is what deploy-and-learn needs (a batch sees the learnings of the
    batches before it); across categories nothing is shared but the knowledge base's upper
    nodes, so their batches need not wait for each other.
    """

    def __init__(self, run_batch: Callable[[list[InputRecord]], Awaitable[None]]) -> None:
        self._run_batch = run_batch
        self._queues: dict[str, deque[list[InputRecord]]] = {}
        self._in_flight = 0
        self._changed = asyncio.Condition()

    def submit(self, tasks: asyncio.TaskGroup, batch: list[InputRecord]) -> None:
        """Queue ``batch`` behind its category's earlier batches; start the lane if idle."""
        key = _lane_key(batch[0])
        self._in_flight += len(batch)
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(batch)
            return
        self._queues[key] = deque([batch])
        tasks.create_task(self._drain(key))

    async def room_for(self, size: int) -> None:
        """Wait until fewer than ``size`` products are queued or running."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._in_flight < size)

    async def _drain(self, key: str) -> None:
        queue = self._queues[key]
        while queue:
            batch = queue[0]
            await self._run_batch(batch)
            queue.popleft()
            async with self._changed:
                self._in_flight -= len(batch)
                self._changed.notify_all()
        del self._queues[key]


class _OrderedWriter:
    """Extends the output file with the contiguous prefix of finished products."""

    def __init__(self, path: Path, store: RunStore) -> None:
        self.path = path
        self.store = store
        # Rewrite what is already done (a resumed run), so the file is a clean prefix.
        self.next_seq = rewrite_prefix(path, store.outputs(0))

    def flush(self) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            self.next_seq = append_prefix(fh, self.store.outputs(self.next_seq), self.next_seq)
