"""Metrics of a run: counted as products finish, scraped by a real Prometheus on loopback."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dissensus.errors import ConfigError
from dissensus.llm import ModelPool
from dissensus.observability.metrics import RunMetrics, StoreCollector, new_registry, serve_metrics
from dissensus.pipeline import Runner, RunRequest
from dissensus.storage import Database

from .conftest import Script, Supervisor, generators, resolution, settings, write_catalog
from .test_runner import AGREED, K1, K1_DISPUTED, K2, LESSON, P1, P2

pytestmark = pytest.mark.anyio


async def _counted_run(tmp_path: Path, db: Database, schema_path: Path) -> Any:
    gen_a, gen_b = generators(
        Script(a=AGREED, b={**K1_DISPUTED, P1["title"]: {"Brand": "Skillet", "Size": "12in"}})
    )
    supervisor = Supervisor(
        {
            K1["title"]: resolution({"Brand": "Acme"}, lesson=LESSON),
            P1["title"]: resolution({"Brand": "Brava"}, needs_human=True),
        }
    )
    catalog = write_catalog(tmp_path / "catalog.jsonl", [K1, K2, "[1, 2", P1, P2])
    registry = new_registry()
    metrics = RunMetrics(registry)
    registry.register(StoreCollector(db))
    async with ModelPool() as pool:
        for model in (gen_a, gen_b, supervisor.llm):
            pool.add(model)
        runner = Runner(settings(), db=db, open_model=pool.get, metrics=metrics)
        summary = await runner.run(
            RunRequest(
                input_path=catalog,
                schema_path=schema_path,
                out_path=tmp_path / "out.jsonl",
                run_id="r1",
            )
        )
    return summary, registry


def _samples(registry: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _total(samples: dict[Any, float], name: str, **labels: str) -> float:
    return sum(
        v
        for (n, ls), v in samples.items()
        if n == name and all(dict(ls).get(k) == want for k, want in labels.items())
    )


async def test_the_counters_match_the_run_summary(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    summary, registry = await _counted_run(tmp_path, db, schema_path)
    s = _samples(registry)
    assert _total(s, "dissensus_products_total", outcome="error") == summary.errors == 1
    assert _total(s, "dissensus_products_total") - summary.errors == summary.products == 4
    assert _total(s, "dissensus_products_total", outcome="resolved") == 1  # k1
    assert _total(s, "dissensus_products_total", outcome="needs_review") == 1  # p1
    assert _total(s, "dissensus_products_total", outcome="agreed") == 2
    assert _total(s, "dissensus_supervisor_calls_total") == summary.supervisor_calls == 2
    assert (
        _total(s, "dissensus_disagreements_total", category="Home > Knives", attribute="Brand") == 1
    )
    assert _total(s, "dissensus_model_requests_total") == summary.model_requests
    assert _total(s, "dissensus_model_tokens_total", direction="input") == summary.input_tokens
    assert _total(s, "dissensus_model_tokens_total", direction="output") == summary.output_tokens
    assert _total(s, "dissensus_model_call_duration_seconds_count", role="generator-a") == 4
    assert _total(s, "dissensus_supervisor_duration_seconds_count") == 2
    assert _total(s, "dissensus_learnings_written_total") == summary.learnings_added
    # Read from the database at scrape time.
    assert _total(s, "dissensus_learnings", status="active") >= 1
    assert _total(s, "dissensus_runs", status="completed") == 1


def test_a_taken_metrics_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ConfigError, match="choose another --metrics-port"):
            serve_metrics(new_registry(), taken.getsockname()[1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _query(port: int, promql: str) -> float | None:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
    except OSError:
        return None
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else None


@pytest.mark.slow
async def test_a_real_prometheus_scrapes_the_values_of_the_run_summary(
    tmp_path: Path, db: Database, schema_path: Path
) -> None:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("Debian's prometheus is not installed (make test installs it)")
    summary, registry = await _counted_run(tmp_path, db, schema_path)
    server = serve_metrics(registry, 0)
    prom_port = _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: dissensus\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{server.port}']}}]\n"
    )
    prom = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wanted = {
            'sum(dissensus_products_total{outcome!="error"})': summary.products,
            'sum(dissensus_products_total{outcome="error"})': summary.errors,
            "sum(dissensus_supervisor_calls_total)": summary.supervisor_calls,
            "sum(dissensus_model_requests_total)": summary.model_requests,
            'sum(dissensus_model_tokens_total{direction="input"})': summary.input_tokens,
            'sum(dissensus_runs{status="completed"})': 1,
        }
        seen: dict[str, float | None] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen = {q: _query(prom_port, q) for q in wanted}
            if all(v is not None for v in seen.values()):
                break
            time.sleep(0.5)
        assert seen == {q: float(v) for q, v in wanted.items()}
    finally:
        prom.terminate()
        prom.wait(timeout=20)
        server.close()
