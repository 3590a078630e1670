"""A stored record's page: its values with status and provenance, and every model call behind it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import select
from starlette.responses import Response

from dissensus.domain import EnrichedRecord
from dissensus.observability import CallLog
from dissensus.storage.tables import RunProduct
from dissensus.web._auth import require
from dissensus.web._deps import WebDeps, deps, render
from dissensus.web.users import User

__all__ = ["router"]

router = APIRouter()

Reader = Annotated[User, Depends(require("read"))]
App = Annotated[WebDeps, Depends(deps)]


@router.get("/runs/{run_id}/records/{seq}")
def record_page(request: Request, run_id: str, seq: int, user: Reader, app: App) -> Response:
    """What the run stored for one input line, and the prompts and answers that produced it."""
    with app.db.read() as session:
        row = session.scalars(
            select(RunProduct).where(RunProduct.run_id == run_id, RunProduct.seq == seq)
        ).first()
        if row is None:
            raise HTTPException(404, f"run {run_id!r} has no record {seq}")
        record = EnrichedRecord.model_validate(row.output)
    calls = CallLog(app.db).calls(limit=None, run_id=run_id, seq=seq)
    return render(request, "record.html", run_id=run_id, seq=seq, record=record, calls=calls)
