"""A scripted model for worker tests (kept small until ``dissensus.llm.testing`` is used)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel

from dissensus.domain import AttributeSpec, Learning, Product, Usage
from dissensus.llm.base import LLM, Answer, ModelProfile

T = TypeVar("T", bound=BaseModel)

CALL_USAGE = Usage(requests=1, input_tokens=100, output_tokens=20)


@dataclass
class Request:
    """What one ``structured`` call received."""

    system: str
    prompt: str
    output_type: type[BaseModel]
    max_tokens: int


Handler = Callable[[Request], BaseModel | dict[str, Any] | None]


class FakeLLM(LLM):
    """Answers with ``handler(request)``; ``None`` from the handler means the model abstained."""

    def __init__(self, name: str, handler: Handler, *, usage: Usage = CALL_USAGE) -> None:
        self.name = name
        self.profile = ModelProfile(supports_tools=False, context_tokens=8192)
        self.handler = handler
        self.usage = usage
        self.requests: list[Request] = []

    async def structured(
        self, output_type: type[T], *, system: str, prompt: str, max_tokens: int = 256
    ) -> Answer[T]:
        request = Request(system, prompt, output_type, max_tokens)
        self.requests.append(request)
        out = self.handler(request)
        if out is None:
            return Answer(
                model=self.name,
                output=None,
                usage=self.usage,
                attempts=2,
                error="output invalid after repair",
            )
        return Answer(model=self.name, output=output_type.model_validate(out), usage=self.usage)

    async def agent(
        self,
        output_type: type[T],
        *,
        system: str,
        prompt: str,
        tools: Sequence[Callable[..., Any]],
        max_tokens: int = 1024,
    ) -> Answer[T]:
        raise NotImplementedError("workers never run agents")


@pytest.fixture
def shoe() -> Product:
    return Product(
        id="p1",
        title="Fila Men's Hometown Extra-M, Black/White/Vintage Red, 10 M US",
        category="Shoes",
    )


@pytest.fixture
def shoe_attributes() -> list[AttributeSpec]:
    return [
        AttributeSpec(name="Brand", description="The maker of the shoe."),
        AttributeSpec(name="Model name"),
        AttributeSpec(name="Gender", values=["Men's", "Women's", "Unisex"]),
        AttributeSpec(name="Color", description="Colour(s) as written."),
    ]


@pytest.fixture
def learnings() -> list[Learning]:
    return [
        Learning(
            id="L-brand-1",
            node="/shoes",
            attributes=["Brand"],
            text="The brand is the first words of the title.",
            example="'Diesel Men's Exposure Sneaker' -> Brand: Diesel",
        ),
        Learning(id="L-old", node="/shoes", text="Deprecated advice.", status="deprecated"),
        Learning(id="L-color-2", node="/", attributes=["Color"], text="Keep slashes in colours."),
    ]
