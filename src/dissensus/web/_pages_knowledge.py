"""Knowledge pages: the tree, a learning with its provenance and versions, history, diff, and
the governance actions (approve, reject, edit, add, deprecate, reactivate, promote, rollback,
import), each a plain form posting to :class:`~dissensus.knowledge.Governance`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from dissensus.domain import Learning, LearningStatus
from dissensus.errors import DissensusError, KnowledgeError
from dissensus.review.provenance import cases_of, outputs_using
from dissensus.web._auth import flash, require
from dissensus.web._deps import WebDeps, deps, render
from dissensus.web.users import User

__all__ = ["router"]

router = APIRouter(prefix="/kb")

App = Annotated[WebDeps, Depends(deps)]
Reason = Annotated[str, Form()]


def _back(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


def _attempt(request: Request, fallback: str, work: Callable[[], str]) -> Response:
    """Run one library call; say what it did, or why it refused, on the next page."""
    try:
        flash(request, work())
    except DissensusError as exc:
        flash(request, str(exc), "error")
    return _back(fallback)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# --- pages ----------------------------------------------------------------------------------


@router.get("")
def tree(
    request: Request,
    user: Annotated[User, Depends(require("read"))],
    app: App,
    status: Annotated[LearningStatus | None, Query()] = None,
) -> Response:
    """The knowledge tree with the learnings on each node."""
    nodes = app.kb.tree()
    by_node: dict[str, list[Learning]] = {}
    for learning in app.kb.list(status=status):
        by_node.setdefault(learning.node, []).append(learning)
    return render(
        request,
        "kb_tree.html",
        nodes=nodes,
        by_node=by_node,
        status=status,
        version=app.governance.version(),
        pending=app.governance.pending(),
        staged=app.governance.staged(),
    )


@router.get("/learnings/{learning_id}")
def learning_page(
    request: Request,
    learning_id: str,
    user: Annotated[User, Depends(require("read"))],
    app: App,
) -> Response:
    """One learning: text, state, provenance (cases, outputs that used it), versions."""
    try:
        learning = app.kb.get(learning_id)
    except KnowledgeError as exc:
        return render(request, "error.html", status_code=404, message=str(exc))
    return render(
        request,
        "learning.html",
        learning=learning,
        cases=cases_of(app.db, learning),
        uses=outputs_using(app.db, learning_id),
        versions=app.governance.versions(learning_id),
        events=app.kb.history(learning_id=learning_id),
    )


@router.get("/history")
def history(
    request: Request,
    user: Annotated[User, Depends(require("read"))],
    app: App,
    learning: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """Recorded changes, newest first."""
    events = app.kb.history(limit=limit, learning_id=learning or None)[::-1]
    return render(
        request,
        "kb_history.html",
        events=events,
        learning=learning,
        limit=limit,
        version=app.governance.version(),
    )


@router.get("/diff")
def diff(
    request: Request,
    user: Annotated[User, Depends(require("read"))],
    app: App,
    from_version: Annotated[int | None, Query(alias="from", ge=0)] = None,
    to_version: Annotated[int | None, Query(alias="to", ge=0)] = None,
) -> Response:
    """What changed between two KB versions (default: the last change)."""
    head = app.governance.version()
    low = max(0, head - 1) if from_version is None else from_version
    try:
        changes = app.governance.diff(low, to_version)
    except KnowledgeError as exc:
        return render(request, "error.html", status_code=404, message=str(exc))
    return render(request, "kb_diff.html", diff=changes, head=head)


@router.get("/export.yaml")
def export(user: Annotated[User, Depends(require("read"))], app: App) -> Response:
    """The whole knowledge base as the YAML ``dissensus kb import`` reads."""
    return Response(
        app.governance.export_yaml(),
        media_type="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="knowledge.yaml"'},
    )


# --- changes --------------------------------------------------------------------------------


def _learning_url(learning_id: str) -> str:
    return f"/kb/learnings/{learning_id}"


@router.post("/learnings/{learning_id}/approve")
def approve(
    request: Request,
    learning_id: str,
    user: Annotated[User, Depends(require("approve"))],
    app: App,
    reason: Reason = "",
) -> Response:
    """Approve a proposed learning (staged or active, as the deployment mode says)."""

    def work() -> str:
        done = app.governance.approve(learning_id, actor=user.name, reason=reason)
        staged = " (staged: an admin promotes it)" if done.status == "proposed" else ""
        return f"Approved {done.id}; it is {done.status}{staged}."

    return _attempt(request, _learning_url(learning_id), work)


@router.post("/learnings/{learning_id}/reject")
def reject(
    request: Request,
    learning_id: str,
    user: Annotated[User, Depends(require("reject"))],
    app: App,
    reason: Reason = "",
) -> Response:
    """Turn down a proposed learning."""

    def work() -> str:
        done = app.governance.reject(learning_id, actor=user.name, reason=reason)
        return f"Rejected {done.id}."

    return _attempt(request, _learning_url(learning_id), work)


@router.post("/learnings/{learning_id}/deprecate")
def deprecate(
    request: Request,
    learning_id: str,
    user: Annotated[User, Depends(require("deprecate"))],
    app: App,
    reason: Reason = "",
) -> Response:
    """Retire an active learning."""

    def work() -> str:
        done = app.governance.deprecate(learning_id, actor=user.name, reason=reason)
        return f"Deprecated {done.id}; runs no longer use it."

    return _attempt(request, _learning_url(learning_id), work)


@router.post("/learnings/{learning_id}/reactivate")
def reactivate(
    request: Request,
    learning_id: str,
    user: Annotated[User, Depends(require("reactivate"))],
    app: App,
    reason: Reason = "",
) -> Response:
    """Undo a retirement or a rejection."""

    def work() -> str:
        done = app.governance.reactivate(learning_id, actor=user.name, reason=reason)
        return f"Reactivated {done.id}; it is {done.status}."

    return _attempt(request, _learning_url(learning_id), work)


@router.post("/learnings/{learning_id}/edit")
def edit(
    request: Request,
    learning_id: str,
    user: Annotated[User, Depends(require("edit"))],
    app: App,
    text: Annotated[str, Form()],
    example: Annotated[str, Form()] = "",
    attributes: Annotated[str, Form()] = "",
    reason: Reason = "",
) -> Response:
    """Correct a learning: a new version; the old one stays in the history."""

    def work() -> str:
        done = app.governance.edit(
            learning_id,
            text=text,
            example=example,
            attributes=_split(attributes),
            actor=user.name,
            reason=reason,
        )
        return f"Saved {done.id} as version {done.version}."

    return _attempt(request, _learning_url(learning_id), work)


@router.post("/learnings")
def add(
    request: Request,
    user: Annotated[User, Depends(require("add"))],
    app: App,
    node: Annotated[str, Form()],
    text: Annotated[str, Form()],
    example: Annotated[str, Form()] = "",
    attributes: Annotated[str, Form()] = "",
    reason: Reason = "",
) -> Response:
    """Add a learning written by hand to a node."""
    try:
        done = app.governance.add(
            node_key=node,
            text=text,
            example=example,
            attributes=_split(attributes),
            actor=user.name,
            reason=reason,
        )
    except DissensusError as exc:
        flash(request, str(exc), "error")
        return _back("/kb")
    flash(request, f"Added {done.id} to {done.node}; it is {done.status}.")
    return _back(_learning_url(done.id))


@router.post("/promote")
def promote(
    request: Request,
    user: Annotated[User, Depends(require("promote"))],
    app: App,
    reason: Reason = "",
) -> Response:
    """Publish every approved proposed learning."""

    def work() -> str:
        done = app.governance.promote(actor=user.name, reason=reason)
        if not done:
            return "Nothing was staged: approve proposed learnings first."
        return f"Promoted {len(done)} learning(s): {', '.join(lr.id for lr in done)}."

    return _attempt(request, "/kb", work)


@router.post("/rollback")
def rollback(
    request: Request,
    user: Annotated[User, Depends(require("rollback"))],
    app: App,
    version: Annotated[int, Form(ge=0)],
    reason: Reason = "",
) -> Response:
    """Restore the knowledge base as it was at ``version`` (as new history events)."""

    def work() -> str:
        done = app.governance.rollback(version, actor=user.name, reason=reason)
        if done.empty:
            return f"The knowledge base already holds version {version}'s content."
        return (
            f"Rolled back to version {version}: {len(done.learnings)} learning(s) restored; "
            f"now at version {done.to_version}."
        )

    return _attempt(request, "/kb/history", work)


@router.post("/import")
async def import_yaml(
    request: Request,
    user: Annotated[User, Depends(require("import"))],
    app: App,
    file: UploadFile,
) -> Response:
    """Validate and apply an edited export."""
    text = (await file.read()).decode("utf-8", errors="replace")
    try:
        report = app.governance.import_yaml(
            text, actor=user.name, origin=f"web upload {file.filename or ''}".strip()
        )
    except DissensusError as exc:
        flash(request, str(exc), "error")
    else:
        flash(
            request,
            f"Imported {file.filename}: {len(report.added)} added, {len(report.updated)} "
            f"updated, {report.unchanged} unchanged; now at version {report.version}.",
        )
    return _back("/kb")
