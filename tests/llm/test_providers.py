"""Hosted providers against recorded responses in their documented formats (no network).

Anthropic and OpenAI answers are served by an httpx2 MockTransport; Bedrock answers by
botocore's Stubber. The fixtures in ``tests/fixtures/llm`` follow the providers' API
references: Messages API (``tool_use`` content blocks), Converse API (``toolUse``), Chat
Completions (JSON content under a ``json_schema`` response format).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import httpx2
import pytest
from botocore.stub import Stubber  # type: ignore[import-untyped]

from dissensus.domain.usage import Usage
from dissensus.llm import open_model

from .conftest import SYSTEM, TITLE, Shoe

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parent.parent / "fixtures" / "llm"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


class Recorder:
    """Replays recorded responses in order and keeps the request bodies it was sent."""

    def __init__(self, *names: str) -> None:
        self.responses = [fixture(name) for name in names]
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.versions: list[str | None] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append((str(request.url), json.loads(request.content)))
        self.versions.append(request.headers.get("anthropic-version"))
        return httpx2.Response(200, json=self.responses[len(self.requests) - 1])

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self))


async def test_anthropic_tool_output_is_repaired_after_one_invalid_answer() -> None:
    recorder = Recorder(
        "anthropic_messages_tool_use_invalid.json", "anthropic_messages_tool_use_valid.json"
    )
    llm = open_model(
        "anthropic:claude-haiku-4-5", api_key="test-key", http_client=recorder.client()
    )
    answer = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE, max_tokens=200)
    await llm.aclose()

    assert answer.output == Shoe(color="red", brand="Nike Air", material="leather")
    assert answer.attempts == 2
    assert answer.usage == Usage(requests=2, input_tokens=952, output_tokens=109)
    assert llm.profile.cost(answer.usage) == pytest.approx((952 * 1.0 + 109 * 5.0) / 1e6)

    url, first = recorder.requests[0]
    assert url == "https://api.anthropic.com/v1/messages"
    assert first["model"] == "claude-haiku-4-5"
    assert first["system"] == [{"type": "text", "text": SYSTEM}]
    # Greedy decoding needs the API version that still accepts `temperature`.
    assert recorder.versions == ["2023-06-01", "2023-06-01"]
    assert first["temperature"] == 0.0
    assert first["max_tokens"] == 200
    assert first["tool_choice"] == {"type": "any"}
    [tool] = first["tools"]
    assert tool["input_schema"]["properties"]["color"]["enum"] == ["n/a", "red", "navy blue"]
    # The re-ask answers the invalid tool call with its validation error.
    _, second = recorder.requests[1]
    retry = second["messages"][-1]["content"][0]
    assert retry["type"] == "tool_result"
    assert retry["tool_use_id"] == "toolu_01A09q90qw90lq917835lq9"
    assert retry["is_error"] is True
    assert "crimson" in json.dumps(retry["content"])


async def test_anthropic_text_instead_of_the_tool_twice_abstains() -> None:
    recorder = Recorder("anthropic_messages_text.json", "anthropic_messages_text.json")
    llm = open_model(
        "anthropic:claude-haiku-4-5", api_key="test-key", http_client=recorder.client()
    )
    answer = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE)
    await llm.aclose()
    assert answer.abstained
    assert answer.attempts == 2
    assert answer.usage == Usage(requests=2, input_tokens=800, output_tokens=14)


async def test_anthropic_http_error_abstains_with_the_status() -> None:
    def overloaded(request: httpx2.Request) -> httpx2.Response:
        body = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}
        return httpx2.Response(400, json=body)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(overloaded))
    llm = open_model("anthropic:claude-haiku-4-5", api_key="test-key", http_client=client)
    answer = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE)
    await llm.aclose()
    assert answer.abstained
    assert answer.error is not None and "400" in answer.error
    assert answer.usage == Usage(requests=1)


def stubbed_bedrock(*names: str) -> tuple[Any, Stubber]:
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    stubber = Stubber(client)
    for name in names:
        stubber.add_response("converse", fixture(name))
    stubber.activate()
    return client, stubber


async def test_bedrock_converse_tool_use_gives_a_typed_answer() -> None:
    client, stubber = stubbed_bedrock("bedrock_converse_tool_use.json")
    llm = open_model("bedrock:amazon.nova-micro-v1:0", bedrock_client=client)
    answer = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE)
    await llm.aclose()
    stubber.assert_no_pending_responses()
    assert answer.output == Shoe(color="red", brand="Nike Air", material="leather")
    assert answer.usage == Usage(requests=1, input_tokens=387, output_tokens=42)
    assert llm.profile.input_price_per_mtok == 0.035


async def test_bedrock_text_answers_abstain_after_the_reask() -> None:
    client, stubber = stubbed_bedrock("bedrock_converse_text.json", "bedrock_converse_text.json")
    llm = open_model("bedrock:amazon.nova-micro-v1:0", bedrock_client=client)
    answer = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE)
    stubber.assert_no_pending_responses()
    assert answer.abstained
    assert answer.attempts == 2
    assert answer.usage == Usage(requests=2, input_tokens=760, output_tokens=24)


async def test_openai_sends_the_schema_as_a_json_schema_response_format() -> None:
    recorder = Recorder("openai_chat_completion_json.json")
    llm = open_model("openai:gpt-4o-mini", api_key="test-key", http_client=recorder.client())
    answer = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE, max_tokens=64)
    await llm.aclose()
    assert answer.output == Shoe(color="red", brand="Nike Air", material="leather")
    assert answer.usage == Usage(requests=1, input_tokens=96, output_tokens=19)
    url, body = recorder.requests[0]
    assert url == "https://api.openai.com/v1/chat/completions"
    assert body["messages"][0] == {"role": "system", "content": SYSTEM}
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["brand"]["enum"] == ["n/a", "Nike", "Nike Air"]
    assert schema["properties"]["material"]["maxLength"] == 12
    assert body["temperature"] == 0
