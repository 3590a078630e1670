"""``dissensus signals``: ingest seller and customer signals received after inference."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from dissensus.cli._common import console, friendly_errors, open_database
from dissensus.config import Settings
from dissensus.llm import ModelPool
from dissensus.signals import IngestReport, SignalIngester

__all__ = ["signals_app"]

signals_app = typer.Typer(
    help="Post-inference signals: seller edits and appeals, returns, reviews.",
    no_args_is_help=True,
)


@signals_app.command("ingest")
@friendly_errors
def ingest(
    path: Annotated[Path, typer.Argument(help="Signals: JSONL or CSV (kind, product_id, ...).")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML settings file.", exists=True)
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: SQLite in $DISSENSUS_HOME).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The report as one JSON object.")] = False,
) -> None:
    """Link, triage and learn from a signals file; learnings stay proposed until confirmed."""
    settings = Settings.load(config, database_url=db)
    database = open_database(settings)

    async def go() -> IngestReport:
        async with ModelPool(**settings.model_options()) as pool:
            triage_model = settings.signals.triage_model or settings.generators[0].model
            ingester = SignalIngester(
                database,
                settings,
                triage_llm=pool.get(triage_model),
                supervisor_llm=pool.get(settings.supervisor),
                memory_llm=pool.get(settings.memory_manager_model()),
            )
            return await ingester.ingest(path)

    report = asyncio.run(go())
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(report), ensure_ascii=False))
        return
    console.print(
        f"{report.signals} signals ({report.duplicates} already ingested): "
        f"{len(report.cases)} cases, {len(report.noise)} noise, "
        f"{len(report.learnings)} learnings, {report.model_calls} model calls",
        highlight=False,
    )
    for product_id, reason in report.noise:
        console.print(f"  noise {escape(product_id)}: {escape(reason)}", highlight=False)
    for product_id, attribute, old, new in report.changes:
        console.print(
            f"  changed {escape(product_id)} {escape(attribute)}: {old!r} -> {new!r}",
            markup=False,
            highlight=False,
        )
    if report.learnings:
        console.print(
            "learnings (proposed until approved or confirmed): " + ", ".join(report.learnings),
            highlight=False,
        )
