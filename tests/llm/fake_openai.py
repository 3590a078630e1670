"""A fault-injecting OpenAI-compatible server on loopback, for reliability tests and benchmarks.

It answers ``POST /v1/chat/completions`` with a valid chat completion whose content is a JSON
value built from the request's ``response_format`` schema (every required field, the first
enum option, numbers at their upper bound below 1 so confidences pass), and counts every
request it receives. A fault plan maps request numbers to faults, so tests are deterministic:

- ``500``: an internal server error;
- ``429``: rate limited, with ``Retry-After: 1``;
- ``hang``: the request is held for ``hang_seconds`` and then dropped;
- ``reset``: the connection is closed without an answer;
- ``malformed``: status 200 with a body that is not JSON;
- ``offschema``: a valid completion whose content is ``{"unexpected": true}``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Fault = str
FaultPlan = Callable[[int], Fault | None]


def every(period: int, faults: list[Fault]) -> FaultPlan:
    """Faults spread evenly: request ``n`` gets ``faults[k]`` when ``n % period`` is the k-th
    of ``len(faults)`` evenly spaced slots (so ``len(faults) / period`` of requests fail)."""
    step = period // max(1, len(faults))

    def plan(n: int) -> Fault | None:
        slot, rest = divmod(n % period, step)
        return faults[slot] if rest == step - 1 and slot < len(faults) else None

    return plan


def value_for(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A JSON value that satisfies ``schema`` (the shapes pydantic emits)."""
    if "$ref" in schema:
        return value_for(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return value_for(options[0], defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = schema.get("required", list(props))
        return {k: value_for(props[k], defs) for k in required if k in props}
    if kind == "array":
        return [value_for(schema.get("items", {}), defs) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        return "x" * max(1, int(schema.get("minLength", 1)))
    if kind in ("number", "integer"):
        high = schema.get("maximum", 1)
        low = schema.get("minimum", 0)
        value = min(high, max(low, 0.9 if high <= 1 else low))
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return False
    return None


class FakeOpenAI:
    """The server's state: requests received (numbered from 0) and faults served, by kind."""

    def __init__(
        self, plan: FaultPlan | None = None, *, hang_seconds: float = 3.0, keep_alive: bool = True
    ) -> None:
        self.plan = plan or (lambda n: None)
        self.hang_seconds = hang_seconds
        self.keep_alive = keep_alive
        self.requests = 0
        self.faults: Counter[str] = Counter()
        self.by_model: Counter[str] = Counter()
        """Requests whose body could be read, by the model they named."""
        self._lock = threading.Lock()
        self.url = ""

    def next(self) -> tuple[int, Fault | None]:
        with self._lock:
            n = self.requests
            self.requests += 1
        fault = self.plan(n)
        if fault is not None:
            with self._lock:
                self.faults[fault] += 1
        return n, fault


def _handler(state: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if not state.keep_alive:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            n, fault = state.next()  # counted on arrival, before anything can fail
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            state.by_model[str(request.get("model"))] += 1
            if fault == "hang":
                time.sleep(state.hang_seconds)
                self.close_connection = True
                return
            if fault == "reset":
                self.close_connection = True
                self.connection.close()
                return
            if fault == "500":
                self._send(500, b'{"error": {"message": "injected failure"}}')
                return
            if fault == "429":
                self._send(429, b'{"error": {"message": "slow down"}}', {"Retry-After": "1"})
                return
            if fault == "malformed":
                self._send(200, b"this is { not json")
                return
            if fault == "offschema":
                content = json.dumps({"unexpected": True})
            else:
                fmt = request.get("response_format") or {}
                schema = (fmt.get("json_schema") or {}).get("schema") or {"type": "object"}
                content = json.dumps(value_for(schema, schema.get("$defs", {})))
            body = {
                "id": f"fake-{n}",
                "object": "chat.completion",
                "created": 0,
                "model": request.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
            }
            self._send(200, json.dumps(body).encode())

    return Handler


class _Server(ThreadingHTTPServer):
    # A deep accept backlog: connections refused by a full queue (the default holds 5) would be
    # attempts the client counts and the server never sees.
    request_queue_size = 256
    daemon_threads = True


@contextmanager
def serving(state: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """Serve ``state`` on a free loopback port; ``state.url`` is the ``/v1`` base URL."""
    server = _Server(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
