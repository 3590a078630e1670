"""Re-processing: re-run the products of a past run that a newer active learning would change.

``dissensus run --rerun affected --from-run PAST`` finds the products of run ``PAST`` for which
a learning is **new**: it is retrievable now for the product's category (active, on the
category's node or an ancestor, scoped to one of its attributes, within the prompt budget) and

- its current active version (activation, or a later change of its text, example or scope, per
  the ``kb_events`` history) dates from after the product was processed
  (``run_products.finished_at``), or
- it became active while run ``PAST`` was running and the product's prompt did not carry it
  (the product's output ``learnings`` lists): deploy-and-learn places a learning during a batch,
  so the product that drafted it, and the rest of its batch, never saw it.

A learning that was active before ``PAST`` started does not count even if the product's prompt
lacked it (a full budget, ``use_knowledge: false``): nothing has been learned since.

Those products are written, in their original order, to a filtered input file next to the new
output (``<out>.input.jsonl``, with ``<out>.plan.json`` recording which past records they are)
and run through the normal :class:`~dissensus.pipeline.Runner` under a new run id, so the rerun
is an ordinary, resumable run with its own output, review items and summary; the past run is
left as it was. The changes (per product and attribute, old value/status → new) are returned
and written to ``<out>.changes.json``. Resuming a rerun (same ``--run-id``) reuses its plan
rather than recomputing it, because the rerun itself may have changed the knowledge base.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, computed_field
from sqlalchemy import select

from dissensus.domain import CatalogSchema, CategoryPath, Learning
from dissensus.errors import RunError, SchemaError
from dissensus.knowledge import KnowledgeBase
from dissensus.pipeline.inputs import file_sha256, read_records
from dissensus.pipeline.runner import Runner, RunRequest
from dissensus.pipeline.runs import run_row
from dissensus.pipeline.store import RunStore
from dissensus.pipeline.summary import RunSummary
from dissensus.storage import Database, KbEvent, Run, RunProduct

__all__ = [
    "AffectedProduct",
    "AttributeChange",
    "ProductChange",
    "RerunPlan",
    "RerunReport",
    "find_affected",
    "learning_active_since",
    "rerun_affected",
    "rerun_paths",
]

_CONTENT = ("text", "example", "attributes", "node")
"""Fields of a learning snapshot whose change changes what a prompt says."""


class AffectedProduct(BaseModel):
    """A product of the past run and the new learnings that make it worth re-running."""

    seq: int
    """Its position in the past run's input (and output)."""
    product_id: str
    category: str
    learnings: list[str]
    """The new learnings (ids), most specific first, as retrieval ranks them."""


class RerunPlan(BaseModel):
    """What a rerun processes; saved as ``<out>.plan.json`` so a resumed rerun keeps it."""

    past_run_id: str
    run_id: str
    products: list[AffectedProduct] = Field(default_factory=list)
    """In the past run's input order; the rerun's record ``i`` is ``products[i]``."""


class AttributeChange(BaseModel):
    """One attribute whose value or status differs between the past run and the rerun."""

    attribute: str
    old_value: str | None
    old_status: str | None
    """``None`` when the past output had no such attribute."""
    new_value: str | None
    new_status: str | None


class ProductChange(BaseModel):
    """One re-run product: the learnings that triggered it and what changed."""

    product_id: str
    category: str
    past_seq: int
    seq: int
    """Its position in the rerun's input and output."""
    learnings: list[str]
    changes: list[AttributeChange] = Field(default_factory=list)
    error: str | None = None
    """The rerun's error for this record, if it failed."""


class RerunReport(BaseModel):
    """The outcome of ``--rerun affected``: which products ran again and what changed."""

    past_run_id: str
    run_id: str | None
    """The rerun's id; ``None`` when no product was affected (no run was started)."""
    input_path: str | None = None
    output_path: str | None = None
    products: list[ProductChange] = Field(default_factory=list)
    summary: RunSummary | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def changed_products(self) -> int:
        """Re-run products with at least one changed attribute (or a new error)."""
        return sum(1 for p in self.products if p.changes or p.error)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def changed_attributes(self) -> int:
        """Attributes whose value or status changed, over all re-run products."""
        return sum(len(p.changes) for p in self.products)


@dataclass(frozen=True, slots=True)
class RerunPaths:
    """The files of one rerun, all next to its output."""

    output: Path
    input: Path
    plan: Path
    changes: Path


def rerun_paths(out_path: Path) -> RerunPaths:
    """``out.jsonl`` → ``out.input.jsonl``, ``out.plan.json``, ``out.changes.json``."""
    stem = out_path.name.removesuffix(out_path.suffix) if out_path.suffix else out_path.name
    return RerunPaths(
        output=out_path,
        input=out_path.with_name(f"{stem}.input.jsonl"),
        plan=out_path.with_name(f"{stem}.plan.json"),
        changes=out_path.with_name(f"{stem}.changes.json"),
    )


def learning_active_since(db: Database, ids: list[str]) -> dict[str, datetime]:
    """When each learning's current active version began, from the history.

    That is the last event that left it active while it was not active before, or active with
    another text, example, scope or node (an edit, a merge, a replace, an import). Learnings
    without such an event are left out.
    """
    if not ids:
        return {}
    since: dict[str, datetime] = {}
    with db.read() as session:
        rows = session.execute(
            select(KbEvent.learning_id, KbEvent.at, KbEvent.before, KbEvent.after)
            .where(KbEvent.learning_id.in_(sorted(set(ids))))
            .order_by(KbEvent.seq)
        )
        for learning_id, at, before, after in rows:
            if learning_id is None or not after or after.get("status") != "active":
                continue
            was_active = bool(before) and before.get("status") == "active"
            same = was_active and all(before.get(k) == after.get(k) for k in _CONTENT)
            if not same:
                since[learning_id] = at
    return since


def _used(output: dict[str, Any]) -> set[str]:
    attributes = output.get("attributes") or {}
    return {i for a in attributes.values() if isinstance(a, dict) for i in a.get("learnings", [])}


def _past_run(db: Database, run_id: str) -> Run:
    with db.read() as session:
        run = run_row(session, run_id)
        session.expunge(run)
        return run


def find_affected(db: Database, past_run_id: str, *, budget_tokens: int) -> list[AffectedProduct]:
    """The products of ``past_run_id`` that a new learning would change (see the module doc).

    Args:
        db: The database holding the run and the knowledge base.
        past_run_id: The run to look at.
        budget_tokens: The prompt budget retrieval cuts to (``learning_budget_tokens``).
    """
    run = _past_run(db, past_run_id)
    schema = CatalogSchema.load(Path(run.schema_path))
    kb = KnowledgeBase(db)
    with db.read() as session:
        rows = list(
            session.execute(
                select(RunProduct.seq, RunProduct.product_id, RunProduct.category,
                       RunProduct.output, RunProduct.finished_at)
                .where(RunProduct.run_id == past_run_id)
                .order_by(RunProduct.seq)
            )
        )  # fmt: skip
    retrieved: dict[str, list[Learning]] = {}
    for _, _, category, output, _ in rows:
        if category is None or output.get("error") or category in retrieved:
            continue
        path = CategoryPath.parse(category)
        try:
            names = [a.name for a in schema.attributes_for(path)]
        except SchemaError:
            retrieved[category] = []
            continue
        retrieved[category] = kb.retrieve(path, names, budget_tokens=budget_tokens)
    since = learning_active_since(db, [lr.id for lrs in retrieved.values() for lr in lrs])
    affected: list[AffectedProduct] = []
    for seq, product_id, category, output, finished_at in rows:
        if category is None or output.get("error"):
            continue
        used = _used(output)
        new = [
            lr.id
            for lr in retrieved.get(category, [])
            if (at := since.get(lr.id)) is not None
            and (at > finished_at or (lr.id not in used and at > run.created_at))
        ]
        if new:
            affected.append(
                AffectedProduct(seq=seq, product_id=product_id, category=category, learnings=new)
            )
    return affected


def _write_input(run: Run, affected: list[AffectedProduct], path: Path) -> None:
    source = Path(run.input_path)
    if not source.exists():
        raise RunError(
            f"run {run.id!r} read {str(source)!r}, which no longer exists; restore it to rerun"
        )
    if file_sha256(source) != run.input_sha256:
        raise RunError(
            f"{str(source)!r} changed since run {run.id!r} read it; restore that version to rerun"
        )
    wanted = {p.seq: p for p in affected}
    lines: list[str] = []
    for record in read_records(source):
        item = wanted.get(record.seq)
        if item is None:
            continue
        product = record.product
        if product is None or product.id != item.product_id:
            raise RunError(f"record {record.seq} of {str(source)!r} is not {item.product_id!r}")
        raw: dict[str, Any] = {"id": product.id, "title": product.title}
        if product.description is not None:
            raw["description"] = product.description
        raw["category"] = product.category
        raw.update(product.extra)
        lines.append(json.dumps(raw, ensure_ascii=False))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _diff(old: dict[str, Any], new: dict[str, Any]) -> list[AttributeChange]:
    before = old.get("attributes") or {}
    after = new.get("attributes") or {}
    changes: list[AttributeChange] = []
    for name in [*before, *(n for n in after if n not in before)]:
        a, b = before.get(name) or {}, after.get(name) or {}
        if (a.get("value"), a.get("status")) != (b.get("value"), b.get("status")):
            changes.append(
                AttributeChange(
                    attribute=name,
                    old_value=a.get("value"),
                    old_status=a.get("status"),
                    new_value=b.get("value"),
                    new_status=b.get("status"),
                )
            )
    return changes


def _load_plan(paths: RerunPaths, past_run_id: str, run_id: str) -> RerunPlan | None:
    if not paths.plan.exists():
        return None
    plan = RerunPlan.model_validate_json(paths.plan.read_text(encoding="utf-8"))
    if (plan.past_run_id, plan.run_id) != (past_run_id, run_id):
        raise RunError(
            f"{str(paths.plan)!r} belongs to the rerun {plan.run_id!r} of {plan.past_run_id!r}; "
            "choose another --out"
        )
    return plan


async def rerun_affected(
    runner: Runner,
    past_run_id: str,
    *,
    run_id: str,
    out_path: Path,
    verified_path: Path | None = None,
) -> RerunReport:
    """Re-run the products of ``past_run_id`` affected by new learnings, as run ``run_id``.

    Writes the rerun's output to ``out_path`` and its input, plan and changes next to it (see
    :func:`rerun_paths`). With no affected product, starts no run and writes only the changes.
    """
    db = runner.db
    past = _past_run(db, past_run_id)
    paths = rerun_paths(out_path)
    with db.read() as session:
        exists = session.get(Run, run_id) is not None
    plan = _load_plan(paths, past_run_id, run_id) if exists else None
    if exists and plan is None:
        raise RunError(
            f"run {run_id!r} exists but {str(paths.plan)!r} does not; a rerun resumes only "
            "with the --out it started with"
        )
    if plan is None:
        affected = find_affected(
            db, past_run_id, budget_tokens=runner.settings.learning_budget_tokens
        )
        plan = RerunPlan(past_run_id=past_run_id, run_id=run_id, products=affected)
    report = RerunReport(past_run_id=past_run_id, run_id=None)
    if plan.products:
        if not exists:
            _write_input(past, plan.products, paths.input)
            paths.plan.write_text(plan.model_dump_json(indent=2) + "\n", encoding="utf-8")
        summary = await runner.run(
            RunRequest(
                input_path=paths.input,
                schema_path=Path(past.schema_path),
                out_path=out_path,
                run_id=run_id,
                verified_path=verified_path,
            )
        )
        old = dict(RunStore(db, past_run_id).outputs())
        new = dict(RunStore(db, run_id).outputs())
        report = RerunReport(
            past_run_id=past_run_id,
            run_id=run_id,
            input_path=str(paths.input),
            output_path=str(out_path),
            summary=summary,
        )
        for seq, item in enumerate(plan.products):
            line = new.get(seq, {})
            report.products.append(
                ProductChange(
                    product_id=item.product_id,
                    category=item.category,
                    past_seq=item.seq,
                    seq=seq,
                    learnings=item.learnings,
                    changes=_diff(old.get(item.seq, {}), line),
                    error=line.get("error"),
                )
            )
    paths.changes.parent.mkdir(parents=True, exist_ok=True)
    paths.changes.write_text(
        report.model_dump_json(indent=2, exclude={"summary"}) + "\n", encoding="utf-8"
    )
    return report
