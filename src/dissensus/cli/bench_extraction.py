"""``dissensus bench extraction``: learning curves on labelled data against baselines."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from dissensus.bench import (
    ARMS,
    DEFAULT_ARMS,
    BenchConfig,
    BenchResults,
    default_data_dir,
    run_extraction,
)
from dissensus.bench.loader import DATA_ENV
from dissensus.bench.results import Arm
from dissensus.cli._common import console, friendly_errors, output_directory
from dissensus.cli._progress import progress_bar
from dissensus.config import GeneratorConfig, GeneratorStyle, Settings
from dissensus.llm import EngineOptions, ModelPool
from dissensus.report.charts import require_charts

__all__ = ["extraction"]


class _RichProgress:
    """One bar over every product pass of the benchmark, labelled with the current phase."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("preparing", total=None)

    def start(self, total: int) -> None:
        self.progress.update(self.task, total=total, completed=0)

    def phase(self, name: str) -> None:
        self.progress.update(self.task, description=name)

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task, n)


def _arms(raw: str) -> list[Arm]:
    chosen: list[Arm] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        match = next((a for a in ARMS if a == part), None)
        if match is None:
            raise typer.BadParameter(
                f"unknown arm {part!r}; choose from {', '.join(ARMS)}", param_hint="--arms"
            )
        chosen.append(match)
    if not chosen:
        raise typer.BadParameter(f"needs at least one of {', '.join(ARMS)}", param_hint="--arms")
    return [a for a in ARMS if a in chosen]


def _settings(
    config: Path | None,
    generators: list[str] | None,
    evaluator: str,
    supervisor: str | None,
    batch_size: int | None,
    concurrency: int | None,
) -> Settings:
    overrides: dict[str, object] = {
        "batch_size": batch_size,
        "concurrency": concurrency,
        "supervisor": supervisor,
    }
    if generators:
        styles: tuple[GeneratorStyle, GeneratorStyle] = ("direct", "evidence")
        overrides["generators"] = [
            GeneratorConfig(model=m, style=styles[i % 2]) for i, m in enumerate(generators)
        ]
    if evaluator not in ("none", "config"):
        overrides["evaluator"] = evaluator
    settings = Settings.load(config, **overrides)
    if evaluator == "none":
        settings = settings.model_copy(update={"evaluator": None})
    return settings


def _limit(value: int) -> int | None:
    return None if value <= 0 else value


def print_results(results: BenchResults) -> None:
    """The arms side by side, and the learning curve, as tables."""
    table = Table(title="Arms on the evaluation set (micro-F1, %)")
    for column in ("arm", "published F1", "strict F1", "macro F1", "disagreement", "tok/product"):
        table.add_column(column, justify="left" if column == "arm" else "right")
    for name, arm in results.arms.items():
        system = name in ("no-learning", "learning")
        table.add_row(
            name,
            f"{arm.scores.published.micro.f1:.2f}",
            f"{arm.scores.strict.micro.f1:.2f}",
            f"{arm.scores.published.macro.f1:.2f}",
            f"{arm.stats.disagreement_rate:.0%}" if system else "–",
            f"{arm.stats.tokens_per_product:.0f}",
        )
    for ref in results.references:
        table.add_row(f"{ref.name} (published)", f"{ref.micro_f1:.1f}", "", "", "", "")
    console.print(table)
    if results.checkpoints:
        curve = Table(title="Learning curve")
        columns = (
            "after",
            "learnings",
            "system F1",
            "strict F1",
            "generator-a F1",
            "disagreement",
            "supervisor right",
        )
        for column in columns:
            curve.add_column(column, justify="right")
        for c in results.checkpoints:
            curve.add_row(
                str(c.after),
                str(c.learnings),
                f"{c.system.published.micro.f1:.2f}",
                f"{c.system.strict.micro.f1:.2f}",
                f"{c.generator.published.micro.f1:.2f}",
                f"{c.stats.disagreement_rate:.0%}",
                f"{c.supervisor.correct}/{c.supervisor.slots}",
            )
        console.print(curve)
    if results.intervals:
        diffs = Table(title="Micro-F1 differences, 95 % bootstrap intervals (published)")
        for column in ("a − b", "difference", "interval"):
            diffs.add_column(column, justify="left" if column == "a − b" else "right")
        for i in results.intervals:
            if i.variant == "published":
                diffs.add_row(
                    f"{i.a} − {i.b}", f"{i.difference:+.2f}", f"[{i.low:+.2f}, {i.high:+.2f}]"
                )
        console.print(diffs)
    console.print(f"wall time {results.wall_seconds:.0f} s", highlight=False)


@friendly_errors
def extraction(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help=f"Directory with train.jsonl, train_0.2.jsonl, test.jsonl (default: ${DATA_ENV} "
            "or ../shared/datasets/oa-mine next to the repository).",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path(
        "out/bench-extraction"
    ),
    stream_limit: Annotated[
        int, typer.Option("--stream-limit", help="Stream products (0: the whole stream).")
    ] = 80,
    eval_limit: Annotated[
        int, typer.Option("--eval-limit", help="Test records per evaluation (0: all 491).")
    ] = 30,
    checkpoint_every: Annotated[
        int, typer.Option("--checkpoint-every", help="Stream products between checkpoints.")
    ] = 40,
    window: Annotated[int, typer.Option("--window", help="Stream products per window.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Stream order and eval subset.")] = 13,
    arms: Annotated[
        str,
        typer.Option(
            "--arms",
            help=f"Comma-separated subset of: {', '.join(ARMS)} (human-review streams a second "
            "time, so it runs only when named).",
        ),
    ] = ",".join(DEFAULT_ARMS),
    review_budget: Annotated[
        int,
        typer.Option(
            "--review-budget",
            min=0,
            help="human-review arm: review items answered from the stream's own labels.",
        ),
    ] = 40,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML settings file.", exists=True)
    ] = None,
    generator: Annotated[
        list[str] | None,
        typer.Option("--generator", "-g", help="Generator model; repeat for several."),
    ] = None,
    evaluator: Annotated[
        str,
        typer.Option(
            "--evaluator",
            help="Evaluator model, 'none' (default: the evaluator's calls do not fit the small "
            "configuration's 20-minute budget), or 'config' to keep the settings' evaluator.",
        ),
    ] = "none",
    supervisor: Annotated[
        str | None, typer.Option("--supervisor", help="Supervisor model.")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Products per category batch.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", help="Products in the models at once.")
    ] = None,
    threads: Annotated[
        int,
        typer.Option(
            "--threads",
            min=0,
            help="llama.cpp threads of local models (0: half the cores; all cores is faster "
            "on an idle machine, much slower on a busy one).",
        ),
    ] = 0,
    reuse: Annotated[
        list[Path] | None,
        typer.Option(
            "--reuse",
            help="An earlier run's --out: its finished evaluation passes (passes/*.json) are "
            "loaded instead of run, if they ran on the same data, seed, limits and settings; "
            "this run's own --out resumes it. Repeat for several.",
        ),
    ] = None,
    defer: Annotated[
        list[str] | None,
        typer.Option(
            "--defer",
            help="A pass to leave to another invocation (checkpoint-NNNN, single, "
            "supervisor-only): that one runs it with --reuse of this --out. Repeat for several.",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="results.json's object on stdout instead of the tables."),
    ] = False,
) -> None:
    """Score the baselines and the learning system on a labelled data set, side by side."""
    # The plots come last, after an hour of models: a missing matplotlib must stop it now.
    require_charts("the benchmark's plots")
    settings = _settings(config, generator, evaluator, supervisor, batch_size, concurrency)
    bench = BenchConfig(
        data_dir=str((data or default_data_dir()).resolve()),
        out_dir=str(out.resolve()),
        arms=_arms(arms),
        seed=seed,
        stream_limit=_limit(stream_limit),
        eval_limit=_limit(eval_limit),
        checkpoint_every=checkpoint_every,
        window=max(1, window),
        threads=threads,
        review_budget=review_budget,
        reuse=[str(p.resolve()) for p in reuse or []],
        defer=list(defer or []),
    )
    output_directory(out)
    progress = progress_bar(
        TextColumn("[bold]{task.description}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        quiet=quiet,
    )

    async def go() -> BenchResults:
        engine = EngineOptions(threads=threads) if threads else None
        async with ModelPool(**settings.model_options(), engine=engine) as pool:
            return await run_extraction(
                bench, settings, open_model=pool.get, progress=_RichProgress(progress)
            )

    with progress:
        results = asyncio.run(go())
    if as_json:
        print(results.model_dump_json())
        return
    print_results(results)
    console.print(
        f"results: {escape(str(out / 'results.json'))}\nreport:  {escape(str(out / 'report.md'))}",
        highlight=False,
    )
