"""Model strings to models: ``open_model("local:gemma3-270m")``, a pool that opens each once.

A model string is ``provider:name``:

============  ==================================================================================
``local:``    embedded llama.cpp: ``gemma3-270m``, ``smollm2-135m`` or ``/abs/path/model.gguf``
``openai:``   OpenAI (``OPENAI_API_KEY``), or any OpenAI-compatible server — vLLM, Ollama,
              llama-server — with ``base_url=`` or ``$OPENAI_BASE_URL``
``anthropic:`` Anthropic Messages API (``ANTHROPIC_API_KEY``; extra ``anthropic``)
``bedrock:``  Amazon Bedrock Converse API (AWS credentials and region; extra ``bedrock``)
``bedrock-batch:`` Amazon Bedrock batch inference jobs through S3 (settings ``bedrock_batch``;
              extra ``bedrock``; see :mod:`dissensus.llm.bedrock_batch`)
``scripted:`` offline scripted models for tests and demos: ``echo``, ``abstain``
============  ==================================================================================
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, get_args

from pydantic_ai.exceptions import UserError

from dissensus.errors import ConfigError, MissingExtraError
from dissensus.llm._http import counting_client
from dissensus.llm._pydantic_ai import OutputMode, PydanticAILLM
from dissensus.llm.base import LLM, ModelProfile
from dissensus.llm.bedrock_batch import BatchOptions, open_bedrock_batch
from dissensus.llm.local import LOCAL_MODELS, EngineOptions, local_models_dir, open_local
from dissensus.llm.profiles import HOSTED_PROFILES, hosted_profile

__all__ = [
    "PROVIDERS",
    "ModelInfo",
    "ModelPool",
    "Provider",
    "list_models",
    "open_model",
    "parse_model_string",
]

Provider = Literal["local", "openai", "anthropic", "bedrock", "bedrock-batch", "scripted"]
PROVIDERS: tuple[Provider, ...] = get_args(Provider)

ANTHROPIC_API_VERSION = "2023-06-01"
"""The Messages API version ``anthropic:`` models are asked with: the one that accepts
``temperature`` (2026-10-21 rejects every sampling setting)."""


def parse_model_string(spec: str) -> tuple[Provider, str]:
    """Split ``provider:name`` (only at the first colon: Bedrock ids contain colons).

    Raises:
        ConfigError: no provider prefix, an unknown one, or an empty name.
    """
    provider, sep, name = spec.partition(":")
    valid = ", ".join(f"{p}:" for p in PROVIDERS)
    if not sep or not name:
        raise ConfigError(
            f"model {spec!r} must look like provider:name, with provider one of {valid}"
        )
    for known in PROVIDERS:
        if provider == known:
            return known, name
    raise ConfigError(f"model {spec!r} has unknown provider {provider!r}; use one of {valid}")


def open_model(
    spec: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    profile: ModelProfile | None = None,
    engine: EngineOptions | None = None,
    http_client: Any = None,
    bedrock_client: Any = None,
    region: str | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    batch: BatchOptions | Mapping[str, Any] | None = None,
    s3_client: Any = None,
) -> LLM:
    """Open a model by its model string; the caller closes it with ``await llm.aclose()``.

    Args:
        spec: ``provider:name`` (see the module docstring).
        base_url: ``openai:`` only: an OpenAI-compatible server (``http://localhost:8000/v1``);
            defaults to ``$OPENAI_BASE_URL``. Other providers ignore it, so a pool can pass
            ``settings.openai_base_url`` to every model it opens.
        api_key: Overrides the provider's environment variable. A ``base_url`` server without
            a key gets a placeholder, since vLLM and Ollama accept any.
        profile: Capabilities and prices, for models the built-in table does not know.
        engine: ``local:`` only: slots, context and threads of the embedded engine.
        http_client: ``openai:``/``anthropic:``: an ``httpx2.AsyncClient`` to send requests with
            (tests pass one with a mock transport).
        bedrock_client: ``bedrock:``: a boto3 ``bedrock-runtime`` client (tests pass a stubbed one).
        region: ``bedrock:``: AWS region; defaults to the AWS configuration.
        timeout: ``openai:``/``anthropic:``: seconds one HTTP request may take (the SDKs wait
            600 s by default, which lets a hung server hold a slot for half an hour).
        retries: ``openai:``/``anthropic:``: retries of a failed request, with the SDK's
            backoff with jitter; 429 answers honour ``Retry-After``.
        batch: ``bedrock-batch:``: the bucket, role and job sizes (settings ``bedrock_batch``).
        s3_client: ``bedrock-batch:``: a boto3 ``s3`` client (``bedrock_client`` is then the
            ``bedrock`` control-plane client); tests pass clients of their own.

    Raises:
        ConfigError: unknown provider or model, or missing credentials.
        MissingExtraError: the provider's SDK, the engine or the weights are not installed.
    """
    provider, name = parse_model_string(spec)
    if provider == "local":
        llm: LLM = open_local(name, options=engine)
        if profile is not None:
            llm.profile = profile
        return llm
    if provider == "scripted":
        return _open_scripted(spec, name, profile)
    if provider == "openai":
        return _open_openai(
            spec, name, base_url, api_key, profile, http_client, timeout=timeout, retries=retries
        )
    if provider == "anthropic":
        return _open_anthropic(
            spec, name, api_key, profile, http_client, timeout=timeout, retries=retries
        )
    if provider == "bedrock":
        return _open_bedrock(spec, name, profile, bedrock_client, region)
    if provider == "bedrock-batch":
        if importlib.util.find_spec("boto3") is None and (
            bedrock_client is None or s3_client is None
        ):
            raise MissingExtraError("bedrock", f"model {spec!r}")
        return open_bedrock_batch(
            spec,
            name,
            profile or hosted_profile(spec),
            batch,
            bedrock_client=bedrock_client,
            s3_client=s3_client,
            region=region,
        )
    raise AssertionError(provider)  # pragma: no cover - parse_model_string closed the set


def _open_scripted(spec: str, name: str, profile: ModelProfile | None) -> LLM:
    from dissensus.llm.testing import SCRIPTED_MODELS, SCRIPTED_PROFILE, ScriptedLLM

    handler = SCRIPTED_MODELS.get(name)
    if handler is None:
        known = ", ".join(f"scripted:{n}" for n in SCRIPTED_MODELS)
        raise ConfigError(f"unknown scripted model {spec!r}; built in: {known}")
    return ScriptedLLM(spec, handler, profile=profile or SCRIPTED_PROFILE)


def _open_openai(
    spec: str,
    name: str,
    base_url: str | None,
    api_key: str | None,
    profile: ModelProfile | None,
    http_client: Any,
    *,
    timeout: float | None = None,
    retries: int | None = None,
) -> LLM:
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    api_key = api_key or os.environ.get("OPENAI_API_KEY")
    if not api_key:
        if base_url is None:
            raise ConfigError(
                f"model {spec!r} needs an API key: set OPENAI_API_KEY, or pass base_url "
                "(or set OPENAI_BASE_URL) for an OpenAI-compatible server"
            )
        api_key = "not-needed"  # vLLM, Ollama and llama-server accept any key
    from openai import AsyncOpenAI

    # Our own HTTP client counts every attempt the SDK makes (see dissensus.llm._http).
    client = AsyncOpenAI(
        base_url=base_url,
        api_key=api_key,
        http_client=http_client or counting_client(timeout),
        **_sdk_limits(timeout, retries),
    )
    provider = OpenAIProvider(openai_client=client)
    model = OpenAIChatModel(name, provider=provider)
    # JSON-schema response formats are what OpenAI, vLLM and llama-server constrain decoding
    # with; small self-hosted models also fail more often at tool-call output.
    return _wrap(spec, model, profile or hosted_profile(spec), "native", provider)


def _sdk_limits(timeout: float | None, retries: int | None) -> dict[str, Any]:
    """The OpenAI and Anthropic SDKs' own timeout and retry options, where they are set."""
    limits: dict[str, Any] = {}
    if timeout is not None:
        limits["timeout"] = timeout
    if retries is not None:
        limits["max_retries"] = retries
    return limits


def _open_anthropic(
    spec: str,
    name: str,
    api_key: str | None,
    profile: ModelProfile | None,
    http_client: Any,
    *,
    timeout: float | None = None,
    retries: int | None = None,
) -> LLM:
    if importlib.util.find_spec("anthropic") is None:
        raise MissingExtraError("anthropic", f"model {spec!r}")
    from anthropic import AsyncAnthropic
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    try:
        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise UserError("no key")
        # anthropic>=2 asks for API version 2026-10-21 by default, which rejects `temperature`
        # on every model; our calls decode greedily (temperature 0) so that a rerun asks and
        # answers the same, so we keep the version that accepts it.
        client = AsyncAnthropic(
            api_key=key,
            http_client=http_client,
            default_headers={"anthropic-version": ANTHROPIC_API_VERSION},
            **_sdk_limits(timeout, retries),
        )
        provider = AnthropicProvider(anthropic_client=client)
    except UserError as exc:
        raise ConfigError(f"model {spec!r} needs an API key: set ANTHROPIC_API_KEY") from exc
    model = AnthropicModel(name, provider=provider)
    # A forced output tool works on every Claude model; native JSON output does not (yet).
    return _wrap(spec, model, profile or hosted_profile(spec), "tool", provider)


def _open_bedrock(
    spec: str,
    name: str,
    profile: ModelProfile | None,
    bedrock_client: Any,
    region: str | None,
) -> LLM:
    if importlib.util.find_spec("boto3") is None:
        raise MissingExtraError("bedrock", f"model {spec!r}")
    from pydantic_ai.models.bedrock import BedrockConverseModel
    from pydantic_ai.providers.bedrock import BedrockProvider

    try:
        provider = (
            BedrockProvider(bedrock_client=bedrock_client)
            if bedrock_client is not None
            else BedrockProvider(region_name=region)
        )
    except UserError as exc:
        raise ConfigError(
            f"model {spec!r} needs an AWS region: set AWS_DEFAULT_REGION or pass region="
        ) from exc
    model = BedrockConverseModel(name, provider=provider)
    # Converse's tool use is uniform across Bedrock's model families; JSON output is not.
    return _wrap(spec, model, profile or hosted_profile(spec), "tool", None)


def _wrap(
    spec: str, model: Any, profile: ModelProfile, mode: OutputMode, provider: Any
) -> PydanticAILLM:
    async def close() -> None:
        # Providers that created their own HTTP client hold it open; SDK clients close with it.
        client = getattr(provider, "client", None)
        closer = getattr(client, "close", None)
        if closer is not None:
            await closer()

    return PydanticAILLM(spec, model, profile, output_mode=mode, on_close=close)


class ModelPool:
    """Opens each model string once and closes them all; a run's source of models.

    Example::

        async with ModelPool() as pool:
            generator = pool.get("local:gemma3-270m")
            evaluator = pool.get("local:gemma3-270m")  # the same object

    Args:
        opener: How a model string becomes a model (default :func:`open_model`).
        per_model: Options for one model string or one provider (``"openai"``), over
            ``options``; the model string's win over its provider's.
        **options: Passed to the opener for every model (``base_url=...``).
    """

    def __init__(
        self,
        *,
        opener: Callable[..., LLM] = open_model,
        per_model: Mapping[str, Mapping[str, Any]] | None = None,
        **options: Any,
    ) -> None:
        self._opener = opener
        self._options = options
        self._per_model = dict(per_model or {})
        self._models: dict[str, LLM] = {}
        self._tracing: tuple[Any, bool] | None = None

    def instrument(self, tracer_provider: Any, *, content: bool = False) -> None:
        """Trace every model of the pool, those opened later included (``None``: stop)."""
        self._tracing = (tracer_provider, content) if tracer_provider is not None else None
        for model in self._models.values():
            model.instrument(tracer_provider, content=content)

    def _traced(self, model: LLM) -> LLM:
        if self._tracing is not None:
            model.instrument(self._tracing[0], content=self._tracing[1])
        return model

    def options_for(self, spec: str) -> dict[str, Any]:
        """The options ``spec`` is opened with: the pool's, its provider's, its own."""
        provider = spec.partition(":")[0]
        return {
            **self._options,
            **self._per_model.get(provider, {}),
            **self._per_model.get(spec, {}),
        }

    def get(self, spec: str) -> LLM:
        """The model for ``spec``, opened on first use."""
        model = self._models.get(spec)
        if model is None:
            opened = self._opener(spec, **self.options_for(spec))
            model = self._models[spec] = self._traced(opened)
        return model

    __call__ = get

    def add(self, model: LLM) -> LLM:
        """Register a ready model under its name (tests put scripted models in a pool)."""
        self._models[model.name] = self._traced(model)
        return model

    def __contains__(self, spec: object) -> bool:
        return spec in self._models

    def __len__(self) -> int:
        return len(self._models)

    async def aclose(self) -> None:
        """Close every model opened through the pool."""
        models, self._models = list(self._models.values()), {}
        for model in models:
            await model.aclose()

    async def __aenter__(self) -> ModelPool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One row of ``dissensus models``."""

    name: str
    """Model string (``local:gemma3-270m``)."""
    provider: Provider
    installed: bool
    """Its SDK, engine or weights package is importable."""
    available: bool
    """Installed and, for hosted models, credentials are configured (not checked online)."""
    supports_tools: bool
    context_tokens: int
    input_price_per_mtok: float
    output_price_per_mtok: float
    path: Path | None = None
    """The GGUF file of a local model (Gemma's appears once assembled on first use)."""
    description: str = ""


def list_models() -> list[ModelInfo]:
    """Every model dissensus knows by name, with what is needed to use it; nothing is loaded."""
    from dissensus.llm.testing import SCRIPTED_MODELS, SCRIPTED_PROFILE

    rows: list[ModelInfo] = []
    for local in LOCAL_MODELS.values():
        installed = local.installed()
        rows.append(
            ModelInfo(
                name=f"local:{local.name}",
                provider="local",
                installed=installed,
                available=installed,
                supports_tools=False,
                context_tokens=local.context_tokens,
                input_price_per_mtok=0.0,
                output_price_per_mtok=0.0,
                path=_local_path_hint(local.name) if installed else None,
                description=local.description + ("" if installed else f" — {local.install}"),
            )
        )
    for spec, profile in HOSTED_PROFILES.items():
        provider, _ = parse_model_string(spec)
        installed, available = _hosted_status(provider)
        rows.append(
            ModelInfo(
                name=spec,
                provider=provider,
                installed=installed,
                available=available,
                supports_tools=profile.supports_tools,
                context_tokens=profile.context_tokens,
                input_price_per_mtok=profile.input_price_per_mtok,
                output_price_per_mtok=profile.output_price_per_mtok,
            )
        )
    for name in SCRIPTED_MODELS:
        rows.append(
            ModelInfo(
                name=f"scripted:{name}",
                provider="scripted",
                installed=True,
                available=True,
                supports_tools=SCRIPTED_PROFILE.supports_tools,
                context_tokens=SCRIPTED_PROFILE.context_tokens,
                input_price_per_mtok=0.0,
                output_price_per_mtok=0.0,
                description="offline scripted model for tests and demos",
            )
        )
    return rows


def _local_path_hint(name: str) -> Path | None:
    """Where the GGUF file is or will be, without assembling it."""
    if name == "gemma3-270m":
        return local_models_dir() / "gemma-3-270m-q4_k_m.gguf"
    model = LOCAL_MODELS.get(name)
    if model is not None and model.chunks is not None:
        return local_models_dir() / model.chunks.filename
    from dissensus.llm.local import resolve_local_path

    return resolve_local_path(name)


def _hosted_status(provider: Provider) -> tuple[bool, bool]:
    """(SDK installed, credentials configured) from the environment alone — no network."""
    if provider == "openai":
        installed = importlib.util.find_spec("openai") is not None
        return installed, installed and bool(
            os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL")
        )
    if provider == "anthropic":
        installed = importlib.util.find_spec("anthropic") is not None
        return installed, installed and bool(os.environ.get("ANTHROPIC_API_KEY"))
    if provider == "bedrock":
        installed = importlib.util.find_spec("boto3") is not None
        credentials = (
            any(
                os.environ.get(var)
                for var in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK")
            )
            or (Path.home() / ".aws" / "credentials").exists()
        )
        return installed, installed and credentials
    return True, True
