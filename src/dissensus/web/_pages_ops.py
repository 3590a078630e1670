"""Operations endpoints: ``/healthz`` for load balancers, ``/metrics`` for Prometheus."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse, Response

from dissensus.observability.metrics import StoreCollector, new_registry
from dissensus.web._deps import WebDeps, deps

__all__ = ["router"]

router = APIRouter()

App = Annotated[WebDeps, Depends(deps)]


@router.get("/healthz")
def healthz(app: App) -> Response:
    """200 while the database answers and its schema is current, else 503 saying which."""
    try:
        with app.db.read() as session:
            session.execute(text("SELECT 1"))
        current, head = app.db.current_revision(), app.db.head_revision()
    except SQLAlchemyError as exc:
        return JSONResponse(
            {"status": "unavailable", "database": type(exc).__name__}, status_code=503
        )
    if current != head:
        return JSONResponse(
            {"status": "unavailable", "schema": current, "expected": head}, status_code=503
        )
    return JSONResponse({"status": "ok", "schema": current})


@router.get("/metrics")
def metrics(app: App) -> Response:
    """The database's gauges (learnings, review queue, runs) in Prometheus' text format.

    Counts only, no product text: like ``/healthz`` it needs no login, so a scraper needs no
    account; put it behind the network's own access rules.
    """
    registry = app.cache.get("metrics_registry")
    if registry is None:
        registry = app.cache["metrics_registry"] = new_registry()
        registry.register(StoreCollector(app.db))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
