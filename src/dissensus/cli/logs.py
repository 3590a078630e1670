"""``dissensus logs``: the stored model calls, prompt and answer, newest last."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dissensus.cli._common import console, friendly_errors, open_database
from dissensus.config import Settings
from dissensus.observability import CallLog, LoggedCall
from dissensus.pipeline.runs import require_run

__all__ = ["logs"]


@friendly_errors
def logs(
    count: Annotated[
        int, typer.Option("--count", "-n", min=0, help="How many calls, newest last (0: all).")
    ] = 3,
    run_id: Annotated[str | None, typer.Option("--run", help="Only this run's calls.")] = None,
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            help="Only this role: generator-a, evaluator, supervisor, memory-manager, gate... "
            "(a prefix such as 'generator' matches every generator).",
        ),
    ] = None,
    product: Annotated[
        str | None, typer.Option("--product", "-p", help="Only calls about this product id.")
    ] = None,
    short: Annotated[
        bool, typer.Option("--short", "-s", help="One line per call, no prompt or answer.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per call (JSON lines).")
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML settings file.", exists=True)
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL (default: $DISSENSUS_DATABASE_URL, else SQLite in $DISSENSUS_HOME).",
        ),
    ] = None,
) -> None:
    """Show model calls: the exact prompt, the answer, latency, tokens and the learnings used.

    Every value a run stores was produced by one of these calls: the generators' for a
    ``consensus`` value, the supervisor's for a ``supervisor`` value.
    """
    settings = Settings.load(config, database_url=db)
    database = open_database(settings)
    if run_id is not None:
        require_run(database, run_id)
    calls = CallLog(database).calls(
        limit=count or None, run_id=run_id, role=role, product_id=product
    )
    if as_json:
        for call in calls:
            typer.echo(call.model_dump_json())
        return
    if not calls:
        console.print("no model calls match", highlight=False)
        return
    for call in calls:
        typer.echo(_headline(call) if short else _describe(call))


def _headline(call: LoggedCall) -> str:
    where = f"#{call.seq}" if call.seq is not None else ""
    status = "ok" if call.ok else "abstained"
    return (
        f"{call.at:%Y-%m-%d %H:%M:%S} {call.run_id} {call.product_id}{where} {call.role} "
        f"{call.model} {call.latency_s:.2f}s {call.input_tokens}->{call.output_tokens} tokens "
        f"{status}"
    )


def _describe(call: LoggedCall) -> str:
    seq = f" (record {call.seq})" if call.seq is not None else ""
    facts = [
        f"{call.latency_s:.3f} s",
        f"{call.input_tokens} → {call.output_tokens} tokens"
        + (f" ({call.cache_read_tokens} from cache)" if call.cache_read_tokens else ""),
        f"{call.requests} request{'s' if call.requests != 1 else ''}",
        "ok" if call.ok else "abstained",
    ]
    if call.finish_reason:
        facts.append(f"finish {call.finish_reason}")
    lines = [
        f"## {call.at:%Y-%m-%d %H:%M:%S} · run {call.run_id} · product {call.product_id}{seq}",
        f"{call.role} · {call.model} · " + " · ".join(facts),
        "learnings in the prompt: " + (", ".join(call.learnings) or "none"),
    ]
    if call.error:
        lines.append(f"error: {call.error}")
    if call.system is None:
        lines.append("(texts not kept: the call log was off for this run)")
    else:
        lines += ["", "### System", call.system, "", "### Prompt", call.prompt or "",
                  "", "### Response", call.response or ""]  # fmt: skip
    return "\n".join(lines) + "\n"
