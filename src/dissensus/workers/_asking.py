"""One structured call of a worker, turned into its record whatever happens.

Generators and evaluators differ in prompt and output, not in how a call can end: an answer,
a model error, or no valid answer within the budget. The latter two make the worker abstain
(its vote is missing, never wrong), keeping the error text and the tokens it cost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from dissensus.errors import ModelError
from dissensus.llm import calling_as
from dissensus.llm.base import LLM

__all__ = ["ask_into"]

R = TypeVar("R", bound=BaseModel)


async def ask_into(
    base: R,
    llm: LLM,
    output_type: type[BaseModel],
    *,
    system: str,
    prompt: str,
    max_tokens: int,
    read: Callable[[Any], dict[str, Any]],
    role: str,
    shown: Sequence[str] = (),
) -> R:
    """Ask ``llm`` and return ``base`` updated with ``read(answer)``, or as an abstention.

    ``base`` is an :class:`~dissensus.domain.Extraction` or :class:`~dissensus.domain.Evaluation`
    with its identity filled in; ``read`` maps the decoded answer to the fields it fills.
    ``role`` and ``shown`` (learned examples in the prompt, besides ``base.learnings``) go to the
    call log.
    """
    learnings = [*getattr(base, "learnings", []), *shown]
    try:
        with calling_as(role, list(dict.fromkeys(learnings))):
            answer = await llm.structured(
                output_type, system=system, prompt=prompt, max_tokens=max_tokens
            )
    except ModelError as exc:
        return base.model_copy(update={"abstained": True, "error": str(exc)})
    if answer.output is None:
        return base.model_copy(
            update={
                "abstained": True,
                "error": answer.error or "the model gave no valid answer",
                "usage": answer.usage,
            }
        )
    return base.model_copy(
        update={**read(answer.output), "usage": answer.usage, "error": answer.error}
    )
