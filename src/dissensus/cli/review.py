"""``dissensus review``: work the human review queue from a terminal."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from dissensus.cli._common import (
    console,
    err_console,
    friendly_errors,
    open_database,
    say_cut,
)
from dissensus.config import Settings
from dissensus.llm import ModelPool
from dissensus.pipeline.runs import require_run
from dissensus.review import (
    ReviewDetail,
    ReviewQueue,
    ReviewReason,
    SubmitResult,
    describe_taught,
    refresh_output,
    write_run_output,
)
from dissensus.storage import Database

__all__ = ["review_app"]

review_app = typer.Typer(
    help="Work the human review queue: list, claim, inspect and answer records.",
    no_args_is_help=True,
)

DbOpt = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: SQLite in $DISSENSUS_HOME).")
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML settings file.", exists=True)
]
ReviewerOpt = Annotated[
    str | None, typer.Option("--reviewer", "-r", help="Your name (default: $USER).")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="JSON: one object, or JSON lines for a list.")
]
ItemArg = Annotated[int, typer.Argument(help="Review item id (see `dissensus review list`).")]
StateChoice = Literal["open", "claimed", "done", "all"]


def _open(config: Path | None, db: str | None) -> tuple[Settings, Database, ReviewQueue]:
    settings = Settings.load(config, database_url=db)
    database = open_database(settings)
    return settings, database, ReviewQueue.from_settings(database, settings)


def _reviewer(name: str | None) -> str:
    if name:
        return name
    return os.environ.get("USER") or getpass.getuser()


def _say(text: str) -> None:
    # Product text and model output are data: never read them as rich markup.
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _print_json(data: object) -> None:
    """One compact object per line: the CLI's one JSON format (a list is JSON lines)."""
    _say(json.dumps(data, ensure_ascii=False))


@review_app.command("list")
@friendly_errors
def list_items(
    state: Annotated[
        StateChoice, typer.Option("--state", "-s", help="open, claimed, done or all.")
    ] = "open",
    run_id: Annotated[str | None, typer.Option("--run", help="Only this run.")] = None,
    reason: Annotated[
        ReviewReason | None,
        typer.Option("--reason", help="needs_human, signal, low_confidence, unverified or audit."),
    ] = None,
    category: Annotated[
        str | None,
        typer.Option("--category", help="This category and everything under it."),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option("--query", "-q", help="Text in the product id, title or values."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most N items.")] = 50,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Items in claim order (needs a human; then low confidence or a signal; then unverified
    learnings; then audits; oldest first)."""
    _, database, queue = _open(config, db)
    if run_id is not None:
        require_run(database, run_id)
    items = queue.list(
        state=None if state == "all" else state,
        run_id=run_id,
        reason=reason,
        category=category,
        query=query,
        limit=limit + 1,  # one more than shown, to know whether the list was cut
    )
    cut = len(items) > limit
    items = items[:limit]
    if as_json:
        for item in items:
            _print_json(item.model_dump(mode="json"))
        return
    stats = queue.stats()
    if not items:
        console.print(f"No {'' if state == 'all' else state + ' '}review items.")
    else:
        table = Table(title=f"review queue: {stats.open} open, {stats.claimed} claimed")
        for column in ("id", "state", "reason", "record", "product", "category", "attributes"):
            table.add_column(column)
        table.add_column("claimed by")
        for item in items:
            table.add_row(
                str(item.id),
                item.state,
                item.reason,
                escape(f"{item.run_id}#{item.seq}"),
                escape(item.product_id),
                escape(item.category or ""),
                escape(", ".join(item.attributes)),
                escape(item.claimed_by or "") if item.state == "claimed" else "",
            )
        console.print(table)
    if cut:
        say_cut("first {} items", "more", limit)


@review_app.command("next")
@friendly_errors
def next_item(
    reviewer: ReviewerOpt = None,
    run_id: Annotated[str | None, typer.Option("--run", help="Only this run.")] = None,
    reason: Annotated[
        ReviewReason | None,
        typer.Option("--reason", help="needs_human, signal, low_confidence, unverified or audit."),
    ] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Claim the next item and show it; it is yours until the claim times out."""
    _, _, queue = _open(config, db)
    detail = queue.claim_next(reviewer=_reviewer(reviewer), run_id=run_id, reason=reason)
    if detail is None:
        console.print("The review queue is empty.")
        return
    _show(detail, as_json=as_json)


@review_app.command("show")
@friendly_errors
def show(
    item_id: ItemArg, as_json: JsonOpt = False, config: ConfigOpt = None, db: DbOpt = None
) -> None:
    """Everything about one item: product, workers, evaluator, supervisor, learnings."""
    _, _, queue = _open(config, db)
    _show(queue.get(item_id), as_json=as_json)


@review_app.command("release")
@friendly_errors
def release(
    item_id: ItemArg, reviewer: ReviewerOpt = None, config: ConfigOpt = None, db: DbOpt = None
) -> None:
    """Give a claimed item back to the queue without answering it."""
    _, _, queue = _open(config, db)
    item = queue.release(item_id, reviewer=_reviewer(reviewer))
    console.print(f"Item {item.id} is back in the queue.")


@review_app.command("submit")
@friendly_errors
def submit(
    item_id: ItemArg,
    values: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="A final value, NAME=VALUE (NAME= for absent); repeat. Reviewed attributes "
            "not set are confirmed as they are.",
        ),
    ] = None,
    learning: Annotated[
        str | None,
        typer.Option("--learning", help="A lesson for later products; enters the KB as proposed."),
    ] = None,
    reviewer: ReviewerOpt = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Memory-manager model for --learning (default: settings)."),
    ] = None,
    write_output: Annotated[
        bool,
        typer.Option(
            "--write-output/--no-write-output",
            help="Rewrite the run's output file with the new values (skipped while it runs).",
        ),
    ] = True,
    all_absent: Annotated[
        bool,
        typer.Option(
            "--all-absent", help="Confirm that the product states none of the reviewed attributes."
        ),
    ] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Answer an item: set final values (status human), optionally teach a learning."""
    settings, database, queue = _open(config, db)
    parsed = _parse_values(values or [])

    async def go() -> SubmitResult:
        if learning is None:
            return await queue.submit(
                item_id, reviewer=_reviewer(reviewer), values=parsed, all_absent=all_absent
            )
        async with ModelPool(**settings.model_options()) as pool:
            llm = pool.get(model or settings.memory_manager_model())
            return await queue.submit(
                item_id,
                reviewer=_reviewer(reviewer),
                values=parsed,
                learning=learning,
                llm=llm,
                all_absent=all_absent,
            )

    result = asyncio.run(go())
    item, sub = result.item, result.item.submission
    assert sub is not None  # a submitted item always has one
    final = ", ".join(f"{name}={_text(value)}" for name, value in sub.values.items())
    _say(
        f"Item {item.id} submitted: {item.run_id}#{item.seq} ({item.product_id}) now has "
        f"{final} [human]; changed: {', '.join(sub.changed) or 'none'}."
    )
    if result.placement is not None:
        where = result.placement.learning_id or result.placement.duplicate_of
        console.print(
            f"Learning {result.placement.op} as {escape(str(where))} (proposed) at "
            f"{escape(result.placement.node)}.",
            highlight=False,
        )
    if result.taught:
        console.print(f"Taught: {escape(describe_taught(result.taught))}.", highlight=False)
    if result.retired:
        console.print(
            f"Retired or flagged (corrected too often): {escape(', '.join(result.retired))}.",
            highlight=False,
        )
    if write_output:
        _rewrite_output(database, item.run_id)


@review_app.command("export")
@friendly_errors
def export(
    run_id: Annotated[str, typer.Argument(help="The run whose output file to write.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output JSONL (default: the run's own).")
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Write a run's output file from its stored records (reviewed values included)."""
    _, database, _ = _open(config, db)
    path, lines = write_run_output(database, run_id, out)
    console.print(f"Wrote {lines} records to {escape(str(path))}.", highlight=False)


def _parse_values(pairs: list[str]) -> dict[str, str | None]:
    parsed: dict[str, str | None] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(
                f"{pair!r} must be NAME=VALUE (NAME= for absent)", param_hint="--set"
            )
        parsed[name.strip()] = value.strip() or None
    return parsed


def _rewrite_output(db: Database, run_id: str) -> None:
    refresh = refresh_output(db, run_id)
    (console if refresh.outcome == "rewritten" else err_console).print(
        escape(refresh.describe()), highlight=False
    )


def _show(detail: ReviewDetail, *, as_json: bool) -> None:
    if as_json:
        _print_json(detail.model_dump(mode="json"))
        return
    ctx = detail.context
    product = ctx.product
    claim = (
        f", claimed by {detail.claimed_by} until {detail.claim_expires_at:%Y-%m-%d %H:%M} UTC"
        if detail.state == "claimed" and detail.claim_expires_at
        else ""
    )
    _say(f"Review item {detail.id} [{detail.state}{claim}] - {detail.reason}")
    _say(
        f"record: {detail.run_id}#{detail.seq}  product: {product.id}  category: {product.category}"
    )
    _say(f"title: {product.title}")
    if product.description:
        _say(f"description: {product.description}")
    for key, value in product.signals().items():
        _say(f"{key}: {json.dumps(value, ensure_ascii=False)}")
    if ctx.audit_rate is not None:
        _say(f"audit sample at rate {ctx.audit_rate:.2%}")

    verdicts = ctx.evaluation.verdicts if ctx.evaluation else {}
    resolution = ctx.supervisor.resolution if ctx.supervisor else None
    table = Table(title="answers", show_lines=False)
    table.add_column("attribute")
    for extraction in ctx.extractions:
        table.add_column(escape(f"{extraction.role} ({extraction.model})"))
    table.add_column("evaluator")
    table.add_column("supervisor")
    table.add_column("now")
    for spec in ctx.attributes:
        name = spec.name
        mark = "*" if name in detail.attributes else ""
        row = [escape(name + mark)]
        for extraction in ctx.extractions:
            row.append(
                "(abstained)"
                if extraction.abstained
                else escape(_text(extraction.values.get(name, "")))
            )
        verdict = verdicts.get(name)
        row.append(
            escape(
                f"{verdict.verdict}"
                + (f" -> {verdict.suggestion}" if verdict.suggestion else "")
                + (f": {verdict.reason}" if verdict.reason else "")
            )
            if verdict
            else ""
        )
        row.append(
            escape(_text(resolution.values[name]))
            if resolution and name in resolution.values
            else ""
        )
        current = detail.current.attributes.get(name)
        row.append(escape(f"{_text(current.value)} [{current.status}]") if current else "")
        table.add_row(*row)
    console.print(table)
    closed = [s for s in ctx.attributes if s.values]
    for spec in closed:
        _say(f"{spec.name} allowed: {', '.join(spec.values or [])}")
    _say("* = under review")
    if ctx.supervisor is not None:
        sup = ctx.supervisor
        if resolution is None:
            _say(f"supervisor {sup.model} abstained: {sup.error or 'no answer'}")
        else:
            _say(
                f"supervisor {sup.model}: confidence {resolution.confidence:.2f}"
                + (", needs a human" if resolution.needs_human else "")
            )
            if resolution.why_workers_failed:
                _say(f"why the workers failed: {resolution.why_workers_failed}")
            for draft in resolution.learnings:
                _say(f"drafted learning: {draft.text}")
    if ctx.learnings:
        _say("learnings in play:")
        for item in ctx.learnings:
            _say(f"  {item.render()}")
    if detail.submission is not None:
        sub = detail.submission
        _say(
            f"submitted by {sub.reviewer} at {sub.at:%Y-%m-%d %H:%M} UTC; "
            f"changed: {', '.join(sub.changed) or 'none'}"
        )
        if sub.learning:
            _say(f"learning: {sub.learning} ({sub.learning_id or 'not placed'})")
    else:
        _say(
            f"answer: dissensus review submit {detail.id} "
            + " ".join(f"--set '{n}=...'" for n in detail.attributes)
        )


def _text(value: str | None) -> str:
    return "(absent)" if value is None else value
