"""The stages one product goes through: workers, consensus, supervisor, memory manager.

Kept apart from the runner (batching, storage, resume) so benchmarks and tests can drive a
single product through exactly the code a run uses.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from dissensus.consensus import ConsensusOutcome, ConsensusPolicy, Route, decide, same_value
from dissensus.domain import (
    AttributeResult,
    AttributeSpec,
    Case,
    EnrichedRecord,
    Learning,
    LearningKind,
    Product,
    RouteKey,
    Status,
    TrackCounts,
    Usage,
)
from dissensus.domain.injection import injection_reason
from dissensus.knowledge import MemoryManager, Ruling, TrackRecords
from dissensus.llm import CallRecord, recording
from dissensus.observability.tracing import Tracing
from dissensus.review import ReviewContext, ReviewPolicy, ReviewTicket, SupervisorView
from dissensus.supervisor import Supervisor, SupervisorReport
from dissensus.workers import ProductEvidence, WorkerOutput, WorkerTeam

__all__ = ["ProductEnricher", "ProductOutcome"]


@dataclass(slots=True)
class ProductOutcome:
    """Everything the runner stores for one processed product."""

    record: EnrichedRecord
    disputed: list[str] = field(default_factory=list)
    routed: list[str] = field(default_factory=list)
    """Attributes settled by a route (``consensus.routes``) instead of the supervisor."""
    supervisor_called: bool = False
    learnings_added: list[str] = field(default_factory=list)
    learnings_held: int = 0
    """How many of ``learnings_added`` the gate (or an injection hold) kept proposed."""
    learnings_in_prompt: int = 0
    """Learnings that were in front of the models (rules, learned examples, known values)."""
    calls: list[CallRecord] = field(default_factory=list)
    """Every model call made for the product, each with its own latency (the call log)."""
    review: ReviewTicket | None = None
    """What goes to the human review queue with this record, if anything."""
    work: WorkerOutput | None = None
    """What each worker said before consensus (benchmarks score one generator's raw output)."""
    supervisor: SupervisorView | None = None
    """The supervisor's answer, when it was called; stored with the record as provenance."""

    @property
    def usage(self) -> Usage:
        total = Usage()
        for call in self.calls:
            total = total + call.usage
        return total


class ProductEnricher:
    """Runs one product through the three layers and, when it learns, the memory manager."""

    def __init__(
        self,
        *,
        team: WorkerTeam,
        policy: ConsensusPolicy,
        supervisor: Supervisor,
        memory_manager: MemoryManager | None,
        run_id: str,
        review_confidence: float = 0.3,
        review: ReviewPolicy | None = None,
        maturity: Callable[[str], int] | None = None,
        learning_kinds: Sequence[LearningKind] = ("value", "example", "rule"),
        tracing: Tracing | None = None,
        track: TrackRecords | None = None,
    ) -> None:
        self.team = team
        self.policy = policy
        self.supervisor = supervisor
        self.memory_manager = memory_manager
        self.run_id = run_id
        self.review_confidence = review_confidence
        self.review = review
        """Decides which records go to the review queue (``None``: none do)."""
        self.learning_kinds = frozenset(learning_kinds)
        """The kinds of drafts that are placed; the others are dropped."""
        self.maturity = maturity or (lambda _category: 0)
        """Category → products behind it, for the audit sample's decay."""
        # The tree is one shared structure: placements go one at a time so two products of a
        # batch cannot both decide to create the same branch.
        self._placing = asyncio.Lock()
        self.tracing = tracing if tracing is not None else Tracing.off()
        self.track = track
        """Where the supervisor's rulings on lone values are counted (learning runs only)."""

    async def enrich(
        self,
        product: Product,
        attributes: list[AttributeSpec],
        learnings: list[Learning],
        evidence: ProductEvidence | None = None,
        routes: Mapping[RouteKey, Route] | None = None,
    ) -> ProductOutcome:
        """Run one product through workers, consensus and (on a dispute) the supervisor.

        ``evidence`` carries the product's retrieved solved examples and the category's
        lexicon; without it the generators work zero-shot and the lexicon worker sits out.
        ``routes`` are the category's (``consensus.routes``): lone values consensus may settle.
        """
        attrs = {
            "dissensus.run.id": self.run_id,
            "dissensus.product.id": product.id,
            "dissensus.category": product.category,
        }
        with recording() as calls, self.tracing.span("product", attrs) as span:
            result = await self._enrich(product, attributes, learnings, evidence, routes or {})
            if span is not None:
                span.set_attribute("dissensus.disputed_attributes", list(result.disputed))
                span.set_attribute("dissensus.supervisor_called", result.supervisor_called)
                span.set_attribute("dissensus.learnings_added", list(result.learnings_added))
        result.calls = calls
        return result

    async def _enrich(
        self,
        product: Product,
        attributes: list[AttributeSpec],
        learnings: list[Learning],
        evidence: ProductEvidence | None,
        routes: Mapping[RouteKey, Route],
    ) -> ProductOutcome:
        ids = [item.id for item in learnings]
        if evidence is not None:
            # Provenance: the learned examples and known values that were in front of the workers.
            ids += [ex.source for ex in evidence.examples if not ex.source.startswith("verified:")]
            ids += evidence.lexicon_learnings
            ids = list(dict.fromkeys(ids))
        with self.tracing.span("workers", {"dissensus.learning_ids": ids}):
            work = await self.team.run(product, attributes, learnings, evidence)
        # A product whose text addresses the model is never settled by a route, and its
        # rulings teach no route: a seller must not be able to steer what gets dropped.
        hostile = injection_reason(_hostile_text(product)) is not None
        with self.tracing.span("consensus") as span:
            outcome = decide(
                work.extractions,
                work.evaluation,
                attributes,
                self.policy,
                {} if hostile else routes,
                product.text,
            )
            if span is not None:
                span.set_attribute("dissensus.disputed_attributes", list(outcome.disputed))
        results = {
            name: AttributeResult(
                value=d.value,
                status="routed" if d.reason == "routed" else "consensus",
                confidence=d.confidence,
                learnings=ids,
            )
            for name, d in outcome.decisions.items()
            if d.agreed
        }
        models = [e.model for e in work.extractions]
        if work.evaluation is not None:
            models.append(work.evaluation.model)
        result = ProductOutcome(
            record=EnrichedRecord(id=product.id, category=product.category),
            disputed=list(outcome.disputed),
            routed=outcome.routed,
            work=work,
            learnings_in_prompt=len(ids),
        )
        case: Case | None = None
        report: SupervisorReport | None = None
        held = False
        if outcome.disputed:
            case = _case(self.run_id, product, attributes, work, outcome, ids, evidence)
            with self.tracing.span(
                "supervisor", {"dissensus.disputed_attributes": list(outcome.disputed)}
            ):
                report = await self.supervisor.resolve(case)
            result.supervisor_called = True
            result.supervisor = SupervisorView(
                model=report.model, resolution=report.resolution, error=report.error
            )
            models.append(report.model)
            results.update(self._settle(case, report, ids))
            if self.track is not None and not hostile:
                self.track.add(product.path.key, _rulings(outcome, report))
            if self._should_learn(report):
                with self.tracing.span("learn"):
                    result.learnings_added, result.learnings_held = await self._learn(case, report)
                held = result.learnings_held > 0
        # Keep the schema's attribute order in the output.
        result.record.attributes = {
            s.name: results[s.name] for s in attributes if s.name in results
        }
        result.record.models = list(dict.fromkeys(models))
        if self.review is not None:
            result.review = self._ticket(
                product, result.record, attributes, work, learnings, case, report, held=held
            )
        return result

    def _ticket(
        self,
        product: Product,
        record: EnrichedRecord,
        attributes: list[AttributeSpec],
        work: WorkerOutput,
        learnings: list[Learning],
        case: Case | None,
        report: SupervisorReport | None,
        *,
        held: bool = False,
    ) -> ReviewTicket | None:
        """The review stage: ask the policy, and capture what a reviewer will need."""
        assert self.review is not None
        resolution = report.resolution if report is not None else None
        triage = self.review.triage(
            record,
            resolution=resolution,
            run_id=self.run_id,
            maturity=self.maturity(record.category or ""),
            held=held,
        )
        if triage is None:
            return None
        return ReviewTicket(
            reason=triage.reason,
            attributes=triage.attributes,
            context=ReviewContext(
                product=product,
                attributes=attributes,
                disputes=case.disputes if case is not None else [],
                extractions=work.extractions,
                evaluation=work.evaluation,
                supervisor=(
                    SupervisorView(model=report.model, resolution=resolution, error=report.error)
                    if report is not None
                    else None
                ),
                learnings=learnings,
                record=record.model_copy(deep=True),
                audit_rate=triage.audit_rate,
            ),
        )

    def _settle(
        self, case: Case, report: SupervisorReport, ids: list[str]
    ) -> dict[str, AttributeResult]:
        settled: dict[str, AttributeResult] = {}
        resolution = report.resolution
        for dispute in case.disputes:
            name = dispute.attribute
            # A disputed attribute the resolution leaves out was not decided: only a null value
            # means "absent from the text".
            if resolution is None or name not in resolution.values:
                settled[name] = AttributeResult(
                    value=None, status="needs_review", confidence=0.0, learnings=ids
                )
                continue
            value = resolution.values.get(name)
            low = resolution.confidence < self.review_confidence
            status: Status = "needs_review" if resolution.needs_human or low else "supervisor"
            settled[name] = AttributeResult(
                value=value, status=status, confidence=resolution.confidence, learnings=ids
            )
        return settled

    def _should_learn(self, report: SupervisorReport) -> bool:
        """Only settled resolutions teach: an unsure or hand-off case is no lesson yet."""
        resolution = report.resolution
        return (
            self.memory_manager is not None
            and resolution is not None
            and not resolution.needs_human
            and resolution.confidence >= self.review_confidence
        )

    async def _learn(self, case: Case, report: SupervisorReport) -> tuple[list[str], int]:
        """Place the case's drafts; returns the learnings added and how many were held."""
        assert report.resolution is not None and self.memory_manager is not None
        added: list[str] = []
        held = 0
        # The product's text and signals are the seller's and customers' words: if they address
        # the model, nothing this case teaches goes live without a person.
        hold = injection_reason(_hostile_text(case.product))
        async with self._placing:
            for draft in report.resolution.learnings:
                if draft.kind not in self.learning_kinds:
                    continue
                placement = await self.memory_manager.place(draft, source=case.id, hold=hold)
                if placement.learning_id is not None:
                    added.append(placement.learning_id)
                    held += placement.held is not None
        return added, held


def _rulings(outcome: ConsensusOutcome, report: SupervisorReport) -> list[Ruling]:
    """The supervisor's rulings on the lone values it settled: kept (upheld) or not.

    An unsure or hand-off resolution rules on nothing, like it teaches nothing.
    """
    resolution = report.resolution
    if resolution is None or resolution.needs_human:
        return []
    rulings: list[Ruling] = []
    for name, decision in outcome.decisions.items():
        if decision.agreed or decision.lone is None or name not in resolution.values:
            continue
        attribute, role = decision.lone
        ruled = resolution.values[name]
        if same_value(ruled, decision.candidates.get(role)):
            one = TrackCounts(upheld=1)
        elif same_value(ruled, None):
            one = TrackCounts(absent=1)
        else:
            one = TrackCounts(replaced=1)
        rulings.append((attribute, role, one))
    return rulings


def _hostile_text(product: Product) -> str:
    """Everything a seller or customer wrote about the product, as one text to screen."""
    return "\n".join([product.text, json.dumps(product.signals(), ensure_ascii=False)])


def _case(
    run_id: str,
    product: Product,
    attributes: list[AttributeSpec],
    work: WorkerOutput,
    outcome: ConsensusOutcome,
    learning_ids: list[str],
    evidence: ProductEvidence | None,
) -> Case:
    disputes = outcome.disputes()
    known: dict[str, str] = {}
    vocabulary: dict[str, list[str]] = {}
    if evidence is not None and evidence.lexicon is not None:
        open_names = [a.name for a in attributes if not a.values]
        known = evidence.lexicon.match(product.text, open_names)
        vocabulary = evidence.lexicon.vocabulary(d.attribute for d in disputes)
    return Case(
        id=f"{run_id}:{product.id}",
        product=product,
        attributes=attributes,
        disputes=disputes,
        extractions=work.extractions,
        evaluation=work.evaluation,
        learnings_in_prompt=learning_ids,
        examples=evidence.examples if evidence is not None else [],
        settled=outcome.settled,
        known_values=known,
        vocabulary=vocabulary,
    )
