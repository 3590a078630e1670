"""``dissensus bench judge``: a run's output against hand labels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dissensus.bench.judge import judge as judge_output
from dissensus.cli._common import console, friendly_errors

__all__ = ["judge"]


@friendly_errors
def judge(
    output: Annotated[Path, typer.Argument(help="A `dissensus run` output (JSONL).")],
    labels: Annotated[
        Path, typer.Argument(help="Labels: JSONL {id, attributes: {name: [accepted, ...]}}.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Share of labelled attribute values the run got right (case and punctuation ignored)."""
    result = judge_output(output, labels)
    if as_json:
        print(json.dumps({**result.model_dump(mode="json"), "accuracy": result.accuracy}))
        return
    table = Table(title=f"{escape(str(output))} against {escape(str(labels))}")
    for column in ("attribute", "right", "labelled", "accuracy"):
        table.add_column(column, justify="left" if column == "attribute" else "right")
    for name, (right, slots) in sorted(result.by_attribute.items()):
        table.add_row(escape(name), str(right), str(slots), f"{right / slots:.0%}")
    console.print(table)
    for pid, attribute, got, accepted in result.wrong:
        console.print(
            f"  wrong: {escape(pid)} {escape(attribute)} = {escape(repr(got))}, "
            f"accepted {escape(', '.join(repr(a) for a in accepted))}",
            highlight=False,
        )
    console.print(
        f"{result.right} of {result.slots} values right ({result.accuracy:.0%}) over "
        f"{result.records} records"
        + (
            f"; no output for {', '.join(result.missing_records)}" if result.missing_records else ""
        ),
        highlight=False,
    )
