"""A stored record's page: values with status and provenance, their history with restore, the
same product in other runs, and every model call behind the values."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from dissensus.domain import EnrichedRecord
from dissensus.errors import DissensusError
from dissensus.observability import CallLog
from dissensus.pipeline.store import RunStore
from dissensus.review import restore, value_history
from dissensus.web._auth import flash, require
from dissensus.web._deps import WebDeps, deps, output_refresh_message, render
from dissensus.web.users import User

__all__ = ["router"]

router = APIRouter()

Reader = Annotated[User, Depends(require("read"))]
Reviewer = Annotated[User, Depends(require("review"))]
App = Annotated[WebDeps, Depends(deps)]


@router.get("/runs/{run_id}/records/{seq}")
def record_page(request: Request, run_id: str, seq: int, user: Reader, app: App) -> Response:
    """What the run stored for one input line, and the prompts and answers that produced it."""
    store = RunStore(app.db, run_id)
    stored = store.record(seq)
    if stored is None:
        raise HTTPException(404, f"run {run_id!r} has no record {seq}")
    record = EnrichedRecord.model_validate(stored[0])
    others = store.elsewhere(record.id)
    calls = CallLog(app.db).calls(limit=None, run_id=run_id, seq=seq)
    return render(
        request,
        "record.html",
        run_id=run_id,
        seq=seq,
        record=record,
        calls=calls,
        history=value_history(app.db, run_id, seq),
        others=others,
    )


@router.post("/runs/{run_id}/records/{seq}/restore")
def restore_value(
    request: Request,
    run_id: str,
    seq: int,
    user: Reviewer,
    app: App,
    attribute: Annotated[str, Form()],
    value: Annotated[str, Form()] = "",
    absent: Annotated[str, Form()] = "",
) -> Response:
    """Put an earlier value back (a person's value from now on), and bring the file up to date."""
    chosen = None if absent == "yes" else value
    try:
        restore(app.db, run_id, seq, attribute, chosen, actor=user.name)
        shown = "(absent)" if chosen is None else chosen
        flash(request, f"Restored {attribute} = {shown}. " + output_refresh_message(app, run_id))
    except DissensusError as exc:
        flash(request, str(exc), "error")
    return RedirectResponse(f"/runs/{run_id}/records/{seq}", status_code=303)
