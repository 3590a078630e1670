"""The contract every model speaks to the rest of dissensus.

Rooms outside ``llm/`` never see pydantic-ai, xllamacpp or a provider SDK: they hold an
:class:`LLM` and ask it for a typed answer. That keeps the generator/evaluator/supervisor code the
same whether the model is a 270M GGUF file in-process or a hosted frontier model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from dissensus.domain.usage import Usage

__all__ = ["LLM", "Answer", "ModelProfile"]

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """What a model can do and what it costs; the pipeline adapts to it."""

    supports_tools: bool
    """False for tiny local models: the supervisor then gathers tool results up front."""
    context_tokens: int
    input_price_per_mtok: float = 0.0
    """US dollars per million input tokens (0 for local models)."""
    output_price_per_mtok: float = 0.0

    def cost(self, usage: Usage) -> float:
        return (
            usage.input_tokens * self.input_price_per_mtok
            + usage.output_tokens * self.output_price_per_mtok
        ) / 1_000_000


@dataclass(slots=True)
class Answer(Generic[T]):
    """A typed model answer, or an abstention after the bounded repair attempt."""

    model: str
    output: T | None
    """``None`` when the model abstained (output stayed invalid, or the call failed)."""
    usage: Usage = field(default_factory=Usage)
    """Summed over every attempt, including the failed ones."""
    attempts: int = 1
    error: str | None = None

    @property
    def abstained(self) -> bool:
        return self.output is None


class LLM(ABC):
    """A model that returns validated, typed output."""

    name: str
    """The model string it was opened with (``local:gemma3-270m``, ``openai:gpt-4o-mini``)."""
    profile: ModelProfile

    @abstractmethod
    async def structured(
        self,
        output_type: type[T],
        *,
        system: str,
        prompt: str,
        max_tokens: int = 256,
    ) -> Answer[T]:
        """Ask for one object of ``output_type`` (constrained decoding where the backend has it).

        A validation failure gets one re-ask that quotes the error; if that fails too, the
        answer abstains (``output is None``) instead of raising, because an abstention is a
        disagreement signal, not a crash.
        """

    @abstractmethod
    async def agent(
        self,
        output_type: type[T],
        *,
        system: str,
        prompt: str,
        tools: Sequence[Callable[..., Any]],
        max_tokens: int = 1024,
    ) -> Answer[T]:
        """Run a tool-using agent to an answer of ``output_type``.

        Tools are plain functions with typed parameters and docstrings (the docstring is the
        tool description). Only call this when ``profile.supports_tools`` is true.
        """

    def instrument(self, tracer_provider: Any, *, content: bool = False) -> None:  # noqa: B027
        """Send this model's calls as OpenTelemetry spans to ``tracer_provider`` (``None``: off).

        Optional: a model that cannot be traced ignores it and its calls are still logged.
        """

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release engines or connections; the pool calls it once at shutdown."""
