"""``dissensus models``: which models can be used here, and what they can do."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer
from rich.table import Table

from dissensus.cli._common import console, friendly_errors
from dissensus.llm import list_models

__all__ = ["models"]


@friendly_errors
def models(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, one model each.")] = False,
) -> None:
    """List known models: provider, availability, tool support, context, price."""
    if as_json:
        for info in list_models():
            typer.echo(json.dumps(dataclasses.asdict(info), ensure_ascii=False, default=str))
        return
    table = Table(title="models")
    for column in ("model", "available", "tools", "context", "$/Mtok in", "$/Mtok out", "note"):
        table.add_column(column)
    for info in list_models():
        table.add_row(
            info.name,
            "yes" if info.available else "no",
            "yes" if info.supports_tools else "no",
            str(info.context_tokens),
            f"{info.input_price_per_mtok:g}",
            f"{info.output_price_per_mtok:g}",
            info.description,
        )
    console.print(table)
