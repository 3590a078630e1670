"""What one model call was: its prompt, answer, own latency, tokens and the learnings it saw.

Every :class:`~dissensus.llm.base.LLM` call (one ``structured`` or ``agent`` call, its repair
attempt included) makes one :class:`CallRecord`. The code that asks a model says *who* is asking
(:func:`calling_as`: the role and the learning ids in the prompt); the code that processes a
product collects what was asked (:func:`recording`). Both travel in context variables because the
calls happen deep inside workers, the supervisor, the memory manager and the gate, several at once
under ``asyncio.gather``: threading a log through every signature would tie each of them to
observability, and a shared list would mix products that run concurrently.

Latency is measured around the call itself, so two generators running side by side each get
their own time, not the wall time of the pair.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dissensus.domain.usage import Usage

__all__ = ["CallRecord", "calling_as", "current_role", "for_purpose", "record_call", "recording"]


@dataclass(slots=True)
class CallRecord:
    """One model call as the call log, the metrics and the cost accounting see it."""

    role: str
    """Who asked: ``generator-a``, ``evaluator``, ``supervisor``, ``memory-manager``, ``gate``..."""
    model: str
    """The model string (``local:gemma3-270m``)."""
    usage: Usage
    latency_s: float
    """Wall time of this call alone, repair attempt included."""
    ok: bool
    """False when the call ended in an abstention (no valid answer, or a failed request)."""
    system: str = ""
    prompt: str = ""
    response: str = ""
    """The model's last answer as it sent it (JSON text, or its tool call's arguments)."""
    error: str | None = None
    finish_reason: str | None = None
    cache_read_tokens: int = 0
    learnings: list[str] = field(default_factory=list)
    """Ids of the learnings that were in the prompt (what a stored value can be traced to)."""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class _Caller:
    role: str
    learnings: tuple[str, ...] = ()


_caller: ContextVar[_Caller | None] = ContextVar("dissensus_caller", default=None)
_sink: ContextVar[list[CallRecord] | None] = ContextVar("dissensus_calls", default=None)
_purpose: ContextVar[str | None] = ContextVar("dissensus_purpose", default=None)


@contextmanager
def for_purpose(purpose: str) -> Iterator[None]:
    """Calls made inside serve ``purpose``: their role reads ``gate:generator-a``.

    The gate replays a rule through the generator; those calls are the gate's cost, not the
    generator's work on the product, and the call log and metrics must tell them apart.
    """
    token = _purpose.set(purpose)
    try:
        yield
    finally:
        _purpose.reset(token)


@contextmanager
def calling_as(role: str, learnings: Sequence[str] = ()) -> Iterator[None]:
    """Calls made inside are ``role``'s, with ``learnings`` in their prompts."""
    token = _caller.set(_Caller(role, tuple(learnings)))
    try:
        yield
    finally:
        _caller.reset(token)


def current_role() -> tuple[str, list[str]]:
    """The role and learning ids of the code asking now (``"model"`` when nobody said)."""
    caller = _caller.get()
    role, learnings = ("model", []) if caller is None else (caller.role, list(caller.learnings))
    purpose = _purpose.get()
    return (f"{purpose}:{role}" if purpose else role), learnings


@contextmanager
def recording() -> Iterator[list[CallRecord]]:
    """Collect every call made inside (child tasks included) into the list it yields."""
    calls: list[CallRecord] = []
    token = _sink.set(calls)
    try:
        yield calls
    finally:
        _sink.reset(token)


def record_call(call: CallRecord) -> None:
    """Add ``call`` to the innermost :func:`recording`, if one is open (else it is dropped)."""
    sink = _sink.get()
    if sink is not None:
        sink.append(call)
