"""Ingesting a signals file: link, triage, store, and resolve the survivors as cases.

Each signal is linked to the latest published result of its product (``run_products``) and to
the product itself (read back from that run's input file). Signals that survive triage are
grouped by product and attribute into one supervisor case each, the signals' texts travelling
in the product's ``reviews``/``returns``/``seller_history`` fields, which the supervisor shows
as quoted untrusted data. The case's learnings are placed as ``proposed``: they reach prompts
only when a person approves them or when cases about ``signals.confirmations`` different
products, from as many different authors (sellers or customers, the signals' ``author``), draft
them. The learning's source is ``signal:PRODUCT:ATTRIBUTE@AUTHORS``, so one product's signals
count once however many there are, one seller writing about many products is one author, and
signals without an author confirm nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dissensus.config import Settings
from dissensus.domain import AttributeDispute, AttributeSpec, Case, CatalogSchema, Product
from dissensus.errors import DissensusError
from dissensus.knowledge import KnowledgeBase, MemoryManager
from dissensus.llm import LLM
from dissensus.pipeline.inputs import read_records
from dissensus.review import ReviewQueue, SignalNote, SupervisorView
from dissensus.signals.records import SignalRecord, read_signals
from dissensus.signals.triage import Published, Triage, TriageVerdict
from dissensus.storage import Database, Run, RunProduct
from dissensus.storage.tables import SignalRow
from dissensus.supervisor import Supervisor

__all__ = ["IngestReport", "SignalIngester"]

_FIELD = {"seller_edit": "seller_history", "appeal": "seller_history", "return": "returns"}


@dataclass(slots=True)
class IngestReport:
    """What one ingest did."""

    signals: int = 0
    duplicates: int = 0
    """Signals already stored by an earlier ingest (skipped)."""
    noise: list[tuple[str, str]] = field(default_factory=list)
    """(product id, reason) of every signal filtered out."""
    cases: list[str] = field(default_factory=list)
    """Case ids sent to the supervisor."""
    changes: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)
    """(product, attribute, published, resolved) where the supervisor disagreed with us."""
    learnings: list[str] = field(default_factory=list)
    """Learnings placed or confirmed from the cases."""
    review_items: list[int] = field(default_factory=list)
    """Review items opened (or reopened) for published values the supervisor found contested."""
    model_calls: int = 0


@dataclass(slots=True)
class _Pending:
    signal: SignalRecord
    verdict: TriageVerdict
    published: Published | None


class SignalIngester:
    """Reads, links, triages and learns from a signals file.

    Args:
        db: The open database (runs, knowledge base, signals).
        settings: For ``signals.*``, ``deployment_mode`` and ``review_confidence``.
        triage_llm: The cheap model for signals rules cannot decide (``None``: they are noise).
        supervisor_llm: Resolves the cases.
        memory_llm: Places their learnings (default: the supervisor's model).
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        triage_llm: LLM | None,
        supervisor_llm: LLM,
        memory_llm: LLM | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.kb = KnowledgeBase(db)
        self.triage = Triage(triage_llm)
        self.supervisor = Supervisor(supervisor_llm, knowledge=self.kb, catalog=None)
        staged = settings.deployment_mode == "learn-then-deploy"
        self.memory = MemoryManager(
            self.kb,
            memory_llm or supervisor_llm,
            actor="signals",
            status="proposed",
            # Activation is decided here, by distinct products and authors (see _confirmed).
            activate_after=None,
        )
        self._needed = None if staged else settings.signals.confirmations
        self.queue = ReviewQueue.from_settings(db, settings)
        self._products: dict[str, dict[str, Product]] = {}
        self._schemas: dict[str, CatalogSchema | None] = {}

    async def ingest(self, path: Path) -> IngestReport:
        """Ingest every signal of ``path``; a signal already stored is skipped."""
        report = IngestReport()
        pending: list[_Pending] = []
        for signal in read_signals(path):
            report.signals += 1
            if self._seen(signal.digest):
                report.duplicates += 1
                continue
            published = self._published(signal.product_id)
            verdict = await self.triage.decide(signal, published)
            pending.append(_Pending(signal, verdict, published))
        self._single_reviews(pending)
        groups: dict[tuple[str, str], list[_Pending]] = defaultdict(list)
        for item in pending:
            if item.verdict.verdict == "noise":
                report.noise.append((item.signal.product_id, item.verdict.reason))
                self._store(item)
                continue
            assert item.verdict.attribute is not None
            groups[(item.signal.product_id, item.verdict.attribute)].append(item)
        for (product_id, attribute), items in groups.items():
            await self._resolve(product_id, attribute, items, report)
        report.model_calls += self.triage.model_calls
        return report

    # --- linking --------------------------------------------------------------------------

    def _seen(self, digest: str) -> bool:
        with self.db.read() as session:
            found = session.scalar(select(SignalRow.id).where(SignalRow.digest == digest))
            return found is not None

    def _published(self, product_id: str) -> Published | None:
        """The latest published result for the product, with the product read back."""
        with self.db.read() as session:
            row = session.execute(
                select(RunProduct.run_id, RunProduct.seq, RunProduct.output)
                .where(RunProduct.product_id == product_id, RunProduct.category.is_not(None))
                .order_by(RunProduct.finished_at.desc(), RunProduct.seq.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        run_id, seq, output = row
        return Published(run_id, int(seq), dict(output), self._product(run_id, product_id))

    def _product(self, run_id: str, product_id: str) -> Product | None:
        if run_id not in self._products:
            products: dict[str, Product] = {}
            with self.db.read() as session:
                run = session.get(Run, run_id)
                input_path = Path(run.input_path) if run is not None else None
            if input_path is not None and input_path.is_file():
                try:
                    for record in read_records(input_path):
                        if record.product is not None:
                            products[record.product.id] = record.product
                except DissensusError:
                    products = {}
            self._products[run_id] = products
        return self._products[run_id].get(product_id)

    def _attribute_spec(self, run_id: str, product: Product, name: str) -> AttributeSpec:
        if run_id not in self._schemas:
            with self.db.read() as session:
                run = session.get(Run, run_id)
                schema_path = Path(run.schema_path) if run is not None else None
            schema: CatalogSchema | None = None
            if schema_path is not None and schema_path.is_file():
                try:
                    schema = CatalogSchema.load(schema_path)
                except DissensusError:
                    schema = None
            self._schemas[run_id] = schema
        schema = self._schemas[run_id]
        if schema is not None and schema.has(product.path):
            for spec in schema.attributes_for(product.path):
                if spec.name == name:
                    return spec
        return AttributeSpec(name=name)

    # --- triage across the file -------------------------------------------------------------

    def _single_reviews(self, pending: list[_Pending]) -> None:
        """A lone customer voice against a confident consensus is noise, not a case."""
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for item in pending:
            if item.verdict.verdict == "case" and item.verdict.attribute is not None:
                counts[(item.signal.product_id, item.verdict.attribute)] += 1
        strong = self.settings.signals.strong_consensus
        for item in pending:
            v, published = item.verdict, item.published
            if v.verdict != "case" or v.attribute is None or published is None:
                continue
            if item.signal.kind not in ("review", "return"):
                continue
            result = published.attributes.get(v.attribute) or {}
            if (
                counts[(item.signal.product_id, v.attribute)] == 1
                and result.get("status") == "consensus"
                and float(result.get("confidence") or 0.0) >= strong
            ):
                item.verdict = v.model_copy(
                    update={
                        "verdict": "noise",
                        "reason": f"a single {item.signal.kind} against a strong consensus "
                        f"({v.attribute} at confidence {float(result['confidence']):.2f})",
                    }
                )

    # --- cases ------------------------------------------------------------------------------

    async def _resolve(
        self, product_id: str, attribute: str, items: list[_Pending], report: IngestReport
    ) -> None:
        published = items[0].published
        assert published is not None
        product = published.product
        if product is None:
            for item in items:
                item.verdict = item.verdict.model_copy(
                    update={
                        "verdict": "noise",
                        "reason": "the product's text is unavailable (its run's input file "
                        "moved), so no case can be built",
                    }
                )
                report.noise.append((product_id, item.verdict.reason))
                self._store(item)
            return
        case = self._case(product, attribute, items, published)
        report.cases.append(case.id)
        authors = sorted({i.signal.author for i in items if i.signal.author is not None})
        source = f"{case.id}@{'+'.join(authors)}"
        outcome = await self.supervisor.resolve(case)
        report.model_calls += 1
        resolution = outcome.resolution
        placed: list[str] = []
        if (
            resolution is not None
            and not resolution.needs_human
            and resolution.confidence >= self.settings.review_confidence
        ):
            ours = published.value(attribute)
            if attribute in resolution.values and resolution.values[attribute] != ours:
                resolved = resolution.values[attribute]
                report.changes.append((product_id, attribute, ours, resolved))
                # Upheld: the published value is contested; a person decides on the desk.
                report.review_items.append(
                    self.queue.raise_signal(
                        run_id=published.run_id,
                        seq=published.seq,
                        product=product,
                        attributes=case.attributes,
                        notes=[
                            SignalNote(
                                kind=i.signal.kind,
                                author=i.signal.author,
                                attribute=attribute,
                                text=i.signal.text[:500],
                                claimed_value=i.verdict.claimed_value,
                                published_value=ours,
                                resolved_value=resolved,
                            )
                            for i in items
                        ],
                        supervisor=SupervisorView(model=outcome.model, resolution=resolution),
                    )
                )
            for draft in resolution.learnings:
                placement = await self.memory.place(draft, source=source)
                report.model_calls += placement.model_calls
                learning_id = placement.learning_id or placement.duplicate_of
                if learning_id is not None:
                    placed.append(learning_id)
                    self._activate_if_confirmed(learning_id)
        report.learnings += [p for p in placed if p not in report.learnings]
        stored = json.loads(resolution.model_dump_json()) if resolution is not None else None
        for item in items:
            self._store(item, case_id=case.id, resolution=stored, learnings=placed)

    def _activate_if_confirmed(self, learning_id: str) -> None:
        """Activate a proposed learning drafted by cases about enough distinct products from
        enough distinct authors (``signals.confirmations`` of each)."""
        if self._needed is None:
            return
        learning = self.kb.get(learning_id)
        if learning.status != "proposed":
            return
        products, authors = independent_sources(learning.sources)
        if len(products) >= self._needed and len(authors) >= self._needed:
            self.kb.set_status(
                learning_id,
                "active",
                "signals",
                f"drafted by cases about {len(products)} products from {len(authors)} distinct "
                f"sellers or customers (needs {self._needed} of each)",
            )

    def _case(
        self, product: Product, attribute: str, items: list[_Pending], published: Published
    ) -> Case:
        extra: dict[str, Any] = dict(product.extra)
        candidates: dict[str, str | None] = {"published": published.value(attribute)}
        for n, item in enumerate(items, 1):
            s = item.signal
            name = _FIELD.get(s.kind, "reviews")
            entry: dict[str, Any] = {"kind": s.kind, "text": s.text}
            if s.rating is not None:
                entry["rating"] = s.rating
            if s.kind in ("seller_edit", "appeal"):
                entry.update(attribute=attribute, old=s.old_value, new=s.new_value)
            extra[name] = [*_as_list(extra.get(name)), entry]
            if item.verdict.claimed_value is not None:
                who = "seller" if s.kind in ("seller_edit", "appeal") else "customer"
                candidates[f"{who}-{n}"] = item.verdict.claimed_value
        result = published.attributes.get(attribute) or {}
        return Case(
            id=f"signal:{product.id}:{attribute}",
            product=product.model_copy(update={"extra": extra}),
            attributes=[self._attribute_spec(published.run_id, product, attribute)],
            disputes=[
                AttributeDispute(attribute=attribute, reason="signal", candidates=candidates)
            ],
            extractions=[],
            learnings_in_prompt=list(result.get("learnings") or []),
        )

    def _store(
        self,
        item: _Pending,
        *,
        case_id: str | None = None,
        resolution: dict[str, Any] | None = None,
        learnings: list[str] | None = None,
    ) -> None:
        s, v, p = item.signal, item.verdict, item.published
        with self.db.write() as session:
            session.add(
                SignalRow(
                    digest=s.digest,
                    kind=s.kind,
                    product_id=s.product_id,
                    attribute=v.attribute or s.attribute,
                    old_value=s.old_value,
                    new_value=s.new_value,
                    rating=s.rating,
                    text=s.text,
                    author=s.author,
                    run_id=p.run_id if p is not None else None,
                    seq=p.seq if p is not None else None,
                    published_value=p.value(v.attribute) if p and v.attribute else None,
                    verdict=v.verdict,
                    contradicts=v.contradicts,
                    reason=v.reason,
                    decided_by=v.by,
                    case_id=case_id,
                    resolution=resolution,
                    learnings=list(learnings or []),
                )
            )


def independent_sources(sources: list[str]) -> tuple[set[str], set[str]]:
    """The distinct products and authors behind a learning's signal sources
    (``signal:PRODUCT:ATTRIBUTE@AUTHOR+AUTHOR``); other sources count for neither."""
    products: set[str] = set()
    authors: set[str] = set()
    for source in sources:
        if not source.startswith("signal:"):
            continue
        case, _, who = source.partition("@")
        products.add(case.removeprefix("signal:").rsplit(":", 1)[0])
        authors.update(a for a in who.split("+") if a)
    return products, authors


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
