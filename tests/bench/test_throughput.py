"""The throughput benchmark: both arms send the same requests; the numbers add up exactly.

A fake llama.cpp server stands behind a real :class:`LocalEngine`, :class:`EngineTransport` and
:class:`LocalLLM`, so everything but the model runs: it answers "n/a" (generators) or "ok"
(evaluator) for the attributes named in the system prompt and reports deterministic timings
(the system prompt's words as cached tokens, the user prompt's as evaluated ones).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2
import pytest
import typer
from openai import AsyncOpenAI
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider
from typer.testing import CliRunner

from dissensus.bench import throughput as bench
from dissensus.bench._throughput_data import grouped, interleaved, load_oa_mine
from dissensus.bench.throughput import (
    PhaseResult,
    ThroughputConfig,
    ThroughputReport,
    run_throughput,
    select_products,
    write_report,
)
from dissensus.cli.bench_throughput import throughput
from dissensus.domain import CatalogSchema, Product
from dissensus.domain.schema import AttributeSpec, CategorySchema
from dissensus.errors import ConfigError
from dissensus.llm import EngineOptions
from dissensus.llm.base import ModelProfile
from dissensus.llm.local import EngineTransport, LocalEngine, LocalLLM

pytestmark = pytest.mark.anyio

GOLD = "POISON-GOLD-VALUE"
"""A label value in the fake data set: it must never reach products, schema or requests."""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DISSENSUS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DISSENSUS_DATABASE_URL", raising=False)
    return tmp_path / "home"


def _attributes(system: str) -> list[str]:
    """Attribute names from a worker system prompt's ``Attributes:`` section."""
    section = system.split("Attributes:\n", 1)[1].split("\n\n", 1)[0]
    return [line.removeprefix("- ").split(":")[0].split(" (")[0] for line in section.splitlines()]


class FakeServer:
    """Stands in for ``xllamacpp.Server``: valid answers and word-count timings."""

    def __init__(self, log: list[dict[str, Any]]) -> None:
        self.log = log
        self._lock = threading.Lock()

    def handle_chat_completions(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.log.append(body)
        system, user = (m["content"] for m in body["messages"])
        names = _attributes(system)
        if "Proposed values:" in user:
            answer: dict[str, Any] = {
                n: {"verdict": "ok", "reason": "", "suggestion": "n/a"} for n in names
            }
        else:
            answer = dict.fromkeys(names, "n/a")
        cached, fresh = len(system.split()), len(user.split())
        return {
            "id": "fake",
            "object": "chat.completion",
            "created": 0,
            "model": "fake",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": json.dumps(answer)},
                }
            ],
            "usage": {
                "prompt_tokens": cached + fresh,
                "completion_tokens": 5,
                "total_tokens": cached + fresh + 5,
            },
            "timings": {
                "cache_n": cached,
                "prompt_n": fresh,
                "predicted_n": 5,
                "prompt_ms": 2.0 * fresh,
                "predicted_ms": 50.0,
            },
        }


class FakeOpener:
    """Opens a :class:`LocalLLM` on a fresh engine with a :class:`FakeServer`, per phase."""

    def __init__(self) -> None:
        self.logs: list[list[dict[str, Any]]] = []
        self.options: list[EngineOptions] = []

    def __call__(self, model: str, options: EngineOptions) -> LocalLLM:
        self.options.append(options)
        log: list[dict[str, Any]] = []
        self.logs.append(log)
        engine = LocalEngine(Path("/fake/model.gguf"), options)
        engine._server = FakeServer(log)  # load() sees a loaded engine
        http_client = httpx2.AsyncClient(transport=EngineTransport(engine))
        client = AsyncOpenAI(
            base_url="http://fake.invalid/v1",
            api_key="fake",
            http_client=http_client,
            max_retries=0,
        )
        chat_model = OpenAIChatModel("fake", provider=OpenAIProvider(openai_client=client))

        async def close() -> None:
            await http_client.aclose()
            await asyncio.to_thread(engine.close)

        profile = ModelProfile(supports_tools=False, context_tokens=options.context_tokens or 4096)
        return LocalLLM(model, chat_model, profile, engine=engine, on_close=close)


def _catalog() -> tuple[list[Product], CatalogSchema]:
    products = [
        Product(id=f"s{i}", title=f"Acme Runner {i} red shoe", category="Shoes") for i in range(3)
    ] + [Product(id=f"t{i}", title=f"Leaf green tea {i} bags", category="Tea") for i in range(2)]
    schema = CatalogSchema(
        categories=[
            CategorySchema(
                path="Shoes", attributes=[AttributeSpec(name="Brand"), AttributeSpec(name="Color")]
            ),
            CategorySchema(path="Tea", attributes=[AttributeSpec(name="Flavor")]),
        ]
    )
    return products, schema


def _key(body: dict[str, Any]) -> str:
    """What makes two requests the same to the engine."""
    return json.dumps(
        [body["messages"], body["grammar"], body["max_completion_tokens"], body["temperature"]]
    )


async def test_both_arms_send_the_same_requests_and_count_them_exactly() -> None:
    products, schema = _catalog()
    opener = FakeOpener()
    config = ThroughputConfig(model="local:fake", parallel=2)
    report = await run_throughput(products, schema, config, opener=opener)

    assert [(p.arm, p.order) for p in report.phases] == [
        ("raw", "interleaved"),
        ("pipeline", "interleaved"),
        ("raw", "grouped"),
        ("pipeline", "grouped"),
    ]
    # One fresh engine per phase, all with the configured slots.
    assert len(opener.logs) == 4
    assert {o.parallel for o in opener.options} == {2}
    raw, pipe = opener.logs[0], opener.logs[1]
    assert Counter(map(_key, raw)) == Counter(map(_key, pipe))
    # Two generators and the evaluator per product, nothing else (the supervisor is scripted).
    assert len(raw) == 5 * 3
    for phase, log in zip(report.phases, opener.logs, strict=True):
        cached = sum(len(b["messages"][0]["content"].split()) for b in log)
        fresh = sum(len(b["messages"][1]["content"].split()) for b in log)
        assert phase.products == 5
        assert phase.model_calls == 15
        assert phase.failed_calls == 0
        assert (phase.prompt_tokens, phase.cached_tokens) == (cached + fresh, cached)
        assert phase.completion_tokens == 15 * 5
        assert phase.prompt_seconds == round(2.0 * fresh / 1000, 2)
        assert phase.completion_seconds == round(15 * 50.0 / 1000, 2)
        assert phase.cache_hit_ratio == pytest.approx(cached / (cached + fresh))
        assert phase.wall_seconds > 0
        assert phase.invalid_answers == 0 and phase.errors == 0
    assert all(GOLD not in json.dumps(b) for log in opener.logs for b in log)
    assert [c.order for c in report.comparisons] == ["interleaved", "grouped"]


async def test_raw_arm_sends_products_in_the_chosen_order() -> None:
    products, schema = _catalog()
    opener = FakeOpener()
    config = ThroughputConfig(model="local:fake", parallel=1, evaluator=False, orders=["grouped"])
    await run_throughput(interleaved(products), schema, config, opener=opener)
    titles = [b["messages"][1]["content"] for b in opener.logs[0]]
    expected = [f"Product title: {p.title}" for p in grouped(products) for _ in ("a", "b")]
    assert titles == expected


async def test_a_model_that_is_not_local_is_a_config_error() -> None:
    products, schema = _catalog()
    with pytest.raises(ConfigError, match="not a local: model"):
        await run_throughput(products, schema, ThroughputConfig(model="scripted:echo"))


def _phase(arm: str, order: str, wall: float, products: int = 10) -> PhaseResult:
    return PhaseResult.model_validate(
        {
            "arm": arm,
            "order": order,
            "products": products,
            "wall_seconds": wall,
            "model_calls": 3 * products,
            "prompt_tokens": 1000,
            "cached_tokens": 600,
            "completion_tokens": 200,
            "slots": 4,
            "busy_seconds": 2 * wall,
        }
    )


def _report(raw_wall: float, pipe_wall: float) -> ThroughputReport:
    return ThroughputReport(
        config=ThroughputConfig(orders=["grouped"]),
        started_at="2026-01-01T00:00:00Z",  # type: ignore[arg-type]
        wall_seconds=raw_wall + pipe_wall,
        machine={"cpu_count": 2},
        data={"products": 10},
        phases=[_phase("raw", "grouped", raw_wall), _phase("pipeline", "grouped", pipe_wall)],
    )


def test_ratio_is_pipeline_over_raw_products_per_second() -> None:
    [ok] = _report(raw_wall=9.0, pipe_wall=10.0).comparisons
    assert ok.products_ratio == pytest.approx(0.9)
    assert ok.calls_ratio == pytest.approx(0.9)
    assert ok.tokens_ratio == pytest.approx(0.9)
    assert ok.meets_target
    [slow] = _report(raw_wall=8.0, pipe_wall=10.0).comparisons
    assert slow.products_ratio == pytest.approx(0.8)
    assert not slow.meets_target


def test_phase_rates_cache_ratio_and_slot_occupancy() -> None:
    phase = _phase("raw", "grouped", wall=4.0)
    assert phase.products_per_second == 2.5
    assert phase.calls_per_second == 7.5
    assert phase.tokens_per_second == 300.0
    assert phase.completion_tokens_per_second == 50.0
    assert phase.cache_hit_ratio == 0.6
    assert phase.slot_occupancy == 0.5


def test_report_json_holds_config_phases_and_comparisons(tmp_path: Path) -> None:
    path = write_report(_report(raw_wall=9.0, pipe_wall=10.0), tmp_path / "out")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert path.name == "throughput.json"
    assert data["config"]["parallel"] == 4
    assert data["config"]["supervisor"] == "scripted:echo"
    assert data["machine"] == {"cpu_count": 2}
    assert [p["arm"] for p in data["phases"]] == ["raw", "pipeline"]
    assert data["phases"][0]["cache_hit_ratio"] == 0.6
    assert data["phases"][0]["products_per_second"] == pytest.approx(10 / 9)
    assert data["comparisons"] == [
        {
            "order": "grouped",
            "products_ratio": pytest.approx(0.9),
            "calls_ratio": pytest.approx(0.9),
            "tokens_ratio": pytest.approx(0.9),
            "meets_target": True,
        }
    ]


def test_orders_interleave_categories_or_group_them() -> None:
    products, _ = _catalog()
    ids = [p.id for p in interleaved(products)]
    assert ids == ["s0", "t0", "s1", "t1", "s2"]
    assert [p.id for p in grouped(interleaved(products))] == ["s0", "s1", "s2", "t0", "t1"]
    assert [p.id for p in select_products(products, 3)] == ["s0", "t0", "s1"]


def _write_oa_mine(directory: Path) -> Path:
    directory.mkdir()
    train = [
        {"input": "x", "category": "Shoes", "target_scores": {"Brand": {GOLD: 1}}},
        {"input": "y", "category": "Shoes", "target_scores": {"Color": {GOLD: 1}, "Brand": {}}},
        {"input": "z", "category": "Tea", "target_scores": {"Flavor": {GOLD: 1}}},
    ]
    test = [
        {"input": "Acme red shoe", "category": "Shoes", "target_scores": {"Brand": {GOLD: 1}}},
        {"input": "Leaf tea", "category": "Tea", "target_scores": {"Flavor": {GOLD: 1}}},
    ]
    for name, rows in (("train.jsonl", train), ("test.jsonl", test)):
        (directory / name).write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return directory


def test_oa_mine_loader_reads_texts_and_attribute_names_only(tmp_path: Path) -> None:
    products, schema = load_oa_mine(_write_oa_mine(tmp_path / "oa"))
    assert [(p.id, p.title, p.category, p.extra) for p in products] == [
        ("test-1", "Acme red shoe", "Shoes", {}),
        ("test-2", "Leaf tea", "Tea", {}),
    ]
    assert [(c.path, [a.name for a in c.attributes]) for c in schema.categories] == [
        ("Shoes", ["Brand", "Color"]),
        ("Tea", ["Flavor"]),
    ]
    assert GOLD not in schema.model_dump_json() + str(products)


def test_cli_prints_the_table_and_writes_throughput_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "default_opener", FakeOpener())
    app = typer.Typer()
    app.command()(throughput)
    out = tmp_path / "bench"
    result = CliRunner().invoke(
        app,
        ["--data", str(_write_oa_mine(tmp_path / "oa")), "--parallel", "1", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "Throughput on local:gemma3-270m" in result.output
    assert "pipeline/raw (grouped)" in result.output
    data = json.loads((out / "throughput.json").read_text(encoding="utf-8"))
    assert len(data["phases"]) == 4
    assert data["data"]["products"] == 2


def test_cli_names_an_unknown_order(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(throughput)
    result = CliRunner().invoke(app, ["--order", "random"])
    assert result.exit_code == 2
    assert "'random' is not known" in result.output and "--order" in result.output


@pytest.mark.embedded
async def test_embedded_model_runs_both_arms_with_cache_hits(home: Path) -> None:
    products, schema = _catalog()
    # Two products of one category, generators only: seconds on an idle machine.
    config = ThroughputConfig(parallel=2, threads=1, evaluator=False, orders=["grouped"])
    report = await run_throughput(products[:2], schema, config)
    raw, pipe = report.phases
    for phase in (raw, pipe):
        assert phase.products == 2
        assert phase.model_calls >= 4  # a re-ask may add a call in the pipeline
        assert phase.completion_tokens > 0
        # The second product reuses its generator's system prompt from a slot.
        assert phase.cached_tokens > 0
    assert report.comparisons[0].products_ratio > 0
