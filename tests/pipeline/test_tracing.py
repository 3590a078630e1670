"""Traces of a run: our spans per run, batch, product and stage around pydantic-ai's GenAI spans."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from dissensus.config import TracingSettings
from dissensus.errors import ConfigError
from dissensus.llm import ModelPool
from dissensus.observability.tracing import Tracing, otlp_endpoint
from dissensus.pipeline import Runner, RunRequest
from dissensus.storage import Database

from .conftest import (
    Script,
    Supervisor,
    generators,
    read_output,
    resolution,
    settings,
    write_catalog,
)
from .test_runner import AGREED, K1, K1_DISPUTED, K2, LESSON

pytestmark = pytest.mark.anyio


async def _traced_run(tmp_path: Path, db: Database, schema_path: Path, tracing: Tracing) -> Any:
    gen_a, gen_b = generators(Script(a=AGREED, b=K1_DISPUTED))
    supervisor = Supervisor({K1["title"]: resolution({"Brand": "Acme"}, lesson=LESSON)})
    catalog = write_catalog(tmp_path / "catalog.jsonl", [K1, K2])
    out = tmp_path / "out.jsonl"
    async with ModelPool() as pool:
        pool.instrument(tracing.provider)
        for model in (gen_a, gen_b, supervisor.llm):
            pool.add(model)
        runner = Runner(settings(), db=db, open_model=pool.get, tracing=tracing)
        summary = await runner.run(
            RunRequest(input_path=catalog, schema_path=schema_path, out_path=out, run_id="r1")
        )
    tracing.shutdown()
    return summary, read_output(out)


async def test_a_run_traces_products_stages_and_every_model_call_in_genai_terms(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing.with_processor(SimpleSpanProcessor(exporter))
    await _traced_run(tmp_path, db, schema_path, tracing)
    spans = exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}

    def ancestors(span: Any) -> list[str]:
        names = []
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            names.append(span.name)
        return names

    products = {s.attributes["dissensus.product.id"]: s for s in spans if s.name == "product"}
    assert set(products) == {"k1", "k2"}
    assert products["k1"].attributes["dissensus.category"] == "Home > Knives"
    assert list(products["k1"].attributes["dissensus.disputed_attributes"]) == ["Brand"]
    assert products["k1"].attributes["dissensus.supervisor_called"] is True
    assert ancestors(products["k1"]) == ["batch", "run"]
    batch = next(s for s in spans if s.name == "batch")
    assert isinstance(batch.attributes["dissensus.kb.version"], int)

    # pydantic-ai's GenAI spans, each inside its stage inside its product.
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert sorted(s.attributes["gen_ai.request.model"] for s in chats) == sorted(
        ["scripted:gen-a", "scripted:gen-b"] * 2 + ["scripted:supervisor"]
    )
    for chat in chats:
        assert "gen_ai.usage.input_tokens" in chat.attributes
        assert "gen_ai.usage.output_tokens" in chat.attributes
        stage = (
            "supervisor"
            if chat.attributes["gen_ai.request.model"].endswith("supervisor")
            else "workers"
        )
        assert stage in ancestors(chat) and "product" in ancestors(chat)
    # Prompts quote sellers: by default they stay out of the spans.
    assert not any("Acme Chef Knife" in str(v) for s in spans for v in s.attributes.values())
    assert {"workers", "consensus", "supervisor", "learn"} <= {s.name for s in spans}


async def test_tracing_is_off_without_an_endpoint_and_refuses_a_bad_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert not Tracing.from_settings(TracingSettings()).enabled
    with Tracing.off().span("x", {"a": 1}) as span:
        assert span is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/")
    assert otlp_endpoint(TracingSettings()) == "http://127.0.0.1:4318/v1/traces"
    with pytest.raises(ConfigError, match="not an http"):
        Tracing.from_settings(TracingSettings(otlp_endpoint="grpc://collector:4317"))


class _Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP traces endpoint: decodes each export with the protocol's own protobufs."""

    received: list[ExportTraceServiceRequest]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.server.received.append((self.path, dict(self.headers), request))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def test_spans_reach_a_real_otlp_http_receiver_on_loopback(
    tmp_path: Path, db: Database, schema_path: Path, receiver: HTTPServer
) -> None:
    url = f"http://127.0.0.1:{receiver.server_port}/v1/traces"
    tracing = Tracing.from_settings(
        TracingSettings(
            otlp_endpoint=url, headers={"x-team": "catalog"}, service_name="dissensus-test"
        )
    )
    await _traced_run(tmp_path, db, schema_path, tracing)
    exports = receiver.received  # type: ignore[attr-defined]
    assert exports and all(path == "/v1/traces" for path, _, _ in exports)
    assert all(headers.get("x-team") == "catalog" for _, headers, _ in exports)
    names: list[str] = []
    services = set()
    for _, _, request in exports:
        for resource_spans in request.resource_spans:
            for attr in resource_spans.resource.attributes:
                if attr.key == "service.name":
                    services.add(attr.value.string_value)
            for scope in resource_spans.scope_spans:
                names += [span.name for span in scope.spans]
    assert services == {"dissensus-test"}
    assert names.count("product") == 2 and names.count("run") == 1
    assert sum(name.startswith("chat scripted:") for name in names) == 5
