"""``openai:`` against a real OpenAI-compatible HTTP server on loopback (llama.cpp serving SmolLM2).

This is the path a team takes with vLLM, Ollama or llama-server: ``open_model("openai:<name>",
base_url=...)``. The server is xllamacpp's own llama.cpp HTTP server, bound to 127.0.0.1.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from dissensus.domain.usage import Usage
from dissensus.llm import open_model
from dissensus.llm.local import resolve_local_path

from .conftest import SYSTEM, TITLE, Shoe

pytestmark = pytest.mark.anyio

API_KEY = secrets.token_urlsafe(16)


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """A llama.cpp HTTP server with SmolLM2 on a free loopback port; yields its /v1 URL."""
    xllamacpp = pytest.importorskip("xllamacpp")
    params: Any = xllamacpp.CommonParams()
    params.model.path = str(resolve_local_path("smollm2-135m"))
    params.n_ctx = 2048
    params.n_parallel = 1
    params.cpuparams.n_threads = 1  # a shared CI core; more threads stall when one is busy
    params.cpuparams_batch.n_threads = 1
    params.warmup = False
    params.verbosity = 0
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # any free port; the server reports the one it took
    params.api_keys = [API_KEY]
    server = xllamacpp.Server(params)
    address: str = server.listening_address
    assert address.startswith("http://127.0.0.1:")
    yield f"{address}/v1"
    del server


@pytest.mark.embedded
async def test_openai_model_on_a_compatible_server_returns_a_typed_answer(
    llama_server: str,
) -> None:
    llm = open_model("openai:smollm2-135m", base_url=llama_server, api_key=API_KEY)
    try:
        answer = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE, max_tokens=80)
    finally:
        await llm.aclose()
    assert answer.error is None
    assert isinstance(answer.output, Shoe)
    assert answer.usage.requests == 1
    assert answer.usage.input_tokens > 0 and answer.usage.output_tokens > 0
    # An unknown hosted model is assumed to cost nothing and to call tools.
    assert llm.profile.cost(answer.usage) == 0
    assert llm.profile.supports_tools is True


@pytest.mark.embedded
async def test_openai_base_url_from_the_environment_and_a_wrong_key_abstains(
    llama_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", llama_server)
    llm = open_model("openai:smollm2-135m")  # placeholder key: this server wants a real one
    try:
        answer = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE, max_tokens=80)
    finally:
        await llm.aclose()
    assert answer.abstained
    assert answer.error is not None and "401" in answer.error
    assert answer.usage == Usage(requests=1)
