"""The call log: what each model call was asked and answered, kept with its run.

A stored value is explained by the exact prompt that produced it; ``dissensus logs``, the web
app's product page and the API read the same rows through :class:`CallLog`. Rows are written by
the run, in the same transaction as the record they worked on (:func:`stored_call` turns a
:class:`~dissensus.llm.CallRecord` into one), so a resumed run never logs a call twice or loses
one of a saved record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from dissensus.config import CallLogSettings
from dissensus.llm import CallRecord
from dissensus.observability.redaction import redact_text
from dissensus.storage import Database
from dissensus.storage.tables import ModelCall

__all__ = ["CallLog", "LoggedCall", "stored_call"]

_CUT = "\n[... cut at {n} characters]"


def _capped(text: str, limit: int) -> str:
    text = redact_text(text)
    if len(text) <= limit:
        return text
    return text[:limit] + _CUT.format(n=limit)


def stored_call(call: CallRecord, settings: CallLogSettings) -> dict[str, Any]:
    """The ``model_calls`` columns for ``call``: texts capped and redacted, or left out when off."""
    row: dict[str, Any] = {
        "stage": call.role[:32],
        "model": call.model,
        "requests": call.usage.requests,
        "input_tokens": call.usage.input_tokens,
        "output_tokens": call.usage.output_tokens,
        "cache_read_tokens": call.cache_read_tokens,
        "latency_ms": round(call.latency_s * 1000, 1),
        "ok": call.ok,
        "at": call.started_at,
        "finish_reason": (call.finish_reason or None) and call.finish_reason[:32],
        "learnings": list(call.learnings),
        "error": _capped(call.error, settings.max_chars) if call.error else None,
    }
    if settings.enabled:
        row["system"] = _capped(call.system, settings.max_chars)
        row["prompt"] = _capped(call.prompt, settings.max_chars)
        row["response"] = _capped(call.response, settings.max_chars)
    return row


class LoggedCall(BaseModel):
    """One stored model call, as ``dissensus logs --json`` prints it."""

    id: int
    run_id: str
    product_id: str
    seq: int | None
    role: str
    model: str
    at: datetime
    latency_s: float
    requests: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    ok: bool
    finish_reason: str | None = None
    error: str | None = None
    learnings: list[str] = Field(default_factory=list)
    system: str | None = None
    """``None`` when the call log was off for the run (``call_log.enabled: false``)."""
    prompt: str | None = None
    response: str | None = None


class CallLog:
    """Reads the stored model calls, newest last."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def calls(
        self,
        *,
        limit: int | None = 20,
        run_id: str | None = None,
        role: str | None = None,
        product_id: str | None = None,
        seq: int | None = None,
    ) -> list[LoggedCall]:
        """The last ``limit`` calls matching every filter given, oldest of them first.

        ``role`` matches a role exactly or as a prefix before ``-`` or ``:`` (``generator``
        matches ``generator-a`` and ``generator-b``; ``gate`` matches ``gate:generator-a``).
        """
        query = select(ModelCall)
        if run_id is not None:
            query = query.where(ModelCall.run_id == run_id)
        if product_id is not None:
            query = query.where(ModelCall.product_id == product_id)
        if seq is not None:
            query = query.where(ModelCall.seq == seq)
        if role is not None:
            query = query.where(
                (ModelCall.stage == role)
                | ModelCall.stage.startswith(f"{role}-", autoescape=True)
                | ModelCall.stage.startswith(f"{role}:", autoescape=True)
            )
        query = query.order_by(ModelCall.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.db.read() as session:
            return [_logged(row) for row in reversed(list(session.scalars(query)))]


def _logged(row: ModelCall) -> LoggedCall:
    return LoggedCall(
        id=row.id,
        run_id=row.run_id,
        product_id=row.product_id,
        seq=row.seq,
        role=row.stage,
        model=row.model,
        at=row.at,
        latency_s=round(row.latency_ms / 1000, 3),
        requests=row.requests,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cache_read_tokens=row.cache_read_tokens,
        ok=row.ok,
        finish_reason=row.finish_reason,
        error=row.error,
        learnings=list(row.learnings or []),
        system=row.system,
        prompt=row.prompt,
        response=row.response,
    )
