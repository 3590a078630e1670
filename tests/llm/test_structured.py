"""Structured output, repair, abstention and usage accounting, on scripted models.

Scripted models run through the same PydanticAILLM as real ones, so these tests pin the
behaviour every backend shares.
"""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest
from pydantic import BaseModel

from dissensus.domain.usage import Usage
from dissensus.errors import ConfigError
from dissensus.llm import ModelProfile, open_model
from dissensus.llm.testing import (
    QueuedLLM,
    ScriptedLLM,
    ScriptedReply,
    ScriptedRequest,
    ToolCall,
    ToolCalls,
    example_output,
)

from .conftest import SYSTEM, TITLE, Shoe

pytestmark = pytest.mark.anyio

VALID = {"color": "red", "brand": "Nike Air", "material": "leather"}
INVALID = {"color": "crimson", "brand": "Nike Air", "material": "leather"}


@pytest.mark.parametrize("mode", ["native", "tool"])
async def test_valid_first_answer_is_one_attempt(mode: Literal["native", "tool"]) -> None:
    llm = QueuedLLM("scripted:q", [ScriptedReply(VALID, 100, 20)], output_mode=mode)
    answer = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE)
    assert answer.output == Shoe(color="red", brand="Nike Air", material="leather")
    assert answer.attempts == 1
    assert answer.error is None
    assert answer.usage == Usage(requests=1, input_tokens=100, output_tokens=20)
    assert llm.requests[0].system == SYSTEM
    assert llm.requests[0].prompt == TITLE
    assert llm.requests[0].output_type is Shoe


@pytest.mark.parametrize("mode", ["native", "tool"])
async def test_invalid_then_valid_is_repaired_with_usage_of_both(
    mode: Literal["native", "tool"],
) -> None:
    llm = QueuedLLM(
        "scripted:q",
        [ScriptedReply(INVALID, 100, 20), ScriptedReply(VALID, 130, 21)],
        output_mode=mode,
    )
    answer = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE)
    assert answer.output == Shoe.model_validate(VALID)
    assert answer.attempts == 2
    assert answer.usage == Usage(requests=2, input_tokens=230, output_tokens=41)
    first, second = llm.requests
    assert (first.attempt, first.feedback) == (1, None)
    assert second.attempt == 2
    # The re-ask quotes the validation error, so the model can fix exactly that field.
    assert second.feedback is not None and "crimson" in second.feedback


@pytest.mark.parametrize("mode", ["native", "tool"])
async def test_invalid_twice_abstains_with_error_and_summed_usage(
    mode: Literal["native", "tool"],
) -> None:
    llm = QueuedLLM(
        "scripted:q",
        [ScriptedReply(INVALID, 100, 20), ScriptedReply("not json at all", 140, 5)],
        output_mode=mode,
    )
    answer = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE)
    assert answer.abstained
    assert answer.output is None
    assert answer.attempts == 2
    assert answer.usage == Usage(requests=2, input_tokens=240, output_tokens=25)
    assert answer.error is not None
    assert answer.error.startswith("UnexpectedModelBehavior: Exceeded maximum output retries (1)")
    assert "last error:" in answer.error
    assert llm.remaining == 0


async def test_failed_call_abstains_with_the_error_text() -> None:
    llm = QueuedLLM("scripted:q", [ConnectionError("connection reset by peer")])
    answer = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE)
    assert answer.abstained
    assert answer.error == "ConnectionError: connection reset by peer"
    assert answer.usage == Usage(requests=1)
    assert answer.attempts == 1


async def test_failed_repair_call_keeps_usage_of_the_first_attempt() -> None:
    llm = QueuedLLM("scripted:q", [ScriptedReply(INVALID, 100, 20), TimeoutError("read timeout")])
    answer = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE)
    assert answer.abstained
    assert answer.usage == Usage(requests=2, input_tokens=100, output_tokens=20)
    assert answer.attempts == 2
    assert answer.error == "TimeoutError: read timeout"


async def test_other_returned_exceptions_become_model_errors() -> None:
    llm = QueuedLLM("scripted:q", [RuntimeError("HTTP 529 overloaded")])
    answer = await llm.structured(Shoe, system=SYSTEM, prompt=TITLE)
    assert answer.error == "ModelError: scripted:q: RuntimeError: HTTP 529 overloaded"


async def test_a_bug_in_the_handler_propagates() -> None:
    def broken(request: ScriptedRequest) -> dict[str, str]:
        raise KeyError("oops")

    with pytest.raises(KeyError):
        await ScriptedLLM("scripted:broken", broken).structured(Shoe, system="", prompt="")


async def test_queue_running_dry_is_a_test_error_not_an_abstention() -> None:
    llm = QueuedLLM("scripted:q", [INVALID])
    with pytest.raises(LookupError, match="only 1 queued responses"):
        await llm.structured(Shoe, system=SYSTEM, prompt=TITLE)


async def test_agent_runs_the_tools_the_script_calls() -> None:
    seen: list[str] = []

    def lookup_catalog(query: str) -> str:
        """Find verified products similar to the query."""
        seen.append(query)
        return "Nike Air Max 90: color=red"

    def respond(request: ScriptedRequest) -> ToolCalls | BaseModel:
        if not request.tool_results:
            return ToolCalls([ToolCall("lookup_catalog", {"query": "Air Max 90"})])
        assert request.tool_results == (("lookup_catalog", "Nike Air Max 90: color=red"),)
        return Shoe.model_validate(VALID)

    llm = ScriptedLLM("scripted:agent", respond)
    answer = await llm.agent(Shoe, system=SYSTEM, prompt=TITLE, tools=[lookup_catalog])
    assert answer.output == Shoe.model_validate(VALID)
    assert answer.attempts == 1
    assert answer.usage.requests == 2
    assert seen == ["Air Max 90"]
    assert llm.requests[0].tool_names == ("lookup_catalog",)


async def test_agent_refuses_tools_on_a_model_that_cannot_call_them() -> None:
    llm = ScriptedLLM(
        "scripted:tiny",
        lambda request: VALID,
        profile=ModelProfile(supports_tools=False, context_tokens=2048),
    )

    def tool() -> str:
        """A tool."""
        return ""

    with pytest.raises(ConfigError, match="cannot call tools"):
        await llm.agent(Shoe, system="", prompt="", tools=[tool])


async def test_concurrent_calls_keep_their_output_types_apart() -> None:
    class Other(BaseModel):
        size: Literal["n/a", "10"]

    llm = open_model("scripted:echo")
    shoe, other = await asyncio.gather(
        llm.structured(Shoe, system="", prompt=""), llm.structured(Other, system="", prompt="")
    )
    assert shoe.output == Shoe(color="red", brand="Nike", material="")
    assert other.output == Other(size="10")


async def test_scripted_abstain_model_always_abstains() -> None:
    answer = await open_model("scripted:abstain").structured(Shoe, system="", prompt="")
    assert answer.abstained
    assert answer.attempts == 2


def test_example_output_prefers_options_other_than_na() -> None:
    class OnlyNA(BaseModel):
        value: Literal["n/a"]
        note: str | None = None
        count: int

    assert example_output(Shoe) == Shoe(color="red", brand="Nike", material="")
    assert example_output(OnlyNA) == OnlyNA(value="n/a", note=None, count=0)
