"""Scripted models: offline stand-ins for tests, docs and ``--model scripted`` demos.

They run through the same :class:`~dissensus.llm._pydantic_ai.PydanticAILLM` as real models
(on pydantic-ai's ``FunctionModel``), so validation, the single repair attempt, abstention and
usage summing are exercised exactly as in production::

    from dissensus.llm.testing import QueuedLLM

    llm = QueuedLLM("scripted:flaky", [{"color": "purple"}, {"color": "red"}])
    answer = await llm.structured(Shoe, system="...", prompt="...")
    assert answer.output == Shoe(color="red") and answer.attempts == 2   # repaired

A handler may answer with a pydantic object, a dict, raw text, a :class:`ToolCalls` (agent
mode: the named tools run for real and the handler is called again with their results), a
:class:`ScriptedReply` to set exact token counts, or an exception *instance* to simulate a failed
call (the answer abstains). An exception the handler *raises* is a bug in the test and
propagates.
"""

from __future__ import annotations

import asyncio
import json
import types
import typing
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, TypeAlias, TypeVar, Union

from pydantic import BaseModel
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    ModelResponsePart,
    RetryFeedbackPart,
    RetryPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.profiles import ModelProfile as PydanticAIProfile
from pydantic_ai.usage import RequestUsage

from dissensus.errors import ModelError
from dissensus.llm._pydantic_ai import _ABSTAIN_ON, OutputMode, PydanticAILLM, error_text
from dissensus.llm.base import Answer, ModelProfile

__all__ = [
    "SCRIPTED_MODELS",
    "QueuedLLM",
    "ScriptedLLM",
    "ScriptedReply",
    "ScriptedRequest",
    "ToolCall",
    "ToolCalls",
    "abstain_handler",
    "echo_handler",
    "example_output",
]

T = TypeVar("T", bound=BaseModel)

NA = "n/a"
"""The escape option of the workers' enums; :func:`example_output` avoids it when it can."""

SCRIPTED_PROFILE = ModelProfile(supports_tools=True, context_tokens=1_000_000)
"""Scripted models can "call" tools (the handler decides) and cost nothing."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call a scripted agent makes: the tool's function name and its arguments."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolCalls:
    """Agent mode: call these tools now; the handler is asked again with their results."""

    calls: Sequence[ToolCall]


@dataclass(frozen=True, slots=True)
class ScriptedReply:
    """An answer with exact token counts (otherwise pydantic-ai estimates them from words)."""

    output: BaseModel | dict[str, Any] | str
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class ScriptedRequest:
    """What a scripted model is asked: the handler's only argument."""

    system: str
    prompt: str
    output_type: type[BaseModel]
    tool_names: tuple[str, ...]
    """Function tools the agent offers (empty for :meth:`~dissensus.llm.LLM.structured`)."""
    attempt: int
    """1 for the first try at the answer, 2 for the re-ask after a validation error."""
    feedback: str | None = None
    """The validation error quoted in a re-ask (``None`` on the first attempt)."""
    tool_results: tuple[tuple[str, str], ...] = ()
    """``(tool name, result text)`` for every tool the agent ran so far, in order."""


ScriptedOutput: TypeAlias = BaseModel | dict[str, Any] | str | ScriptedReply | ToolCalls | Exception
"""What a handler may return (see the module docstring)."""

Handler: TypeAlias = Callable[[ScriptedRequest], ScriptedOutput]

# The output type of the call in flight: FunctionModel only sees the JSON schema, handlers want
# the class. A ContextVar keeps concurrent calls on one model apart.
_current_output_type: ContextVar[type[BaseModel]] = ContextVar("_current_output_type")


class ScriptedLLM(PydanticAILLM):
    """A model whose answers come from ``handler(request)``; every request is kept in ``requests``.

    Args:
        name: Model string it reports (``scripted:echo``).
        handler: Turns a :class:`ScriptedRequest` into an answer.
        profile: Defaults to a tool-capable, free model.
        output_mode: ``"native"`` (JSON text, like local and OpenAI models) or ``"tool"`` (an
            output tool call, like Anthropic and Bedrock models).
        delay_seconds: How long each answer takes, without blocking the event loop (a model
            call that takes time, for latency and concurrency tests).
    """

    def __init__(
        self,
        name: str,
        handler: Handler,
        *,
        profile: ModelProfile = SCRIPTED_PROFILE,
        output_mode: OutputMode = "native",
        delay_seconds: float = 0.0,
    ) -> None:
        self.handler = handler
        self.delay_seconds = delay_seconds
        self.requests: list[ScriptedRequest] = []
        model = FunctionModel(
            self._respond,
            model_name=name,
            profile=PydanticAIProfile(
                supports_tools=True,
                supports_json_schema_output=True,
                supports_json_object_output=True,
            ),
        )
        super().__init__(name, model, profile, output_mode=output_mode)

    async def _run(
        self,
        output_type: type[T],
        *,
        system: str,
        prompt: str,
        tools: Sequence[Callable[..., Any]],
        max_tokens: int,
    ) -> Answer[T]:
        token = _current_output_type.set(output_type)
        try:
            return await super()._run(
                output_type, system=system, prompt=prompt, tools=tools, max_tokens=max_tokens
            )
        finally:
            _current_output_type.reset(token)

    async def _respond(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        request = _scripted_request(messages, info, _current_output_type.get())
        self.requests.append(request)
        result = self.handler(request)
        usage = RequestUsage()
        if isinstance(result, ScriptedReply):
            usage = RequestUsage(
                input_tokens=result.input_tokens, output_tokens=result.output_tokens
            )
            result = result.output
        if isinstance(result, BaseException):
            if isinstance(result, _ABSTAIN_ON):
                raise result
            raise ModelError(f"{self.name}: {type(result).__name__}: {result}") from result
        parts: list[ModelResponsePart]
        if isinstance(result, ToolCalls):
            parts = [ToolCallPart(call.name, dict(call.args)) for call in result.calls]
        else:
            text = _as_json_text(result)
            if info.output_tools:
                # Tool output mode: the answer is the arguments of the output tool.
                parts = [ToolCallPart(info.output_tools[0].name, text)]
            else:
                parts = [TextPart(text)]
        return ModelResponse(parts=parts, usage=usage, model_name=self.name)


class QueuedLLM(ScriptedLLM):
    """A scripted model that gives ``responses`` in order, one per model request.

    Raises ``LookupError`` (not an abstention) when asked more often than it has answers,
    because that is a mistake in the test, not a model failure.
    """

    def __init__(
        self,
        name: str,
        responses: Sequence[ScriptedOutput],
        *,
        profile: ModelProfile = SCRIPTED_PROFILE,
        output_mode: OutputMode = "native",
    ) -> None:
        self.responses = list(responses)
        self._next = 0
        super().__init__(name, self._pop, profile=profile, output_mode=output_mode)

    @property
    def remaining(self) -> int:
        """Answers not used yet."""
        return len(self.responses) - self._next

    def _pop(self, request: ScriptedRequest) -> ScriptedOutput:
        if self._next >= len(self.responses):
            raise LookupError(
                f"{self.name!r} was asked {self._next + 1} times but has only "
                f"{len(self.responses)} queued responses; add more to the queue"
            )
        response = self.responses[self._next]
        self._next += 1
        return response


def echo_handler(request: ScriptedRequest) -> ScriptedOutput:
    """The ``scripted:echo`` model: a deterministic valid answer (see :func:`example_output`)."""
    return example_output(request.output_type)


def abstain_handler(request: ScriptedRequest) -> ScriptedOutput:
    """The ``scripted:abstain`` model: never valid, so every answer abstains after the re-ask."""
    return "I cannot answer that."


SCRIPTED_MODELS: dict[str, Handler] = {"echo": echo_handler, "abstain": abstain_handler}
"""Scripted models reachable as ``scripted:<name>`` through ``open_model``."""


def example_output(output_type: type[T]) -> T:
    """A deterministic instance of ``output_type`` for demos and default scripted answers.

    Each ``Literal``/enum field gets its first option that is not ``"n/a"`` (``"n/a"`` only when
    it is the sole option); optional fields get ``None`` unless a closed set is among the
    options; other fields keep their default, or get the type's zero value (``""``, ``0``,
    ``False``, empty containers, a nested example).
    """
    values: dict[str, Any] = {}
    for name, info in output_type.model_fields.items():
        closed = _closed_options(info.annotation)
        if closed is not _OPEN:
            values[name] = closed
        elif not info.is_required():
            continue
        else:
            values[name] = _zero(info.annotation)
    return output_type.model_validate(values)


_OPEN = object()
"""Marks an annotation without a closed set of options."""


def _closed_options(annotation: Any) -> Any:
    """The preferred option of a ``Literal``/enum annotation, or ``_OPEN`` when it has none."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        options = typing.get_args(annotation)
        return next((o for o in options if o != NA), options[0])
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        members = list(annotation)
        return next((m for m in members if m.value != NA), members[0]).value
    if origin in (Union, types.UnionType):
        for arm in typing.get_args(annotation):
            if (option := _closed_options(arm)) is not _OPEN:
                return option
    return _OPEN


def _zero(annotation: Any) -> Any:
    """The empty value of an open annotation."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        arms = typing.get_args(annotation)
        return None if type(None) in arms else _zero(arms[0])
    if origin is typing.Annotated:
        return _zero(typing.get_args(annotation)[0])
    target = origin or annotation
    if isinstance(target, type):
        if issubclass(target, BaseModel):
            return example_output(target).model_dump()
        if issubclass(target, bool):
            return False
        if issubclass(target, int | float):
            return 0
        if issubclass(target, str):
            return ""
        if issubclass(target, list | tuple | set | frozenset):
            return []
        if issubclass(target, dict):
            return {}
    return None


def _as_json_text(output: BaseModel | dict[str, Any] | str) -> str:
    if isinstance(output, BaseModel):
        return output.model_dump_json()
    if isinstance(output, dict):
        return json.dumps(output)
    return output


def _scripted_request(
    messages: Sequence[ModelMessage], info: AgentInfo, output_type: type[BaseModel]
) -> ScriptedRequest:
    """Read the conversation so far into what a handler needs to decide.

    pydantic-ai renders a re-ask about plain-text output as a later user turn, and one about an
    output tool as that tool's return; both count as a new attempt at the answer.
    """
    tool_names = tuple(tool.name for tool in info.function_tools)
    prompt: str | None = None
    tool_results: list[tuple[str, str]] = []
    reasks: list[tuple[int, str]] = []  # (index of the request, feedback text)
    for index, message in enumerate(messages):
        if not isinstance(message, ModelRequest):
            continue
        for part in message.parts:
            if isinstance(part, UserPromptPart):
                text = part.content if isinstance(part.content, str) else str(part.content)
                if prompt is None:
                    prompt = text
                else:
                    reasks.append((index, text))
            elif isinstance(part, RetryFeedbackPart | RetryPromptPart):
                reasks.append((index, error_text(part.content)))
            elif isinstance(part, ToolReturnPart):
                if part.tool_name in tool_names:
                    tool_results.append((part.tool_name, part.model_response_str()))
                else:
                    reasks.append((index, error_text(part.content)))
    latest = len(messages) - 1
    feedback = [text for index, text in reasks if index == latest]
    return ScriptedRequest(
        system=info.instructions or "",
        prompt=prompt or "",
        output_type=output_type,
        tool_names=tool_names,
        attempt=1 + len(reasks),
        feedback=feedback[-1] if feedback else None,
        tool_results=tuple(tool_results),
    )
