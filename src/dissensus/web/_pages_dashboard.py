"""The dashboard: runs, disagreement, supervisor calls, queue depth, KB size; charts as SVG."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from dissensus.review.provenance import queue_depth_series
from dissensus.web import _charts, _reports
from dissensus.web._auth import require
from dissensus.web._deps import WebDeps, deps, render
from dissensus.web.users import User

__all__ = ["router"]

router = APIRouter()

Reader = Annotated[User, Depends(require("read"))]
App = Annotated[WebDeps, Depends(deps)]
ChartName = Literal["disagreement", "supervisor", "cost", "queue", "kb"]


@router.get("/")
def dashboard(request: Request, user: Reader, app: App) -> Response:
    """Numbers at a glance and the five charts."""
    runs = _reports.run_series(app.db)
    stats = app.queue.stats()
    governance = app.governance
    return render(
        request,
        "dashboard.html",
        runs=runs[::-1][:10],
        run_count=len(runs),
        stats=stats,
        kb_version=governance.version(),
        learnings=app.kb.list(),
        pending=len(governance.pending()),
        staged=len(governance.staged()),
    )


@router.get("/charts/{name}.svg")
def chart(name: ChartName, user: Reader, app: App) -> Response:
    """One dashboard chart, drawn now from the database."""
    if name == "disagreement":
        band = app.settings.sweet_spot
        svg = _charts.disagreement_chart(_reports.run_series(app.db), (band.low, band.high))
    elif name == "supervisor":
        svg = _charts.supervisor_chart(_reports.run_series(app.db))
    elif name == "cost":
        svg = _charts.cost_chart(_reports.run_series(app.db))
    elif name == "queue":
        svg = _charts.queue_depth_chart(queue_depth_series(app.db))
    else:
        svg = _charts.kb_size_chart(app.governance.size_series(app.cache.setdefault("kb_size", {})))
    headers = {
        "Cache-Control": "no-store",
        # matplotlib writes its SVG styles inline; nothing else may load inside the image.
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    }
    return Response(svg, media_type="image/svg+xml", headers=headers)
