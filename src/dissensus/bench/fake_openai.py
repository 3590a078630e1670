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

For throughput it can also answer after ``latency_seconds`` (a hosted model's time to answer)
and hold the requests per second under ``rps_limit`` with 429s (a provider's rate limit), and it
runs as its own process (``python -m dissensus.bench.fake_openai --port 0``: it prints its base
URL), so its work is not counted as ours.
"""

from __future__ import annotations

import json
import os
import sys
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


def value_for(schema: dict[str, Any], defs: dict[str, Any], *, last: bool = False) -> Any:
    """A JSON value that satisfies ``schema`` (the shapes pydantic emits); ``last`` takes the
    last real enum option instead of the first."""
    if "$ref" in schema:
        return value_for(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, last=last)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return value_for(options[0], defs, last=last)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        options = schema["enum"]
        if not last:
            return options[0]
        # Another real option: the last one is often "n/a", which would be an abstention.
        return options[-2] if len(options) > 2 and options[-1] == "n/a" else options[-1]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = schema.get("required", list(props))
        return {k: value_for(props[k], defs, last=last) for k in required if k in props}
    if kind == "array":
        items = schema.get("items", {})
        return [value_for(items, defs, last=last) for _ in range(schema.get("minItems", 0))]
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
        self,
        plan: FaultPlan | None = None,
        *,
        hang_seconds: float = 3.0,
        keep_alive: bool = True,
        latency_seconds: float = 0.0,
        rps_limit: float = 0.0,
        disagree: float = 0.0,
    ) -> None:
        self.plan = plan or (lambda n: None)
        self.latency_seconds = latency_seconds
        self.disagree = disagree
        """Share of answers to a model named ``...-b`` that take the last enum option, not the
        first (the second generator disagreeing, deterministically by request number)."""
        self.rps_limit = rps_limit
        """Requests per second answered; more within a second get 429 (0: no limit)."""
        self._window = (0, 0)  # (second, requests answered in it)
        self.limited = 0
        self.hang_seconds = hang_seconds
        self.keep_alive = keep_alive
        self.requests = 0
        self.faults: Counter[str] = Counter()
        self.by_model: Counter[str] = Counter()
        """Requests whose body could be read, by the model they named."""
        self._lock = threading.Lock()
        self.url = ""

    def count_model(self, model: str) -> None:
        """Count a readable request for ``model``. Under the lock: handler threads run at once,
        and an unlocked ``+=`` on a Counter can lose an increment between its read and write."""
        with self._lock:
            self.by_model[model] += 1

    def next(self) -> tuple[int, Fault | None]:
        with self._lock:
            n = self.requests
            self.requests += 1
            if self.rps_limit:
                second = int(time.monotonic())
                start, count = self._window
                count = count + 1 if start == second else 1
                self._window = (second, count)
                if count > self.rps_limit:
                    self.limited += 1
                    return n, "429"
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
            state.count_model(str(request.get("model")))
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
            if fault is None and state.latency_seconds:
                time.sleep(state.latency_seconds)
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
                model = str(request.get("model", ""))
                last = model.endswith("-b") and (n % 100) < state.disagree * 100
                content = json.dumps(value_for(schema, schema.get("$defs", {}), last=last))
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


def _exit_at_eof() -> None:
    sys.stdin.read()
    os._exit(0)


def main() -> None:
    """Serve until killed; print the base URL on the first line of stdout."""
    import argparse

    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible server on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="Seconds before answering.")
    parser.add_argument("--rps", type=float, default=0.0, help="Requests per second (0: any).")
    parser.add_argument("--disagree", type=float, default=0.0, help="Share of -b answers off.")
    parser.add_argument(
        "--exit-with-stdin",
        action="store_true",
        help="Exit when standard input closes: the parent that holds it died or let go.",
    )
    args = parser.parse_args()
    state = FakeOpenAI(latency_seconds=args.latency, rps_limit=args.rps, disagree=args.disagree)
    server = _Server(("127.0.0.1", args.port), _handler(state))
    if args.exit_with_stdin:
        # A benchmark killed with SIGKILL (or SIGTERM, which runs no finally) cannot stop its
        # provider; the pipe it held closes either way, and that ends this process too.
        threading.Thread(target=_exit_at_eof, daemon=True).start()
    print(f"http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # pragma: no cover - interactive use
        pass


if __name__ == "__main__":
    main()
