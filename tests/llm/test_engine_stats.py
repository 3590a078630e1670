"""Engine statistics from llama.cpp timings, and raw engine requests equal to a LocalLLM's."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from openai import AsyncOpenAI
from pydantic import BaseModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from dissensus.domain import Product
from dissensus.domain.schema import AttributeSpec
from dissensus.llm import EngineOptions
from dissensus.llm.base import ModelProfile
from dissensus.llm.local import (
    EngineStats,
    EngineTransport,
    LocalEngine,
    LocalLLM,
    chat_request,
)
from dissensus.workers import evaluation_model, extraction_model

pytestmark = pytest.mark.anyio


def _response(content: str, timings: dict[str, Any] | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    if timings is not None:
        result["timings"] = timings
    return result


def test_stats_sum_timings_with_cached_tokens_counted_as_prompt_tokens() -> None:
    stats = EngineStats()
    stats.record(
        _response("{}", {"cache_n": 115, "prompt_n": 27, "predicted_n": 10, "prompt_ms": 400.5}),
        busy_ms=900.0,
    )
    stats.record(_response("{}", {"cache_n": 0, "prompt_n": 142, "predicted_ms": 285.0}))
    stats.record({"error": {"code": 500, "message": "boom"}})
    stats.record(_response("{}", None))
    assert stats == EngineStats(
        calls=4,
        failed=1,
        prompt_tokens=284,
        cached_tokens=115,
        completion_tokens=10,
        prompt_ms=400.5,
        completion_ms=285.0,
        busy_ms=900.0,
    )
    assert stats.cache_hit_ratio == pytest.approx(115 / 284)
    assert EngineStats().cache_hit_ratio == 0.0


class _Server:
    """Stands in for ``xllamacpp.Server``; keeps every body it is sent."""

    def __init__(self, content: str) -> None:
        self.content = content
        self.bodies: list[dict[str, Any]] = []

    def handle_chat_completions(self, body: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append(body)
        return _response(self.content, {"cache_n": 3, "prompt_n": 7, "predicted_n": 2})


def _llm(server: _Server) -> LocalLLM:
    engine = LocalEngine(Path("/fake/model.gguf"), EngineOptions(parallel=2))
    engine._server = server
    http_client = httpx2.AsyncClient(transport=EngineTransport(engine))
    client = AsyncOpenAI(
        base_url="http://fake.invalid/v1", api_key="x", http_client=http_client, max_retries=0
    )
    model = OpenAIChatModel("gemma3-270m", provider=OpenAIProvider(openai_client=client))

    async def close() -> None:
        await http_client.aclose()
        await asyncio.to_thread(engine.close)

    return LocalLLM(
        "local:gemma3-270m",
        model,
        ModelProfile(supports_tools=False, context_tokens=4096),
        engine=engine,
        on_close=close,
    )


async def test_engine_counts_every_call_until_reset() -> None:
    llm = _llm(_Server("{}"))
    try:
        for _ in range(2):
            await llm.engine.chat({"messages": []})
        stats = llm.engine.stats()
        assert (stats.calls, stats.prompt_tokens, stats.cached_tokens) == (2, 20, 6)
        assert stats.completion_tokens == 4
        assert stats.busy_ms > 0
        assert llm.engine.reset_stats() == stats
        assert llm.engine.stats() == EngineStats()
    finally:
        await llm.aclose()


PRODUCT = Product(id="1", title="Acme Runner red shoe, size 10", category="Shoes")
ATTRIBUTES = [
    AttributeSpec(name="Brand", description="The maker as written"),
    AttributeSpec(name="Model name"),
    AttributeSpec(name="Fit", values=["Wide", "Narrow"]),
]


@pytest.mark.parametrize(
    "output_type",
    [
        extraction_model(PRODUCT, ATTRIBUTES),
        evaluation_model(PRODUCT, ATTRIBUTES, reason_chars=40),
    ],
    ids=["generator", "evaluator"],
)
async def test_chat_request_is_the_body_a_local_llm_sends(output_type: type[BaseModel]) -> None:
    server = _Server("not json")  # the answer does not matter, only what was sent
    llm = _llm(server)
    try:
        await llm.structured(output_type, system="SYSTEM", prompt="PROMPT", max_tokens=77)
    finally:
        await llm.aclose()
    sent = server.bodies[0]
    raw = chat_request(
        model="gemma3-270m",
        system="SYSTEM",
        prompt="PROMPT",
        schema=output_type.model_json_schema(by_alias=True),
        max_tokens=77,
    )
    assert json.dumps(raw, sort_keys=True) == json.dumps(sent, sort_keys=True)
    assert "grammar" in raw and "response_format" not in raw


def test_the_engine_starts_llama_cpp_with_its_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads, slots, context and the capped host prompt cache reach llama.cpp's parameters."""
    import xllamacpp

    started: list[Any] = []

    class Recorder:
        def __init__(self, params: Any) -> None:
            started.append(params)

    monkeypatch.setattr(xllamacpp, "Server", Recorder)
    engine = LocalEngine(
        Path("/fake/model.gguf"), EngineOptions(parallel=3, context_tokens=1000, threads=2)
    )
    engine.load()
    engine.load()  # once only

    (params,) = started
    assert params.model.path == "/fake/model.gguf"
    assert (params.n_parallel, params.n_ctx) == (3, 3000)
    assert params.cpuparams.n_threads == params.cpuparams_batch.n_threads == 2
    assert params.cache_prompt is True
    assert params.cache_ram_mib == 1024  # not llama.cpp's 8 GiB
    engine._server = None  # nothing real to close


async def test_engine_options_without_a_context_take_the_models_own() -> None:
    """Setting only threads (bench --threads) keeps each model's catalogue context per slot."""
    from dissensus.llm import open_model

    small = open_model("local:smollm2-135m", engine=EngineOptions(threads=1))
    sized = open_model("local:smollm2-135m", engine=EngineOptions(threads=1, context_tokens=512))
    try:
        assert isinstance(small, LocalLLM) and isinstance(sized, LocalLLM)
        assert small.engine.options.context_tokens == small.profile.context_tokens == 2048
        assert sized.engine.options.context_tokens == sized.profile.context_tokens == 512
        assert not small.engine.loaded  # nothing was loaded to learn this
    finally:
        await small.aclose()
        await sized.aclose()
