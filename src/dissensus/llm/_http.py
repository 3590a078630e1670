"""Counting HTTP attempts: every request a hosted model's SDK sends, its own retries included.

The SDKs retry failed requests themselves (timeouts, resets, 5xx, 429 after ``Retry-After``),
and pydantic-ai's usage counts one request per answer it got: a run once reported 149 model
requests where the server saw 160. The HTTP clients we hand the SDKs carry a request hook that
counts into the current call's counter (a context variable, so concurrent calls each count their
own), and a call's ``Usage.requests`` is what was sent, not what came back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpx2

__all__ = ["counted_attempts", "counting_client"]

_ATTEMPTS: ContextVar[list[int] | None] = ContextVar("dissensus_http_attempts", default=None)


async def _on_request(request: httpx2.Request) -> None:
    box = _ATTEMPTS.get()
    if box is not None:
        box[0] += 1


def counting_client(timeout: float | None = None, **options: Any) -> httpx2.AsyncClient:
    """An async HTTP client whose requests count toward the current call's attempts."""
    return httpx2.AsyncClient(
        event_hooks={"request": [_on_request]},
        timeout=httpx2.Timeout(timeout if timeout is not None else 600.0, connect=10.0),
        follow_redirects=True,
        **options,
    )


@contextmanager
def counted_attempts() -> Iterator[list[int]]:
    """Count the HTTP requests sent inside the block (``box[0]``); 0 when none went by HTTP."""
    box = [0]
    token = _ATTEMPTS.set(box)
    try:
        yield box
    finally:
        _ATTEMPTS.reset(token)
