"""The raw-engine arm: the workers' exact requests, sent straight to llama.cpp.

Requests are built by the workers' own code (a :class:`Generator` or :class:`Evaluator` whose
model only records what it is asked), so prompts, output schemas and token caps cannot drift
from what the pipeline sends; each then goes to :meth:`LocalEngine.chat` as the body a
:class:`LocalLLM` would send, with no pydantic-ai, HTTP, consensus or storage in between.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dissensus.domain import AttributeSpec, Extraction, Product
from dissensus.llm.base import LLM, Answer
from dissensus.llm.local import LocalLLM, chat_request
from dissensus.workers import Evaluator, Generator, WorkerTeam, read_values

__all__ = ["RawRun", "run_raw"]

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class _Request:
    output_type: type[BaseModel]
    system: str
    prompt: str
    max_tokens: int


class _Recorder(LLM):
    """Records the one request a worker makes and abstains, so the worker returns at once."""

    def __init__(self, real: LLM) -> None:
        self.name = real.name
        self.profile = real.profile
        self.request: _Request | None = None

    async def structured(
        self, output_type: type[T], *, system: str, prompt: str, max_tokens: int = 256
    ) -> Answer[T]:
        self.request = _Request(output_type, system, prompt, max_tokens)
        return Answer(model=self.name, output=None, error="recorded")

    async def agent(  # pragma: no cover - workers never use tools
        self, output_type: type[T], *, system: str, prompt: str, tools: Any, max_tokens: int = 1024
    ) -> Answer[T]:
        raise NotImplementedError("workers do not call agent()")


def _with_recorder(worker: Generator | Evaluator) -> tuple[Any, _Recorder]:
    # A shallow copy shares prompts style, spans and caps with the real worker; only the model
    # is swapped, so concurrent products never share a recorder.
    clone = copy.copy(worker)
    recorder = _Recorder(worker.llm)
    clone.llm = recorder
    return clone, recorder


@dataclass(slots=True)
class RawRun:
    """What the raw arm saw: per product, whether each call gave a valid answer."""

    calls: int = 0
    invalid: int = 0
    """Answers that failed validation (the pipeline would re-ask; the raw arm does not)."""
    skipped_evaluations: int = 0
    """Products whose generators all failed, so the evaluator had nothing to judge."""


async def run_raw(
    llm: LocalLLM,
    team: WorkerTeam,
    products: Sequence[Product],
    attributes_of: Callable[[Product], list[AttributeSpec]],
    *,
    slots: int,
) -> RawRun:
    """Send every product's worker requests to the engine, at most ``slots`` at a time.

    Per product the data flow is the team's (generators at once, then the evaluator on their
    proposals); across products nothing waits for a batch, so the slots stay full: the ceiling
    the pipeline is measured against.
    """
    gate = asyncio.Semaphore(slots)
    run = RawRun()
    model_name = getattr(llm.model, "model_name", llm.name)

    async def send(request: _Request) -> BaseModel | None:
        body = chat_request(
            model=model_name,
            system=request.system,
            prompt=request.prompt,
            schema=request.output_type.model_json_schema(by_alias=True),
            max_tokens=request.max_tokens,
        )
        async with gate:
            result = await llm.engine.chat(body)
        run.calls += 1
        try:
            content = result["choices"][0]["message"]["content"]
            return request.output_type.model_validate_json(content)
        except (KeyError, IndexError, TypeError, ValidationError):
            run.invalid += 1
            return None

    async def extract(generator: Generator, product: Product) -> Extraction:
        attributes = attributes_of(product)
        clone, recorder = _with_recorder(generator)
        await clone.extract(product, attributes, [])
        assert recorder.request is not None
        output = await send(recorder.request)
        if output is None:
            return Extraction(model=llm.name, role=generator.role, abstained=True)
        return Extraction(
            model=llm.name, role=generator.role, values=read_values(output, attributes)
        )

    async def one(product: Product) -> None:
        extractions = await asyncio.gather(*(extract(g, product) for g in team.generators))
        if team.evaluator is None:
            return
        clone, recorder = _with_recorder(team.evaluator)
        await clone.evaluate(product, attributes_of(product), extractions, [])
        if recorder.request is None:
            run.skipped_evaluations += 1
            return
        await send(recorder.request)

    await asyncio.gather(*(one(p) for p in products))
    return run
