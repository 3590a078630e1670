"""``dissensus runs list|show``: what ran, when, and what it did."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dissensus.cli._common import console, friendly_errors, open_database
from dissensus.cli._progress import duration
from dissensus.config import Settings
from dissensus.pipeline.runs import RunView, get_run, list_runs

__all__ = ["runs_app"]

runs_app = typer.Typer(help="List runs and show one run's summary.", no_args_is_help=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML settings file.", exists=True)
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", help="Database URL (default: $DISSENSUS_DATABASE_URL, else SQLite in the home)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON (lines for a list).")]


def _json(run: RunView) -> str:
    return run.model_dump_json()


@runs_app.command("list")
@friendly_errors
def list_command(
    count: Annotated[
        int, typer.Option("--count", "-n", min=0, help="Newest N runs (0: all).")
    ] = 20,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Runs, oldest first: status, products, errors, disagreement, supervisor calls."""
    runs = list_runs(open_database(Settings.load(config, database_url=db)), limit=count or None)
    if as_json:
        for run in runs:
            typer.echo(_json(run))
        return
    if not runs:
        console.print("no runs yet; start one with `dissensus run` or `dissensus demo`")
        return
    table = Table(title="Runs")
    for column in ("run", "status", "started", "products", "errors", "disagreement",
                   "supervisor/product", "learnings added"):  # fmt: skip
        table.add_column(
            column, justify="left" if column in ("run", "status", "started") else "right"
        )
    for run in runs:
        s = run.summary
        table.add_row(
            escape(run.run_id),
            run.status,
            f"{run.created_at:%Y-%m-%d %H:%M}",
            str(s.products),
            str(s.errors),
            f"{run.disagreement_rate:.0%}",
            f"{run.supervisor_calls_per_product:.2f}",
            str(s.learnings_added) if run.final else "…",
        )
    console.print(table)


@runs_app.command("show")
@friendly_errors
def show_command(
    run_id: Annotated[str, typer.Argument(help="The run id (see `dissensus runs list`).")],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """One run: files, state, and its summary by category."""
    run = get_run(open_database(Settings.load(config, database_url=db)), run_id)
    if as_json:
        typer.echo(_json(run))
        return
    s = run.summary
    console.print(
        f"[bold]run {escape(run.run_id)}[/]: {run.status}, started {run.created_at:%Y-%m-%d %H:%M}"
        + (f", finished {run.finished_at:%Y-%m-%d %H:%M}" if run.finished_at else ""),
        highlight=False,
    )
    console.print(
        f"input {escape(run.input_path)} -> output {escape(run.output_path or '-')}",
        highlight=False,
    )
    console.print(
        f"{s.products} products, {s.errors} errors; disagreement {run.disagreement_rate:.0%}; "
        f"supervisor calls {s.supervisor_calls} ({run.supervisor_calls_per_product:.2f} per "
        f"product); model requests {s.model_requests}, tokens {s.input_tokens} in / "
        f"{s.output_tokens} out" + ("" if run.final else " (so far: the run has not finished)"),
        highlight=False,
    )
    if run.final:  # a fold of the rows so far knows neither (they read 0 there)
        console.print(
            f"{s.learnings_added} learnings added; {duration(s.wall_seconds)} of wall time",
            highlight=False,
        )
    table = Table(title="By category")
    for column in ("category", "products", "disputed", "disagreement"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for name, stats in sorted(s.by_category.items()):
        table.add_row(
            escape(name), str(stats.products), str(stats.disputed_products),
            f"{stats.disagreement_rate:.0%}",
        )  # fmt: skip
    console.print(table)
