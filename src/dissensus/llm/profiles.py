"""Capabilities and list prices of well-known hosted models.

Prices are US dollars per million tokens at the providers' standard (non-batch, non-cached,
shortest-context) rates, as listed in ``genai-prices`` 0.2.3 (Pydantic's price database, which
pydantic-ai installs) and read in November 2026; they match the providers' pricing pages at that
time. Prices change: treat reported costs as estimates. A hosted model that is not listed here
costs 0 in reports and is assumed to call tools; pass ``profile=`` to ``open_model`` to say
otherwise.
"""

from __future__ import annotations

from dataclasses import replace

from dissensus.llm.base import ModelProfile

__all__ = ["HOSTED_PROFILES", "UNKNOWN_HOSTED_PROFILE", "hosted_profile"]


def _p(context: int, input_price: float, output_price: float) -> ModelProfile:
    return ModelProfile(
        supports_tools=True,
        context_tokens=context,
        input_price_per_mtok=input_price,
        output_price_per_mtok=output_price,
    )


HOSTED_PROFILES: dict[str, ModelProfile] = {
    # OpenAI
    "openai:gpt-4o-mini": _p(128_000, 0.15, 0.60),
    "openai:gpt-4o": _p(128_000, 2.50, 10.00),
    "openai:gpt-4.1-mini": _p(1_047_576, 0.40, 1.60),
    "openai:gpt-4.1-nano": _p(1_047_576, 0.10, 0.40),
    "openai:gpt-5-mini": _p(400_000, 0.25, 2.00),
    "openai:gpt-5-nano": _p(400_000, 0.05, 0.40),
    # Anthropic
    "anthropic:claude-3-5-haiku-latest": _p(200_000, 0.80, 4.00),
    "anthropic:claude-haiku-4-5": _p(200_000, 1.00, 5.00),
    "anthropic:claude-sonnet-4-5": _p(200_000, 3.00, 15.00),
    # Amazon Bedrock (us-east-1 on-demand)
    "bedrock:amazon.nova-micro-v1:0": _p(128_000, 0.035, 0.14),
    "bedrock:amazon.nova-lite-v1:0": _p(300_000, 0.06, 0.24),
    "bedrock:amazon.nova-pro-v1:0": _p(300_000, 0.80, 3.20),
    "bedrock:anthropic.claude-3-5-haiku-20241022-v1:0": _p(200_000, 0.80, 4.00),
}
"""Profiles by full model string."""

UNKNOWN_HOSTED_PROFILE = ModelProfile(supports_tools=True, context_tokens=128_000)
"""What an unlisted hosted model is assumed to be: tool-capable, 128k context, price unknown (0)."""


BATCH_DISCOUNT = 0.5
"""Bedrock's batch inference is listed at half the on-demand price per token."""


def hosted_profile(spec: str) -> ModelProfile:
    """The profile of a hosted model string, or :data:`UNKNOWN_HOSTED_PROFILE`.

    ``bedrock-batch:ID`` is ``bedrock:ID`` at the batch discount, gathering its evidence (a
    batch job answers once; there is no tool loop)."""
    provider, _, name = spec.partition(":")
    if provider == "bedrock-batch":
        on_demand = hosted_profile(f"bedrock:{name}")
        return replace(
            on_demand,
            supports_tools=False,
            input_price_per_mtok=on_demand.input_price_per_mtok * BATCH_DISCOUNT,
            output_price_per_mtok=on_demand.output_price_per_mtok * BATCH_DISCOUNT,
        )
    return HOSTED_PROFILES.get(spec, UNKNOWN_HOSTED_PROFILE)


FREE_PROVIDERS = frozenset({"local", "scripted"})
"""Providers whose calls cost nothing per token (in-process engines, test models)."""


def price_profile(spec: str) -> ModelProfile:
    """The prices of a model string without opening it (reports over stored calls)."""
    if spec.partition(":")[0] in FREE_PROVIDERS:
        return ModelProfile(supports_tools=False, context_tokens=0)
    return hosted_profile(spec)
