"""Throughput against a hosted-style API: products per second and our CPU per product.

With hosted workers the models' compute is someone else's; what limits one process is our own
Python and the provider's rate limit. This benchmark runs the full loop (two generators, the
evaluator, the supervisor on disagreements, the lexicon and learnings retrieved, every call
logged) against :mod:`dissensus.bench.fake_openai` in its own process, answering after a set
latency and, optionally, under a requests-per-second limit, at rising concurrency. It reports
products/s, our CPU seconds per product (``time.process_time`` of this process: the server's
work is not in it), requests and rate-limit refusals, and, with ``profile``, where our CPU went.

With ``engine="ray"`` it runs the same loop on a local Ray cluster at each actor count of
``actors`` (``dissensus run --engine ray``), each actor with the last concurrency level. Our CPU
is then the whole machine's busy time during the run (``/proc/stat``) less the fake provider's
own (``/proc/PID/stat``): the actors are Ray's processes, not this one's children.
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
from typing import Any, Literal

from pydantic import BaseModel, Field

from dissensus.config import GeneratorConfig, Settings
from dissensus.llm import ModelPool
from dissensus.pipeline import Runner, RunRequest
from dissensus.pipeline.ray_engine import RayOptions
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

ATTRIBUTES = """\
    attributes:
      - {name: Brand, description: The maker as written}
      - {name: Blade length, description: With its unit}
      - {name: Material}
      - {name: Knife type, values: [Chef, Paring, Santoku, Bread]}
"""


def _category(i: int) -> str:
    return "Home > Kitchen > Knives" + (f" {i + 1}" if i else "")


def _schema(categories: int) -> str:
    """The knives schema under ``categories`` paths: batches of one category run in order, so
    more categories is more work that can run side by side."""
    return "categories:\n" + "".join(
        f"  - path: {_category(i)}\n{ATTRIBUTES}" for i in range(categories)
    )


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
    categories: int = Field(default=1, ge=1)
    """Categories the products are dealt into (round robin)."""
    engine: Literal["local", "ray"] = "local"
    actors: list[int] = Field(default_factory=lambda: [1, 2])
    """Ray actor counts to measure (``engine="ray"``), each at the last concurrency level."""


class ScalePoint(BaseModel):
    concurrency: int
    """Products in flight (per actor on Ray)."""
    actors: int = 0
    """Ray actors; 0 for the in-process runner."""
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
    # stdin is a pipe only this process holds: if it dies, the provider sees EOF and exits.
    proc = subprocess.Popen(
        [sys.executable, "-m", "dissensus.bench.fake_openai", "--latency", str(latency),
         "--rps", str(rps), "--disagree", str(disagree), "--exit-with-stdin"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
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


def _catalog(path: Path, n: int, categories: int = 1) -> None:
    lines = []
    for i in range(n):
        brand = BRANDS[i % len(BRANDS)]
        title = f"{brand} {6 + i % 5}in Chef Knife, stainless steel, item {i}"
        lines.append(
            json.dumps({"id": f"p{i:05d}", "title": title, "category": _category(i % categories)})
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


async def _one(
    url: str, work: Path, concurrency: int, config: ScaleConfig, *, actors: int = 0, server: int = 0
) -> ScalePoint:
    work.mkdir(parents=True, exist_ok=True)
    catalog, schema = work / "catalog.jsonl", work / "schema.yaml"
    _catalog(catalog, config.products, config.categories)
    schema.write_text(_schema(config.categories), encoding="utf-8")
    settings = _settings(url, work, concurrency, config.batch_size)
    db = Database.open(None, home=work)
    try:
        async with ModelPool(**settings.model_options()) as pool:
            ray = RayOptions(actors=actors) if actors else None
            runner = Runner(settings, db=db, open_model=pool.get, ray=ray)
            cpu, started = _our_cpu(server, machine=ray is not None), time.perf_counter()
            summary = await runner.run(
                RunRequest(catalog, schema, work / "out.jsonl", run_id=f"scale-{concurrency}")
            )
            wall = time.perf_counter() - started
            cpu = _our_cpu(server, machine=ray is not None) - cpu
    finally:
        db.close()
    return ScalePoint(
        concurrency=concurrency,
        actors=actors,
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
        fake_server(config.latency_seconds, config.rps_limit, config.disagree) as (url, proc),
    ):
        if config.engine == "ray":
            concurrency = config.concurrency[-1]
            for actors in config.actors:
                work = Path(tmp) / f"ray-{actors}"
                point = asyncio.run(
                    _one(url, work, concurrency, config, actors=actors, server=proc.pid)
                )
                points.append(point)
                if on_point is not None:
                    on_point(point)
            return ScaleReport(config=config, cores=os.cpu_count() or 1, points=points)
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


def _our_cpu(server: int, *, machine: bool) -> float:
    """CPU seconds so far: this process's, or with ``machine`` every process's but the fake
    provider's (Linux ``/proc``; elsewhere this process's alone)."""
    if not machine or not Path("/proc/stat").exists():
        return time.process_time()
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    # user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    values = [int(v) for v in fields[:8]]
    busy = sum(values) - values[3] - values[4]
    try:
        stat = Path(f"/proc/{server}/stat").read_text().rsplit(")", 1)[1].split()
        busy -= int(stat[11]) + int(stat[12])  # utime, stime of the provider
    except (OSError, IndexError, ValueError):
        pass
    return busy / ticks


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
