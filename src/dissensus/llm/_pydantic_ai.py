"""The one :class:`~dissensus.llm.base.LLM` implementation: any pydantic-ai model behind it.

Local engines, hosted APIs and scripted test models all become a pydantic-ai ``Model`` and run
through :class:`PydanticAILLM`, so validation, the single repair attempt, abstention and usage
accounting behave the same everywhere — a scripted test exercises the very code path a hosted
model takes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx2
from pydantic import BaseModel
from pydantic_ai import (
    Agent,
    ModelAPIError,
    NativeOutput,
    ToolOutput,
    UnexpectedModelBehavior,
    capture_run_messages,
)
from pydantic_ai.capabilities import Instrumentation
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryFeedbackPart,
    RetryPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models import Model
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.settings import ModelSettings

from dissensus.domain.usage import Usage
from dissensus.errors import ConfigError, ModelError
from dissensus.llm._http import counted_attempts
from dissensus.llm.base import LLM, Answer, ModelProfile
from dissensus.llm.calls import CallRecord, current_role, record_call

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

log = logging.getLogger(__name__)

__all__ = ["OutputMode", "PydanticAILLM", "error_text", "output_retries"]

T = TypeVar("T", bound=BaseModel)

OutputMode = Literal["native", "tool"]
"""How a typed answer is asked for: a JSON-schema response format, or a forced output tool."""

# Failures that mean "this model gave no usable answer" rather than "the code is wrong": they
# become abstentions. Programming errors (UserError, TypeError, ...) still raise.
_ABSTAIN_ON = (
    UnexpectedModelBehavior,  # output invalid after the repair attempt, truncated, refused
    ModelAPIError,  # HTTP status errors and connection failures, after the SDK's own retries
    ModelError,  # raised by our engines and scripted models for a failed call
    httpx2.HTTPError,
    OSError,
    TimeoutError,
)

_ERROR_CHARS = 500
"""Error texts are cut here: they go into result records and prompts, not into logs."""


class PydanticAILLM(LLM):
    """Typed answers from any pydantic-ai model, with one repair attempt and then abstention.

    Args:
        name: The model string it was opened with (``openai:gpt-4o-mini``).
        model: The pydantic-ai model that speaks the provider's API.
        profile: Capabilities and prices the pipeline adapts to.
        output_mode: ``"native"`` sends the output type as a JSON-schema response format
            (constrained decoding on llama.cpp, vLLM and OpenAI); ``"tool"`` forces an output
            tool call, for APIs whose native structured output is missing or model-dependent.
        on_close: Releases what the model holds (an engine, an HTTP client); called once.
    """

    def __init__(
        self,
        name: str,
        model: Model,
        profile: ModelProfile,
        *,
        output_mode: OutputMode = "native",
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.name = name
        self.profile = profile
        self.model = model
        self.output_mode: OutputMode = output_mode
        self._on_close = on_close
        self._closed = False
        self._instrumentation: Instrumentation | None = None

    def instrument(self, tracer_provider: TracerProvider | None, *, content: bool = False) -> None:
        """Emit OpenTelemetry GenAI spans (``chat {model}``) to ``tracer_provider``; ``None``: off.

        ``content=False`` keeps prompts and answers out of the spans: they quote sellers and
        customers, and a trace backend is often another team's system. The call log keeps them.
        """
        if tracer_provider is None:
            self._instrumentation = None
            return
        self._instrumentation = Instrumentation(
            settings=InstrumentationSettings(
                tracer_provider=tracer_provider,
                include_content=content,
                include_binary_content=False,
                # The output schema lists spans of the product text as its options.
                include_model_request_parameters=content,
            )
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, output_mode={self.output_mode!r})"

    async def structured(
        self,
        output_type: type[T],
        *,
        system: str,
        prompt: str,
        max_tokens: int = 256,
    ) -> Answer[T]:
        """Ask for one object of ``output_type``; abstain after one failed repair attempt."""
        return await self._run(
            output_type, system=system, prompt=prompt, tools=(), max_tokens=max_tokens
        )

    async def agent(
        self,
        output_type: type[T],
        *,
        system: str,
        prompt: str,
        tools: Sequence[Callable[..., Any]],
        max_tokens: int = 1024,
    ) -> Answer[T]:
        """Run a tool-using agent to an answer of ``output_type``; abstain like :meth:`structured`.

        Raises:
            ConfigError: tools were given to a model whose profile cannot call them.
        """
        if tools and not self.profile.supports_tools:
            raise ConfigError(
                f"model {self.name!r} cannot call tools; check profile.supports_tools and use "
                "structured() with the tool results gathered into the prompt"
            )
        return await self._run(
            output_type, system=system, prompt=prompt, tools=tools, max_tokens=max_tokens
        )

    async def aclose(self) -> None:
        """Release the engine or client behind the model; later calls are not supported."""
        if self._closed:
            return
        self._closed = True
        if self._on_close is not None:
            await self._on_close()

    async def _run(
        self,
        output_type: type[T],
        *,
        system: str,
        prompt: str,
        tools: Sequence[Callable[..., Any]],
        max_tokens: int,
    ) -> Answer[T]:
        output_spec: NativeOutput[T] | ToolOutput[T] = (
            NativeOutput(output_type) if self.output_mode == "native" else ToolOutput(output_type)
        )
        settings: ModelSettings = {"temperature": 0.0, "max_tokens": max_tokens}
        # A fresh Agent per call is cheap (no I/O) and keeps calls independent: instructions,
        # tools and output type all vary from call to call.
        agent = Agent(
            self.model,
            output_type=output_spec,
            instructions=system,
            tools=list(tools),
            retries={"output": 1, "tools": 1},
            model_settings=settings,
            capabilities=[self._instrumentation] if self._instrumentation is not None else None,
        )
        role, learnings = current_role()
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        with capture_run_messages() as messages, counted_attempts() as sent:
            try:
                result = await agent.run(prompt)
            except _ABSTAIN_ON as exc:
                # No response for the failed request itself (transport error) means it is not
                # in the messages; it still cost a request.
                failed_request = 0 if isinstance(exc, UnexpectedModelBehavior) else 1
                usage = _usage_of(messages) + Usage(requests=failed_request)
                usage = _with_attempts(usage, sent[0])
                answer: Answer[T] = Answer(
                    model=self.name,
                    output=None,
                    usage=usage,
                    attempts=max(1, _attempts_of(messages, tools)),
                    error=_describe_failure(exc, messages, tools),
                )
                self._record(answer, messages, role, learnings, system, prompt, started, started_at)
                return answer
        run_usage = result.usage
        answer = Answer(
            model=self.name,
            output=result.output,
            usage=_with_attempts(
                Usage(
                    requests=run_usage.requests,
                    input_tokens=run_usage.input_tokens,
                    output_tokens=run_usage.output_tokens,
                ),
                sent[0],
            ),
            attempts=_attempts_of(result.all_messages(), tools),
        )
        self._record(
            answer, result.all_messages(), role, learnings, system, prompt, started, started_at
        )
        return answer

    def _record(
        self,
        answer: Answer[T],
        messages: Sequence[ModelMessage],
        role: str,
        learnings: list[str],
        system: str,
        prompt: str,
        started: float,
        started_at: datetime,
    ) -> None:
        """Hand the finished call to the call log of whoever is recording."""
        if answer.output is None:
            log.info(
                "%s (%s) abstained: %s",
                self.name,
                role,
                answer.error,
                extra={"model": self.name, "role": role},
            )
        last = next((m for m in reversed(messages) if isinstance(m, ModelResponse)), None)
        record_call(
            CallRecord(
                role=role,
                model=self.name,
                usage=answer.usage,
                latency_s=time.perf_counter() - started,
                ok=answer.output is not None,
                system=system,
                prompt=prompt,
                response=_response_text(last) if last is not None else "",
                error=answer.error,
                finish_reason=last.finish_reason if last is not None else None,
                cache_read_tokens=sum(
                    m.usage.cache_read_tokens for m in messages if isinstance(m, ModelResponse)
                ),
                learnings=learnings,
                started_at=started_at,
            )
        )


def _response_text(response: ModelResponse) -> str:
    """What the model sent back, as text: its words, or the arguments of the tools it called."""
    texts: list[str] = []
    for part in response.parts:
        if isinstance(part, TextPart):
            texts.append(part.content)
        elif isinstance(part, ToolCallPart):
            texts.append(f"{part.tool_name}({part.args_as_json_str()})")
    return "\n".join(texts)


def _with_attempts(usage: Usage, sent: int) -> Usage:
    """The call's usage with every HTTP attempt its SDK sent counted as a request (when the
    model speaks HTTP through one of our counting clients; local engines send none)."""
    if sent <= usage.requests:
        return usage
    return usage.model_copy(update={"requests": sent})


def _usage_of(messages: Sequence[ModelMessage]) -> Usage:
    """Sum the usage of every model response, the rejected ones included."""
    total = Usage()
    for message in messages:
        if isinstance(message, ModelResponse):
            total += Usage(
                requests=1,
                input_tokens=message.usage.input_tokens,
                output_tokens=message.usage.output_tokens,
            )
    return total


def _attempts_of(messages: Sequence[ModelMessage], tools: Sequence[Callable[..., Any]]) -> int:
    """How many tries at the final answer: one plus every output re-ask."""
    return 1 + len(output_retries(messages, _tool_names(tools)))


def _tool_names(tools: Sequence[Callable[..., Any]]) -> set[str]:
    return {getattr(tool, "__name__", "") for tool in tools}


def output_retries(messages: Sequence[ModelMessage], tool_names: Collection[str]) -> list[str]:
    """The error text of every re-ask about the answer, oldest first.

    Re-asks about a function tool's arguments are part of an agent's work, not a new attempt at
    the answer, so they are left out.
    """
    texts: list[str] = []
    for message in messages:
        if not isinstance(message, ModelRequest):
            continue
        for part in message.parts:
            if isinstance(part, RetryFeedbackPart | RetryPromptPart):
                if getattr(part, "tool_name", None) not in tool_names:
                    texts.append(error_text(part.content))
            elif (
                isinstance(part, ToolReturnPart)
                and part.outcome == "retried"
                and part.tool_name not in tool_names
            ):
                texts.append(error_text(part.content))
    return texts


def _describe_failure(
    exc: BaseException, messages: Sequence[ModelMessage], tools: Sequence[Callable[..., Any]]
) -> str:
    """One line that says why the model abstained, quoting the last validation error."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, UnexpectedModelBehavior):
        # The final attempt's error is the exception's cause; it never went back to the model.
        if exc.__cause__ is not None:
            text += f"; last error: {exc.__cause__}"
        elif retries := output_retries(messages, _tool_names(tools)):
            text += f"; last error: {retries[-1]}"
    return " ".join(text.split())[:_ERROR_CHARS]


def error_text(content: object) -> str:
    """Validation errors as ``loc: message (got value)``; other content as its text."""
    if isinstance(content, list) and all(isinstance(e, dict) and "msg" in e for e in content):
        return "; ".join(_one_error(error) for error in content)
    if isinstance(content, dict) and "error" in content:
        return error_text(content["error"])
    return str(content)


def _one_error(error: dict[str, Any]) -> str:
    where = ".".join(str(loc) for loc in error.get("loc", ())) or "<root>"
    text = f"{where}: {error['msg']}"
    value = error.get("input")
    if isinstance(value, str | int | float | bool) and error.get("type") != "missing":
        text += f" (got {value!r})"
    return text
