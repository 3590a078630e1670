"""Review pages: the queue, one item with everything the reviewer needs, and its answer form.

Claims, submissions and the learning a reviewer adds all go through
:class:`~dissensus.review.ReviewQueue`, attributed to the logged-in user.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from dissensus.errors import DissensusError, ReviewError
from dissensus.review import (
    QueueFilters,
    ReviewDetail,
    ReviewReason,
    describe_taught,
)
from dissensus.web._auth import flash, require
from dissensus.web._deps import WebDeps, deps, output_refresh_message, render
from dissensus.web.users import User

__all__ = ["VALUE_PREFIX", "router"]

router = APIRouter(prefix="/review")

App = Annotated[WebDeps, Depends(deps)]
Reviewer = Annotated[User, Depends(require("review"))]
StateChoice = Literal["open", "claimed", "done", "all"]

VALUE_PREFIX = "value:"
"""Form fields ``value:NAME`` carry the final value of attribute ``NAME`` (empty: absent)."""


def _back(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


PAGE_SIZE = 50


@router.get("")
def queue_page(
    request: Request,
    user: Annotated[User, Depends(require("read"))],
    app: App,
    state: Annotated[StateChoice, Query()] = "open",
    run: Annotated[str | None, Query(max_length=64)] = None,
    reason: Annotated[ReviewReason | None, Query()] = None,
    category: Annotated[str | None, Query(max_length=300)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """The queue in claim order: filtered by state, run, reason, category and text, paged."""
    filters: QueueFilters = {
        "state": None if state == "all" else state,
        "run_id": run or None,
        "reason": reason,
        "category": category or None,
        "query": q or None,
    }
    total = app.queue.count(**filters)
    items = app.queue.list(**filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    args = {"state": state, "run": run, "reason": reason, "category": category, "q": q}

    def link(**changes: object) -> str:
        merged = {k: v for k, v in {**args, **changes}.items() if v not in (None, "")}
        return "/review?" + urlencode(merged)

    return render(
        request,
        "review_queue.html",
        items=items,
        stats=app.queue.stats(),
        state=state,
        filters=args,
        total=total,
        page=page,
        first=(page - 1) * PAGE_SIZE + 1 if items else 0,
        last=(page - 1) * PAGE_SIZE + len(items),
        next_page=link(page=page + 1) if page * PAGE_SIZE < total else None,
        prev_page=link(page=page - 1) if page > 1 else None,
        link=link,
    )


@router.post("/confirm")
async def confirm_selected(request: Request, user: Reviewer, app: App) -> Response:
    """Confirm the selected items' stored values as correct, each claimed and submitted as is."""
    form = await request.form()
    ids = [int(v) for v in form.getlist("item") if isinstance(v, str) and v.isdigit()]
    done, refused = [], []
    for item_id in ids:
        try:
            detail = app.queue.get(item_id)
            if detail.state != "claimed" or detail.claimed_by != user.name:
                app.queue.claim(item_id, reviewer=user.name)
            result = await app.queue.submit(item_id, reviewer=user.name, values={})
            done.append(item_id)
            output_refresh_message(app, result.item.run_id)
        except DissensusError as exc:
            refused.append(f"#{item_id}: {exc}")
    if done:
        flash(request, f"Confirmed {len(done)} item(s): " + ", ".join(f"#{i}" for i in done) + ".")
    for text in refused:
        flash(request, f"Not confirmed {text}", "error")
    if not ids:
        flash(request, "Select the items to confirm first.", "error")
    back = form.get("back")
    return _back(back if isinstance(back, str) and back.startswith("/review") else "/review")


@router.post("/next")
def claim_next(request: Request, user: Reviewer, app: App) -> Response:
    """Claim the next item in the queue and open it."""
    try:
        detail = app.queue.claim_next(reviewer=user.name)
    except DissensusError as exc:
        flash(request, str(exc), "error")
        return _back("/review")
    if detail is None:
        flash(request, "The review queue is empty.")
        return _back("/review")
    return _back(f"/review/{detail.id}")


@router.get("/{item_id}")
def item_page(
    request: Request,
    item_id: int,
    user: Annotated[User, Depends(require("read"))],
    app: App,
) -> Response:
    """One item: product, workers' answers, verdicts, supervisor, learnings, and the form."""
    try:
        detail = app.queue.get(item_id)
    except ReviewError as exc:
        return render(request, "error.html", status_code=404, message=str(exc))
    return render(request, "review_item.html", item=detail, rows=_rows(detail))


@router.post("/{item_id}/claim")
def claim(request: Request, item_id: int, user: Reviewer, app: App) -> Response:
    """Hold the item so no other reviewer is handed it until the claim times out."""
    try:
        detail = app.queue.claim(item_id, reviewer=user.name)
        flash(request, f"Item {item_id} is yours until {detail.claim_expires_at:%H:%M} UTC.")
    except DissensusError as exc:
        flash(request, str(exc), "error")
    return _back(f"/review/{item_id}")


@router.post("/{item_id}/release")
def release(request: Request, item_id: int, user: Reviewer, app: App) -> Response:
    """Give the item back to the queue."""
    try:
        app.queue.release(item_id, reviewer=user.name)
        flash(request, f"Item {item_id} is back in the queue.")
    except DissensusError as exc:
        flash(request, str(exc), "error")
    return _back(f"/review/{item_id}")


@router.post("/{item_id}/submit")
async def submit(request: Request, item_id: int, user: Reviewer, app: App) -> Response:
    """Record the final values (status ``human``) and an optional learning (``proposed``)."""
    form = await request.form()
    values: dict[str, str | None] = {}
    for key, raw in form.multi_items():
        if key.startswith(VALUE_PREFIX) and isinstance(raw, str):
            values[key.removeprefix(VALUE_PREFIX)] = raw.strip() or None
    all_absent = form.get("all_absent") == "yes"
    learning_field = form.get("learning")
    learning = learning_field.strip() if isinstance(learning_field, str) else ""
    try:
        detail = app.queue.get(item_id)
        # Send what the reviewer decided: every reviewed attribute, and any other they changed.
        decided = {
            name: value
            for name, value in values.items()
            if name in detail.attributes or _current(detail, name) != value
        }
        if learning:
            result = await app.queue.submit(
                item_id,
                reviewer=user.name,
                values=decided,
                learning=learning,
                llm=app.memory_manager(),
                all_absent=all_absent,
            )
        else:
            result = await app.queue.submit(
                item_id, reviewer=user.name, values=decided, all_absent=all_absent
            )
    except DissensusError as exc:
        flash(request, str(exc), "error")
        return _back(f"/review/{item_id}")
    submission = result.item.submission
    changed = ", ".join(submission.changed) if submission and submission.changed else "none"
    flash(request, f"Item {item_id} submitted; changed: {changed}.")
    then_next = form.get("then") == "next"
    if result.placement is not None:
        where = result.placement.learning_id or result.placement.duplicate_of
        flash(request, f"Learning {result.placement.op} as {where} (proposed).")
    if result.taught:
        flash(request, f"Taught: {describe_taught(result.taught)}.")
    if result.retired:
        flash(request, f"Retired or flagged (corrected too often): {', '.join(result.retired)}.")
    flash(request, output_refresh_message(app, result.item.run_id))
    if then_next:
        try:
            following = app.queue.claim_next(reviewer=user.name)
        except DissensusError as exc:
            flash(request, str(exc), "error")
            following = None
        if following is None:
            flash(request, "The review queue is empty.")
            return _back("/review")
        return _back(f"/review/{following.id}")
    return _back(f"/review/{item_id}")


def _current(detail: ReviewDetail, name: str) -> str | None:
    found = detail.current.attributes.get(name)
    return found.value if found is not None else None


def _rows(detail: ReviewDetail) -> list[dict[str, object]]:
    """One row per schema attribute: every answer side by side, for the template."""
    ctx = detail.context
    verdicts = ctx.evaluation.verdicts if ctx.evaluation else {}
    resolution = ctx.supervisor.resolution if ctx.supervisor else None
    rows: list[dict[str, object]] = []
    for spec in ctx.attributes:
        current = detail.current.attributes.get(spec.name)
        rows.append(
            {
                "spec": spec,
                "reviewed": spec.name in detail.attributes,
                "answers": [
                    {
                        "abstained": e.abstained,
                        "given": spec.name in e.values,
                        "value": e.values.get(spec.name),
                    }
                    for e in ctx.extractions
                ],
                "verdict": verdicts.get(spec.name),
                "supervisor": (
                    resolution.values[spec.name]
                    if resolution and spec.name in resolution.values
                    else None
                ),
                "has_supervisor": bool(resolution and spec.name in resolution.values),
                "suggestions": _suggestions(detail, spec.name),
                "current": current,
                "field": VALUE_PREFIX + spec.name,
            }
        )
    return rows


def _suggestions(detail: ReviewDetail, name: str) -> list[dict[str, str]]:
    """The values the models proposed for ``name``, supervisor first, each once, with who said it
    and a score.

    A reviewer accepts one with a click or a key instead of retyping it. The score is what the
    system itself would trust the value with: the supervisor's confidence for its value, else the
    share of the workers (evaluator included when it suggested it) that proposed it — as in
    Argilla, a hint for the reviewer's eye, not a decision.
    """
    ctx = detail.context
    found: dict[str, list[str]] = {}
    scores: dict[str, float] = {}
    resolution = ctx.supervisor.resolution if ctx.supervisor else None
    if resolution is not None and resolution.values.get(name):
        value = str(resolution.values[name])
        found.setdefault(value, []).append("supervisor")
        scores[value] = resolution.confidence
    verdict = ctx.evaluation.verdicts.get(name) if ctx.evaluation else None
    voices = len(ctx.extractions) + (verdict is not None)
    if verdict is not None and verdict.suggestion:
        found.setdefault(verdict.suggestion, []).append("evaluator")
    for extraction in ctx.extractions:
        proposed = extraction.values.get(name)
        if proposed and not extraction.abstained:
            found.setdefault(proposed, []).append(extraction.role)
    for option, by in found.items():
        share = len([r for r in by if r != "supervisor"]) / voices if voices else 0.0
        scores[option] = max(scores.get(option, 0.0), share)
    ranked = sorted(found, key=lambda v: -scores[v])
    return [{"value": v, "by": ", ".join(found[v]), "score": f"{scores[v]:.2f}"} for v in ranked][
        :9
    ]
