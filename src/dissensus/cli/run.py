"""``dissensus run`` and ``dissensus demo``."""

from __future__ import annotations

import asyncio
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dissensus.cli._common import console, err_console, friendly_errors, open_database
from dissensus.config import GeneratorConfig, GeneratorStyle, Settings
from dissensus.llm import ModelPool
from dissensus.pipeline import Runner, RunRequest, RunSummary, new_run_id

__all__ = ["demo", "run", "sample_dir"]


def sample_dir() -> Path:
    """The bundled demo catalog, schema and verified catalog."""
    return Path(str(files("dissensus").joinpath("data", "sample")))


def _execute(settings: Settings, request: RunRequest, *, quiet: bool) -> RunSummary:
    db = open_database(settings)
    progress = Progress(
        TextColumn("[bold]enriching[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
        transient=False,
    )
    task = progress.add_task("run", total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    async def go() -> RunSummary:
        async with ModelPool(base_url=settings.openai_base_url) as pool:
            runner = Runner(settings, db=db, open_model=pool.get, progress=update)
            return await runner.run(request)

    err_console.print(
        f"run [bold]{escape(request.run_id)}[/]: "
        f"{escape(str(request.input_path))} -> {escape(str(request.out_path))}",
        highlight=False,
    )
    try:
        with progress:
            return asyncio.run(go())
    except KeyboardInterrupt:
        err_console.print(
            "\n[yellow]interrupted.[/] Finished products are saved; continue with:\n"
            + escape(
                f"  dissensus run {request.input_path} --schema {request.schema_path} "
                f"--out {request.out_path} --run-id {request.run_id}"
            ),
            highlight=False,
        )
        raise typer.Exit(130) from None


def print_summary(summary: RunSummary) -> None:
    """The end-of-run summary as a table."""
    console.print(
        f"\n[bold]run {escape(summary.run_id)}[/]{' (resumed)' if summary.resumed else ''}: "
        f"{summary.products} products, {summary.errors} errors, "
        f"{summary.wall_seconds:.1f} s",
        highlight=False,
    )
    console.print(
        f"consensus rate {summary.consensus_rate:.0%} of {summary.attributes} attributes; "
        f"disagreement rate {summary.disagreement_rate:.0%} of products; "
        f"supervisor calls {summary.supervisor_calls}; learnings added {summary.learnings_added}",
        highlight=False,
    )
    console.print(
        f"statuses: {', '.join(f'{k} {v}' for k, v in sorted(summary.statuses.items()))}; "
        f"model requests {summary.model_requests}, tokens {summary.input_tokens} in / "
        f"{summary.output_tokens} out",
        highlight=False,
    )
    table = Table(title="Disagreement by category")
    for column in ("category", "products", "disputed", "rate", "disputed attrs"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for name, stats in sorted(summary.by_category.items()):
        table.add_row(
            escape(name),
            str(stats.products),
            str(stats.disputed_products),
            f"{stats.disagreement_rate:.0%}",
            f"{stats.disputed_attributes}/{stats.attributes}",
        )
    console.print(table)


ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML settings file.", exists=True)
]
DbOpt = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: SQLite in $DISSENSUS_HOME).")
]
GenOpt = Annotated[
    list[str] | None,
    typer.Option("--generator", "-g", help="Generator model; repeat for several."),
]
EvalOpt = Annotated[str | None, typer.Option("--evaluator", help="Evaluator model, or 'none'.")]
SupOpt = Annotated[str | None, typer.Option("--supervisor", help="Supervisor model.")]
BatchOpt = Annotated[int | None, typer.Option("--batch-size", help="Products per category batch.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
NoLearnOpt = Annotated[
    bool, typer.Option("--no-learning", help="Do not write learnings (baseline runs).")
]


def _settings(
    config: Path | None,
    db: str | None,
    generators: list[str] | None,
    evaluator: str | None,
    supervisor: str | None,
    batch_size: int | None,
    no_learning: bool,
) -> Settings:
    overrides: dict[str, object] = {"database_url": db, "batch_size": batch_size}
    if generators:
        styles: tuple[GeneratorStyle, GeneratorStyle] = ("direct", "evidence")
        overrides["generators"] = [
            GeneratorConfig(model=m, style=styles[i % 2]) for i, m in enumerate(generators)
        ]
    if evaluator is not None and evaluator != "none":
        overrides["evaluator"] = evaluator
    if supervisor is not None:
        overrides["supervisor"] = supervisor
    settings = Settings.load(config, **overrides)
    if evaluator == "none":
        # Not an override: Settings.load drops None overrides as "not given".
        settings = settings.model_copy(update={"evaluator": None})
    if no_learning:
        settings = settings.model_copy(update={"learning": False})
    return settings


@friendly_errors
def run(
    input_path: Annotated[
        Path, typer.Argument(help="Products: JSONL or CSV (id, title, description?, category).")
    ],
    schema: Annotated[Path, typer.Option("--schema", "-s", help="Schema YAML.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output JSONL.")],
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Resume this run, or name a new one.")
    ] = None,
    verified: Annotated[
        Path | None,
        typer.Option("--verified", help="Verified catalog (JSONL/CSV) for the supervisor."),
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    generator: GenOpt = None,
    evaluator: EvalOpt = None,
    supervisor: SupOpt = None,
    batch_size: BatchOpt = None,
    no_learning: NoLearnOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Enrich a catalog: workers, consensus, supervisor, and learning as it goes."""
    settings = _settings(config, db, generator, evaluator, supervisor, batch_size, no_learning)
    request = RunRequest(
        input_path=input_path,
        schema_path=schema,
        out_path=out,
        run_id=run_id or new_run_id(),
        verified_path=verified,
    )
    print_summary(_execute(settings, request, quiet=quiet))
    console.print(f"output: {escape(str(out))}", highlight=False)


@friendly_errors
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output JSONL.")] = Path(
        "out/demo-enriched.jsonl"
    ),
    run_id: Annotated[str | None, typer.Option("--run-id", help="Resume this run.")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    generator: GenOpt = None,
    evaluator: EvalOpt = None,
    supervisor: SupOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Run the bundled sample catalog on the embedded models (the Quickstart's main job)."""
    sample = sample_dir()
    settings = _settings(config, db, generator, evaluator, supervisor, None, False)
    request = RunRequest(
        input_path=sample / "catalog.jsonl",
        schema_path=sample / "schema.yaml",
        out_path=out,
        run_id=run_id or new_run_id(),
        verified_path=sample / "verified.jsonl",
    )
    print_summary(_execute(settings, request, quiet=quiet))
    console.print(
        f"output: {escape(str(out))}\nnext: dissensus kb tree --learnings   (what it learned)",
        highlight=False,
    )
