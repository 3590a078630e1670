"""Per-product pipeline observations, folded into pass and window statistics."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dissensus.bench.results import PassStats, WindowStats
from dissensus.llm import ModelProfile
from dissensus.pipeline import ProductOutcome

__all__ = ["Observation", "observe", "pass_stats", "windows"]


@dataclass(frozen=True, slots=True)
class Observation:
    """What one product cost and whether it was disputed (no values, no labels)."""

    category: str
    error: bool
    disputed: bool
    supervisor_called: bool
    learnings_added: int
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    finished: float
    """Clock reading when the product was committed."""
    disputed_attributes: int = 0
    """Attributes sent to the supervisor."""
    routed_attributes: int = 0
    """Lone values settled as absent by a route instead (``consensus.routes``)."""
    tokens_by_role: tuple[tuple[str, int], ...] = ()
    seconds_by_role: tuple[tuple[str, float], ...] = ()
    """Model-seconds per role: each call's latency (workers of one product share the team's)."""


def observe(
    category: str,
    outcome: ProductOutcome,
    profile: Callable[[str], ModelProfile],
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> Observation:
    """Record one product's outcome.

    Args:
        profile: Each model's capabilities and prices, by model string.
        clock: Time source for ``finished`` (the stream's clock pauses during evaluations).
    """
    usage = outcome.usage
    cost = sum(profile(call.model).cost(call.usage) for call in outcome.calls)
    tokens: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for call in outcome.calls:
        role = _role(call.role)
        tokens[role] = tokens.get(role, 0) + call.usage.input_tokens + call.usage.output_tokens
        seconds[role] = seconds.get(role, 0.0) + call.latency_s
    return Observation(
        category=category,
        error=outcome.record.error is not None,
        disputed=bool(outcome.disputed),
        supervisor_called=outcome.supervisor_called,
        learnings_added=len(outcome.learnings_added),
        requests=usage.requests,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=cost,
        finished=clock(),
        disputed_attributes=len(outcome.disputed),
        routed_attributes=len(outcome.routed),
        tokens_by_role=tuple(sorted(tokens.items())),
        seconds_by_role=tuple(sorted(seconds.items())),
    )


def _role(stage: str) -> str:
    """Generators are one role for cost purposes (``generator-a``, ``generator-b`` → workers);
    calls made for a purpose are that purpose's (``gate:generator-a`` → gate)."""
    if ":" in stage:
        return stage.partition(":")[0]
    return "workers" if stage.startswith("generator") or stage == "evaluator" else stage


def pass_stats(items: Sequence[Observation], *, wall_seconds: float = 0.0) -> PassStats:
    """Fold observations into disagreement, supervisor, learning, token and cost figures."""
    ok = [o for o in items if not o.error]
    n = len(ok)
    by_cat: dict[str, list[Observation]] = {}
    for o in ok:
        by_cat.setdefault(o.category, []).append(o)
    disputed = sum(o.disputed for o in ok)
    tokens = sum(o.input_tokens + o.output_tokens for o in items)
    cost = sum(o.cost_usd for o in items)
    role_tokens: dict[str, int] = {}
    role_seconds: dict[str, float] = {}
    for o in items:
        for role, t in o.tokens_by_role:
            role_tokens[role] = role_tokens.get(role, 0) + t
        for role, sec in o.seconds_by_role:
            role_seconds[role] = role_seconds.get(role, 0.0) + sec
    count = len(items) or 1
    return PassStats(
        products=n,
        disputed_products=disputed,
        disagreement_rate=round(disputed / n, 4) if n else 0.0,
        disagreement_by_category={
            c: round(sum(o.disputed for o in v) / len(v), 4) for c, v in sorted(by_cat.items())
        },
        products_by_category={c: len(v) for c, v in sorted(by_cat.items())},
        supervisor_calls=sum(o.supervisor_called for o in items),
        disputed_attributes=sum(o.disputed_attributes for o in items),
        routed_attributes=sum(o.routed_attributes for o in items),
        learnings_added=sum(o.learnings_added for o in items),
        model_requests=sum(o.requests for o in items),
        input_tokens=sum(o.input_tokens for o in items),
        output_tokens=sum(o.output_tokens for o in items),
        tokens_per_product=round(tokens / len(items), 1) if items else 0.0,
        cost_usd=round(cost, 6),
        cost_per_product_usd=round(cost / len(items), 8) if items else 0.0,
        errors=len(items) - n,
        wall_seconds=round(wall_seconds, 2),
        model_seconds_per_product=round(sum(role_seconds.values()) / count, 3),
        tokens_per_product_by_role={r: round(t / count, 1) for r, t in sorted(role_tokens.items())},
        model_seconds_per_product_by_role={
            r: round(sec / count, 3) for r, sec in sorted(role_seconds.items())
        },
    )


def windows(items: Sequence[Observation], size: int, *, started: float) -> list[WindowStats]:
    """Cut observations (in processing order) into windows of ``size`` products.

    Args:
        started: The clock at the stream's start; a window's wall time runs from the previous
            window's last product to its own last one.
    """
    result: list[WindowStats] = []
    previous = started
    for index, start in enumerate(range(0, len(items), size)):
        chunk = items[start : start + size]
        stats = pass_stats(chunk, wall_seconds=chunk[-1].finished - previous)
        previous = chunk[-1].finished
        result.append(
            WindowStats(index=index, start=start, end=start + len(chunk), **stats.model_dump())
        )
    return result
