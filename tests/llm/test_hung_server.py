"""A hosted-model request against a server that accepts and never answers: bounded, then abstain."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from dissensus.llm import open_model

from .conftest import SYSTEM, TITLE, Shoe

pytestmark = pytest.mark.anyio


@pytest.fixture
def silent_server() -> Iterator[tuple[str, list[int]]]:
    """A loopback TCP server that accepts connections and never replies; counts them."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    accepted: list[int] = []
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)
            accepted.append(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1", accepted
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


async def test_a_hung_server_costs_at_most_timeout_times_attempts(
    silent_server: tuple[str, list[int]],
) -> None:
    url, accepted = silent_server
    llm = open_model("openai:any", base_url=url, timeout=0.5, retries=1)
    started = time.perf_counter()
    try:
        answer = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE, max_tokens=20)
    finally:
        await llm.aclose()
    elapsed = time.perf_counter() - started
    assert answer.abstained and answer.error is not None
    assert "timed out" in answer.error.lower() or "timeout" in answer.error.lower()
    # Two attempts of 0.5 s and the SDK's short backoff between them, not 3 x 600 s.
    assert 1.0 <= elapsed < 5.0
    assert len(accepted) == 2
