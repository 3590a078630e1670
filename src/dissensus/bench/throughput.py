"""``dissensus bench throughput``: the pipeline's speed against the raw engine it runs on.

One invocation runs, for each product order (categories ``interleaved`` or ``grouped``):

* **raw** — the workers' exact requests (same prompts, schemas as grammar, token caps) sent
  straight to the local engine, at most ``parallel`` at once and never waiting for a batch;
* **pipeline** — :class:`~dissensus.pipeline.Runner` on the same products and model: validation,
  batching by category, consensus, storage, one transaction per product.

What is compared, and why: both arms make the same model calls — two generators (``direct`` and
``evidence``) and the evaluator per product, with no learnings in the prompts. The supervisor
and memory manager would add calls the raw arm has no equivalent of, so the pipeline's
supervisor is the instant ``scripted:echo`` model and learning is off; disputes are still
counted. Each arm gets a freshly loaded engine (an empty prefix cache) that is loaded before
the clock starts. The engine's own counters (llama.cpp ``timings``) give calls, tokens and the
prompt-prefix cache hit ratio (cached prompt tokens / prompt tokens) of each arm.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import resource
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, computed_field

from dissensus.bench._raw_engine import run_raw
from dissensus.bench._throughput_data import (
    Order,
    grouped,
    interleaved,
    load_catalog,
    load_oa_mine,
    ordered,
)
from dissensus.config import GeneratorConfig, Settings, TracingSettings
from dissensus.domain import CatalogSchema, Product
from dissensus.errors import ConfigError
from dissensus.llm import EngineOptions, ModelPool, open_model, parse_model_string
from dissensus.llm.base import LLM
from dissensus.llm.local import EngineStats, LocalLLM, open_local
from dissensus.observability.tracing import Tracing
from dissensus.pipeline import Runner, RunRequest
from dissensus.storage import Database
from dissensus.workers import Evaluator, Generator, WorkerTeam

__all__ = [
    "ORDERS",
    "TARGET_RATIO",
    "Arm",
    "LocalOpener",
    "Order",
    "PhaseResult",
    "ThroughputConfig",
    "ThroughputReport",
    "grouped",
    "interleaved",
    "load_catalog",
    "load_oa_mine",
    "run_throughput",
    "select_products",
    "write_report",
]

ORDERS: tuple[Order, ...] = ("interleaved", "grouped")

TARGET_RATIO = 0.90
"""The pipeline should keep at least this share of the raw engine's products per second."""

LocalOpener = Callable[[str, EngineOptions], LocalLLM]
"""Opens a ``local:`` model string on an engine with these options (tests pass a fake engine)."""

Arm = Literal["raw", "pipeline"]
"""``raw``: the workers' requests straight to the engine; ``pipeline``: the Runner."""


class ThroughputConfig(BaseModel):
    """What one throughput run measures; written to ``throughput.json`` as is."""

    model: str = "local:gemma3-270m"
    """The local model every worker runs on."""
    parallel: int = Field(default=4, ge=1)
    """Engine slots; also the pipeline's products in flight and the raw arm's calls in flight."""
    threads: int = Field(default=0, ge=0)
    """llama.cpp threads (0: the engine's default, see ``EngineOptions.thread_count``)."""
    evaluator: bool = True
    """Run the critical evaluator after the generators (in both arms)."""
    evaluator_reason_chars: int = 40
    batch_size: int = 8
    """The pipeline's category batch size."""
    orders: list[Order] = Field(default_factory=lambda: list(ORDERS))
    supervisor: str = "scripted:echo"
    """Instant, so the pipeline makes the raw arm's model calls and no more (see module doc)."""
    trace_endpoint: str | None = None
    """OTLP/HTTP traces URL: the pipeline arm sends its spans there (the cost of tracing)."""

    def settings(self, home: Path) -> Settings:
        """The run settings both arms build their workers from."""
        return Settings(
            generators=[
                GeneratorConfig(model=self.model, style="direct"),
                GeneratorConfig(model=self.model, style="evidence"),
            ],
            evaluator=self.model if self.evaluator else None,
            evaluator_reason_chars=self.evaluator_reason_chars,
            supervisor=self.supervisor,
            learning=False,
            use_knowledge=False,
            batch_size=self.batch_size,
            concurrency=self.parallel,
            home=home,
        )

    def engine_options(self) -> EngineOptions:
        return EngineOptions(parallel=self.parallel, threads=self.threads)


class PhaseResult(BaseModel):
    """One arm on one product order."""

    arm: Arm
    order: Order
    products: int
    wall_seconds: float
    """From the first request to the last answer (the engine was loaded before)."""
    model_calls: int
    failed_calls: int = 0
    prompt_tokens: int
    """All prompt tokens, cached ones included."""
    cached_tokens: int
    completion_tokens: int
    prompt_seconds: float = 0.0
    """Time llama.cpp spent evaluating uncached prompt tokens, summed over calls (they overlap
    in parallel slots): with ``completion_seconds``, where the engine's time went."""
    completion_seconds: float = 0.0
    """Time spent generating, summed over calls."""
    slots: int = 1
    """Engine slots (``parallel``)."""
    busy_seconds: float = 0.0
    """Time calls spent inside the engine, summed over calls."""
    cpu_seconds: float = 0.0
    """CPU time of this process (all threads) during the phase: on a shared machine, how much
    of it this run actually got."""
    load_before: float = 0.0
    """One-minute load average when the phase started."""
    load_after: float = 0.0
    invalid_answers: int = 0
    """Raw arm: answers that failed validation (the pipeline re-asks those)."""
    disputed_products: int = 0
    """Pipeline: products consensus sent to the (scripted) supervisor."""
    errors: int = 0
    """Pipeline: products that ended with an error line."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def products_per_second(self) -> float:
        return _per_second(self.products, self.wall_seconds)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def calls_per_second(self) -> float:
        return _per_second(self.model_calls, self.wall_seconds)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tokens_per_second(self) -> float:
        """Prompt (cached included) plus completion tokens per second."""
        return _per_second(self.prompt_tokens + self.completion_tokens, self.wall_seconds)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def completion_tokens_per_second(self) -> float:
        return _per_second(self.completion_tokens, self.wall_seconds)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cache_hit_ratio(self) -> float:
        """Cached prompt tokens / prompt tokens."""
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def slot_occupancy(self) -> float:
        """How full the slots were kept: busy time over ``wall × slots`` (1.0 = never idle)."""
        return _ratio(self.busy_seconds, self.wall_seconds * self.slots)


def _per_second(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


class Comparison(BaseModel):
    """Pipeline over raw on one order."""

    order: Order
    products_ratio: float
    """Pipeline products/s over raw products/s: the headline number (target ≥ 0.90)."""
    calls_ratio: float
    tokens_ratio: float
    meets_target: bool


class ThroughputReport(BaseModel):
    """Everything ``throughput.json`` holds."""

    config: ThroughputConfig
    started_at: datetime
    wall_seconds: float
    machine: dict[str, str | int | float | None]
    data: dict[str, str | int]
    """Where the products came from and how many per category."""
    phases: list[PhaseResult]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def comparisons(self) -> list[Comparison]:
        """Pipeline over raw, for every order both arms ran."""
        result: list[Comparison] = []
        for order in self.config.orders:
            raw = self.phase("raw", order)
            pipe = self.phase("pipeline", order)
            if raw is None or pipe is None:
                continue
            ratio = _ratio(pipe.products_per_second, raw.products_per_second)
            result.append(
                Comparison(
                    order=order,
                    products_ratio=ratio,
                    calls_ratio=_ratio(pipe.calls_per_second, raw.calls_per_second),
                    tokens_ratio=_ratio(pipe.tokens_per_second, raw.tokens_per_second),
                    meets_target=ratio >= TARGET_RATIO,
                )
            )
        return result

    def phase(self, arm: Arm, order: Order) -> PhaseResult | None:
        return next((p for p in self.phases if p.arm == arm and p.order == order), None)


def _ratio(numerator: float, denominator: float) -> float:
    # Four places: what is reported, and 9/10 must meet a 0.90 target despite float noise.
    return round(numerator / denominator, 4) if denominator else 0.0


def select_products(products: Sequence[Product], limit: int | None) -> list[Product]:
    """The first ``limit`` products with categories taking turns, so every category is in.

    OA-Mine's files are sorted by category: a plain prefix would be a single category.
    """
    chosen = interleaved(products)
    return chosen if limit is None else chosen[:limit]


def default_opener(model: str, options: EngineOptions) -> LocalLLM:
    """Open ``local:<name>`` on an engine with ``options``.

    Raises:
        ConfigError: the model is not a ``local:`` model (only the local engine has a raw arm).
    """
    provider, name = parse_model_string(model)
    if provider != "local":
        raise ConfigError(
            f"the throughput benchmark measures the local engine; {model!r} is not a local: "
            "model (use e.g. local:gemma3-270m)"
        )
    return open_local(name, options=options)


def _team(settings: Settings, llm: LLM) -> WorkerTeam:
    """The workers the Runner builds from ``settings`` (a test holds the requests equal)."""
    generators = [
        Generator(llm, role=f"generator-{chr(97 + i)}", style=g.style)
        for i, g in enumerate(settings.generators)
    ]
    evaluator = (
        Evaluator(llm, reason_chars=settings.evaluator_reason_chars) if settings.evaluator else None
    )
    return WorkerTeam(generators, evaluator)


def _stats_phase(
    arm: Arm,
    order: Order,
    products: int,
    slots: int,
    stats: EngineStats,
    wall: float,
    cpu: float,
    load_before: float,
) -> PhaseResult:
    return PhaseResult(
        arm=arm,
        order=order,
        products=products,
        wall_seconds=wall,
        model_calls=stats.calls,
        failed_calls=stats.failed,
        prompt_tokens=stats.prompt_tokens,
        cached_tokens=stats.cached_tokens,
        completion_tokens=stats.completion_tokens,
        prompt_seconds=round(stats.prompt_ms / 1000, 2),
        completion_seconds=round(stats.completion_ms / 1000, 2),
        slots=slots,
        busy_seconds=stats.busy_ms / 1000,
        cpu_seconds=cpu,
        load_before=load_before,
        load_after=_load(),
    )


def _load() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on every platform
        return 0.0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _raw_phase(
    products: list[Product],
    schema: CatalogSchema,
    config: ThroughputConfig,
    order: Order,
    opener: LocalOpener,
    home: Path,
) -> PhaseResult:
    llm = opener(config.model, config.engine_options())
    try:
        await llm.load()
        llm.engine.reset_stats()
        team = _team(config.settings(home), llm)
        load_before, cpu, started = _load(), _cpu(), time.perf_counter()
        run = await run_raw(
            llm,
            team,
            products,
            lambda p: schema.attributes_for(p.path),
            slots=config.parallel,
        )
        wall, cpu = time.perf_counter() - started, _cpu() - cpu
        phase = _stats_phase(
            "raw", order, len(products), config.parallel, llm.engine.stats(), wall, cpu, load_before
        )
        phase.invalid_answers = run.invalid
        return phase
    finally:
        await llm.aclose()


async def _pipeline_phase(
    products: list[Product],
    schema: CatalogSchema,
    config: ThroughputConfig,
    order: Order,
    opener: LocalOpener,
    home: Path,
) -> PhaseResult:
    work = home / f"pipeline-{order}"
    work.mkdir(parents=True)
    catalog = work / "catalog.jsonl"
    catalog.write_text(
        "".join(
            p.model_dump_json(include={"id", "title", "description", "category"}) + "\n"
            for p in products
        ),
        encoding="utf-8",
    )
    schema_path = work / "schema.yaml"
    schema_path.write_text(yaml.safe_dump(schema.model_dump(exclude_none=True)), encoding="utf-8")
    settings = config.settings(work)
    options = config.engine_options()

    def open_any(spec: str) -> LLM:
        return opener(spec, options) if spec == config.model else open_model(spec)

    db = Database.open(None, home=work)
    tracing = (
        Tracing.from_settings(TracingSettings(otlp_endpoint=config.trace_endpoint))
        if config.trace_endpoint
        else Tracing.off()
    )
    try:
        async with ModelPool(opener=open_any) as pool:
            pool.instrument(tracing.provider)
            llm = pool.get(config.model)
            assert isinstance(llm, LocalLLM)
            await llm.load()
            llm.engine.reset_stats()
            runner = Runner(settings, db=db, open_model=pool.get, tracing=tracing)
            request = RunRequest(
                input_path=catalog, schema_path=schema_path, out_path=work / "out.jsonl"
            )
            load_before, cpu, started = _load(), _cpu(), time.perf_counter()
            summary = await runner.run(request)
            wall, cpu = time.perf_counter() - started, _cpu() - cpu
            stats = llm.engine.stats()
    finally:
        tracing.shutdown()
        db.close()
    phase = _stats_phase(
        "pipeline", order, summary.products, config.parallel, stats, wall, cpu, load_before
    )
    phase.disputed_products = summary.supervisor_calls
    phase.errors = summary.errors
    return phase


PhaseHook = Callable[[PhaseResult], None]
"""Called after each phase (the CLI prints progress)."""


async def run_throughput(
    products: Sequence[Product],
    schema: CatalogSchema,
    config: ThroughputConfig,
    *,
    data: dict[str, str | int] | None = None,
    opener: LocalOpener | None = None,
    on_phase: PhaseHook | None = None,
) -> ThroughputReport:
    """Run both arms on every order of ``config.orders``; raw first, each on a fresh engine.

    Args:
        products: In any order; each arm runs them in each order of ``config.orders``.
        schema: Attributes per category.
        config: Model, slots and what to compare.
        data: Facts about the data source, copied into the report.
        opener: Opens the local model (default :func:`default_opener`).
        on_phase: Called after each phase.

    Raises:
        ConfigError: the model is not local, or there are no products.
        SchemaError: a product's category is not in the schema.
    """
    if not products:
        raise ConfigError("no products to benchmark; check --data/--catalog and --limit")
    for product in products:
        schema.attributes_for(product.path)  # fail before loading any model
    opener = opener or default_opener
    started_at, started = datetime.now(UTC), time.perf_counter()
    phases: list[PhaseResult] = []
    arms: list[tuple[Arm, Callable[..., Awaitable[PhaseResult]]]] = [
        ("raw", _raw_phase),
        ("pipeline", _pipeline_phase),
    ]
    with tempfile.TemporaryDirectory(prefix="dissensus-throughput-") as tmp:
        for order in config.orders:
            batch = ordered(products, order)
            for _arm, phase_of in arms:
                phase = await phase_of(batch, schema, config, order, opener, Path(tmp))
                phases.append(phase)
                if on_phase is not None:
                    on_phase(phase)
    counts: dict[str, str | int] = dict(data or {})
    for product in products:
        key = f"category:{product.category}"
        counts[key] = int(counts.get(key, 0)) + 1
    return ThroughputReport(
        config=config,
        started_at=started_at,
        wall_seconds=time.perf_counter() - started,
        machine=_machine(config),
        data=counts,
        phases=phases,
    )


def _machine(config: ThroughputConfig) -> dict[str, str | int | float | None]:
    try:
        engine_version: str | None = importlib.metadata.version("xllamacpp")
    except importlib.metadata.PackageNotFoundError:
        engine_version = None
    return {
        "cpu_count": os.cpu_count(),
        "threads": config.engine_options().thread_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "xllamacpp": engine_version,
        "load_average_1m": _load(),
    }


def write_report(report: ThroughputReport, out_dir: Path) -> Path:
    """Write ``throughput.json`` into ``out_dir`` (created if needed); returns its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "throughput.json"
    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path
