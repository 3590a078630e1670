"""``dissensus report``: per-category health over time, the sweet-spot check, PNG charts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dissensus.cli._common import console, friendly_errors, open_database, output_directory
from dissensus.config import Settings
from dissensus.knowledge import KnowledgeBase
from dissensus.report import build_report
from dissensus.report.charts import require_charts, write_charts

__all__ = ["report"]


@friendly_errors
def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the PNG charts.")] = Path(
        "out/report"
    ),
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML settings file.", exists=True)
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: SQLite in $DISSENSUS_HOME).")
    ] = None,
    no_charts: Annotated[bool, typer.Option("--no-charts", help="Only print the tables.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="The report as one JSON object (no charts).")
    ] = False,
) -> None:
    """Disagreement, supervisor calls and learnings per category per run, with charts."""
    if not no_charts and not as_json:
        require_charts("dissensus report's charts (or pass --no-charts)")
        output_directory(out)
    settings = Settings.load(config, database_url=db)
    kb = KnowledgeBase(open_database(settings))
    health = build_report(
        kb,
        settings.sweet_spot,
        min_products=settings.effectiveness.min_products,
        threshold=settings.effectiveness.threshold,
    )
    if as_json:
        typer.echo(health.model_dump_json())
        return
    table = Table(title="Categories per run")
    for column in ("run", "category", "products", "disagreement", "supervisor",
                   "supervisor/product", "tokens/product", "$/product", "added", "active",
                   "deprecated"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("run", "category") else "right")
    for p in health.points:
        table.add_row(
            escape(p.run_id),
            escape(p.category),
            str(p.products),
            f"{p.disagreement_rate:.0%}",
            str(p.supervisor_calls),
            f"{p.supervisor_calls_per_product:.2f}",
            f"{p.tokens_per_product:,.0f}",
            f"{p.cost_per_product:.5f}",
            str(p.learnings_added),
            str(p.learnings_active),
            str(p.learnings_deprecated),
        )
    console.print(table)
    band = settings.sweet_spot
    for check in health.band:
        if check.position != "inside":
            console.print(
                f"{escape(check.category)}: disagreement {check.rate:.0%} is {check.position} "
                f"the band {band.low:.0%}–{band.high:.0%}: {escape(check.cause)}",
                highlight=False,
            )
    if health.top_learnings:
        top = Table(title="Learnings by measured effect (negative helps)")
        for column in ("learning", "effect", "verdict", "evidence"):
            top.add_column(column)
        for e in health.top_learnings:
            top.add_row(escape(e.learning_id), f"{e.effect:+.2f}", e.verdict, escape(e.evidence()))
        console.print(top)
    if not no_charts:
        paths = write_charts(health, out, band=(band.low, band.high))
        console.print("charts: " + ", ".join(escape(str(p)) for p in paths), highlight=False)
