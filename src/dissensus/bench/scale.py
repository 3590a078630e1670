"""Throughput against a hosted-style API: products per second and our CPU per product.

With hosted workers the models' compute is someone else's; what limits one process is our own
Python and the provider's rate limit. This benchmark runs the full loop (two generators, the
evaluator, the supervisor on disagreements, the lexicon and learnings retrieved, every call
logged) against :mod:`dissensus.bench.fake_openai` in its own process, answering after a set
latency and, optionally, under a requests-per-second limit, at rising concurrency. It reports
products/s, our CPU seconds per product (``time.process_time`` of this process: the server's
work is not in it), requests and rate-limit refusals, and, with ``profile``, where our CPU went.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from dissensus.config import GeneratorConfig, Settings
from dissensus.llm import ModelPool
from dissensus.pipeline import Runner, RunRequest
from dissensus.storage import Database

__all__ = [
    "ScaleConfig",
    "ScalePoint",
    "ScaleReport",
    "fake_server",
    "levels",
    "run_scale",
    "scale_report_data",
    "write_scale_report",
]

SCHEMA = """\
categories:
  - path: Home > Kitchen > Knives
    attributes:
      - {name: Brand, description: The maker as written}
      - {name: Blade length, description: With its unit}
      - {name: Material}
      - {name: Knife type, values: [Chef, Paring, Santoku, Bread]}
"""
BRANDS = ["Kaito", "Nakano", "Alpen", "Ridge", "Oster", "Mori", "Bellini", "Vesta"]


class ScaleConfig(BaseModel):
    products: int = Field(default=200, ge=1)
    concurrency: list[int] = Field(default_factory=lambda: [4, 16, 64])
    latency_seconds: float = Field(default=0.3, ge=0.0)
    """How long the fake provider takes to answer each request."""
    rps_limit: float = Field(default=0.0, ge=0.0)
    """The provider's requests-per-second limit (0: none)."""
    disagree: float = Field(default=0.3, ge=0.0, le=1.0)
    """Share of the second generator's answers that pick another value (they go to the
    supervisor, as real disagreements do)."""
    batch_size: int = Field(default=8, ge=1)
    profile: bool = False


class ScalePoint(BaseModel):
    concurrency: int
    products: int
    errors: int
    wall_seconds: float
    cpu_seconds: float
    requests: int
    supervisor_calls: int

    @property
    def products_per_second(self) -> float:
        return self.products / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def cpu_ms_per_product(self) -> float:
        return 1000 * self.cpu_seconds / self.products if self.products else 0.0

    @property
    def products_per_cpu_second(self) -> float:
        """Products per second one core of ours could carry (the CPU bound)."""
        return self.products / self.cpu_seconds if self.cpu_seconds else 0.0


class ScaleReport(BaseModel):
    config: ScaleConfig
    cores: int
    points: list[ScalePoint]
    profile_top: list[str] = Field(default_factory=list)
    """The functions with the most cumulative CPU, at the highest concurrency, when profiled."""


@contextmanager
def fake_server(
    latency: float, rps: float, disagree: float = 0.0
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The fake provider in a process of its own; yields its ``/v1`` base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dissensus.bench.fake_openai", "--latency", str(latency),
         "--rps", str(rps), "--disagree", str(disagree)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError("the fake OpenAI server did not start")
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _catalog(path: Path, n: int) -> None:
    lines = []
    for i in range(n):
        brand = BRANDS[i % len(BRANDS)]
        title = f"{brand} {6 + i % 5}in Chef Knife, stainless steel, item {i}"
        lines.append(
            json.dumps({"id": f"p{i:05d}", "title": title, "category": "Home > Kitchen > Knives"})
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _settings(url: str, home: Path, concurrency: int, batch_size: int) -> Settings:
    return Settings(
        home=home,
        generators=[
            GeneratorConfig(model="openai:fake-a"),
            GeneratorConfig(model="openai:fake-b", style="evidence"),
        ],
        evaluator="openai:fake-evaluator",
        supervisor="openai:fake-supervisor",
        memory_manager="openai:fake-supervisor",
        openai_base_url=url,
        concurrency=concurrency,
        batch_size=batch_size,
        request_timeout_seconds=30.0,
        request_retries=4,
    )


async def _one(url: str, work: Path, concurrency: int, config: ScaleConfig) -> ScalePoint:
    work.mkdir(parents=True, exist_ok=True)
    catalog, schema = work / "catalog.jsonl", work / "schema.yaml"
    _catalog(catalog, config.products)
    schema.write_text(SCHEMA, encoding="utf-8")
    settings = _settings(url, work, concurrency, config.batch_size)
    db = Database.open(None, home=work)
    try:
        async with ModelPool(**settings.model_options()) as pool:
            runner = Runner(settings, db=db, open_model=pool.get)
            cpu, started = time.process_time(), time.perf_counter()
            summary = await runner.run(
                RunRequest(catalog, schema, work / "out.jsonl", run_id=f"scale-{concurrency}")
            )
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        db.close()
    return ScalePoint(
        concurrency=concurrency,
        products=summary.products,
        errors=summary.errors,
        wall_seconds=wall,
        cpu_seconds=cpu,
        requests=summary.model_requests,
        supervisor_calls=summary.supervisor_calls,
    )


def run_scale(
    config: ScaleConfig, *, on_point: Callable[[ScalePoint], None] | None = None
) -> ScaleReport:
    """Each concurrency level on a fresh home against one fake provider process."""
    # Requests the client counts must not be lost to the proxy settings of the machine.
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    points: list[ScalePoint] = []
    top: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="dissensus-scale-") as tmp,
        fake_server(config.latency_seconds, config.rps_limit, config.disagree) as (url, _proc),
    ):
        for i, concurrency in enumerate(config.concurrency):
            work = Path(tmp) / f"c{concurrency}"
            last = i == len(config.concurrency) - 1
            if config.profile and last:
                profiler = cProfile.Profile()
                profiler.enable()
                point = asyncio.run(_one(url, work, concurrency, config))
                profiler.disable()
                top = _top(profiler)
            else:
                point = asyncio.run(_one(url, work, concurrency, config))
            points.append(point)
            if on_point is not None:
                on_point(point)
    return ScaleReport(config=config, cores=os.cpu_count() or 1, points=points, profile_top=top)


def _top(profiler: cProfile.Profile, n: int = 20) -> list[str]:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(n)
    lines = [line.rstrip() for line in out.getvalue().splitlines()]
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return [line for line in lines[start:] if line.strip()][: n + 1]


def scale_report_data(report: ScaleReport) -> dict[str, Any]:
    """The report as JSON data, each point with its derived rates (``scale.json``, ``--json``)."""
    data: dict[str, Any] = json.loads(report.model_dump_json())
    for point, raw in zip(report.points, data["points"], strict=True):
        raw.update(
            products_per_second=point.products_per_second,
            cpu_ms_per_product=point.cpu_ms_per_product,
            products_per_cpu_second=point.products_per_cpu_second,
        )
    return data


def write_scale_report(report: ScaleReport, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "scale.json"
    path.write_text(json.dumps(scale_report_data(report), indent=2), encoding="utf-8")
    return path


def levels(text: str) -> list[int]:
    """``"4,16,64"`` → ``[4, 16, 64]``."""
    return [int(part) for part in text.split(",") if part.strip()]
