"""``dissensus kb``: look at what the system has learned, and govern it.

Every command here is a thin call into :class:`~dissensus.knowledge.Governance` or
:class:`~dissensus.knowledge.KnowledgeBase`; the rules live there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from dissensus.cli._common import (
    console,
    err_console,
    friendly_errors,
    open_database,
    say_cut,
)
from dissensus.config import Settings
from dissensus.domain import CategoryPath, Learning
from dissensus.errors import KnowledgeError
from dissensus.knowledge import Governance, KbDiff, KnowledgeBase

__all__ = ["kb_app"]

kb_app = typer.Typer(
    help="Inspect and govern the knowledge base: tree, learnings, history, review, versions.",
    no_args_is_help=True,
)

DbOpt = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: SQLite in $DISSENSUS_HOME).")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="JSON: one object, or JSON lines for a list.")
]


ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Settings file (for deployment_mode).", exists=False),
]
ActorOpt = Annotated[
    str,
    typer.Option(
        "--actor",
        envvar=["DISSENSUS_ACTOR", "USER"],
        help="Who makes the change, for the history (default: $DISSENSUS_ACTOR or $USER).",
    ),
]
ReasonOpt = Annotated[str, typer.Option("--reason", "-r", help="Why, for the history.")]
IdArg = Annotated[str, typer.Argument(help="Learning id, e.g. L-7f3a2c.")]


def _kb(db: str | None) -> KnowledgeBase:
    return KnowledgeBase(open_database(Settings.load(None, database_url=db)))


def _governance(db: str | None, config: Path | None) -> Governance:
    settings = Settings.load(config, database_url=db)
    return Governance(KnowledgeBase(open_database(settings)), settings.deployment())


def _actor(actor: str) -> str:
    actor = actor.strip()
    if not actor:
        raise KnowledgeError("every change needs an actor; pass --actor NAME or set $USER")
    return actor


def _say(text: str) -> None:
    # Learnings are model- or user-written text: print them as they are, never as rich markup.
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _line(item: Learning) -> str:
    flag = ", approved" if item.approved and item.status == "proposed" else ""
    return f"{item.id} v{item.version} [{item.status}{flag}] {item.node}: {item.text}"


@kb_app.command("tree")
@friendly_errors
def tree(
    db: DbOpt = None,
    learnings: Annotated[
        bool, typer.Option("--learnings", "-l", help="List each node's active learnings.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The category tree with learning counts per node."""
    kb = _kb(db)
    nodes = kb.tree()
    if as_json:
        for node in nodes:
            data = node.model_dump(mode="json")
            if learnings:
                data["learnings"] = [
                    lr.model_dump(mode="json") for lr in kb.list(node_key=node.key, status="active")
                ]
            _say(json.dumps(data, ensure_ascii=False))
        return
    if not nodes:
        console.print("The knowledge base is empty: run `dissensus run` or `dissensus demo` first.")
        return
    by_parent: dict[str | None, list[object]] = {}
    for node in nodes:
        by_parent.setdefault(node.parent_key, []).append(node)
    root = next(n for n in nodes if n.parent_key is None)

    def label(node: object) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(node.counts.items()) if v)  # type: ignore[attr-defined]
        name = escape(node.name)  # type: ignore[attr-defined]
        return f"[bold]{name}[/] [dim]{node.key}[/]" + (f"  ({counts})" if counts else "")  # type: ignore[attr-defined]

    def grow(branch: Tree, node: object) -> None:
        if learnings:
            for item in kb.list(node_key=node.key, status="active"):  # type: ignore[attr-defined]
                branch.add(f"[green]{item.id}[/] {escape(item.text[:90])}", highlight=False)
        for child in sorted(by_parent.get(node.key, []), key=lambda n: n.key):  # type: ignore[attr-defined]
            grow(branch.add(label(child), highlight=False), child)

    top = Tree(label(root), highlight=False)
    grow(top, root)
    console.print(top)


@kb_app.command("show")
@friendly_errors
def show(
    learning_id: Annotated[str, typer.Argument(help="Learning id, e.g. L-7f3a2c.")],
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """One learning: scope, text, example, provenance and history."""
    kb = _kb(db)
    item = kb.get(learning_id)
    if as_json:
        data = item.model_dump(mode="json")
        data["history"] = [e.model_dump(mode="json") for e in kb.history(learning_id=item.id)]
        _say(json.dumps(data, ensure_ascii=False))
        return
    say = _say
    flag = ", approved" if item.approved and item.status == "proposed" else ""
    say(f"{item.id} v{item.version} [{item.status}{flag}] {item.kind} at {item.node}")
    if item.values:
        shown = "; ".join(f"{k}: {v if v is not None else 'n/a'}" for k, v in item.values.items())
        say(f"values: {shown}")
    if item.attributes:
        say(f"attributes: {', '.join(item.attributes)}")
    say(f"text: {item.text}")
    if item.example:
        say(f"example: {item.example}")
    say(f"sources: {', '.join(item.sources) or '-'}; uses: {item.uses}")
    events = kb.history(learning_id=learning_id)
    if events:
        say("history:")
        for event in events:
            say(
                f"  #{event.seq} {event.at:%Y-%m-%d %H:%M:%S} {event.actor} {event.op}"
                + (f": {event.reason}" if event.reason else "")
            )


@kb_app.command("history")
@friendly_errors
def history(
    db: DbOpt = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=0, help="Newest N events (0: all).")
    ] = 50,
    learning: Annotated[str | None, typer.Option("--learning", help="Only this learning.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The append-only history of knowledge-base changes (newest last)."""
    kb = _kb(db)
    if learning is not None:
        kb.get(learning)  # an unknown id is an error, not an empty history
    # One more than shown, to know whether older events were left out.
    events = kb.history(limit=limit + 1 if limit else None, learning_id=learning)
    older = bool(limit) and len(events) > limit
    if older:
        events = events[1:]
    if as_json:
        for event in events:
            # One object per line (the option promises JSON lines), never wrapped or styled.
            line = json.dumps(event.model_dump(mode="json"), ensure_ascii=False)
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(title=f"knowledge base history (version {kb.version()})")
    for column in ("seq", "at", "actor", "op", "learning", "node", "reason"):
        table.add_column(column)
    for event in events:
        table.add_row(
            str(event.seq),
            f"{event.at:%Y-%m-%d %H:%M:%S}",
            event.actor,
            event.op,
            event.learning_id or "",
            event.node_key or "",
            escape(event.reason or ""),
        )
    console.print(table)
    if older:
        say_cut("newest {} events", "older ones", limit, all_with_zero=True)


# --- review: states and edits --------------------------------------------------------------


def _status_command(name: str, doc: str) -> None:
    @kb_app.command(name, help=doc)
    @friendly_errors
    def command(
        learning_id: IdArg,
        actor: ActorOpt = "",
        reason: ReasonOpt = "",
        db: DbOpt = None,
        config: ConfigOpt = None,
    ) -> None:
        gov = _governance(db, config)
        change = getattr(gov, name)
        item: Learning = change(learning_id, actor=_actor(actor), reason=reason)
        _say(_line(item))


_status_command(
    "approve",
    "Approve a proposed learning: staged for `kb promote` (learn-then-deploy) or active at once.",
)
_status_command("reject", "Reject a proposed learning.")
_status_command("deprecate", "Retire an active learning: runs stop using it.")
_status_command("reactivate", "Undo a retirement (→ active) or a rejection (→ proposed).")


@kb_app.command("edit")
@friendly_errors
def edit(
    learning_id: IdArg,
    text: Annotated[str | None, typer.Option("--text", help="The new rule text.")] = None,
    example: Annotated[str | None, typer.Option("--example", help="The new example.")] = None,
    attributes: Annotated[
        list[str] | None,
        typer.Option("--attribute", "-a", help="Attribute it is about (repeat; replaces all)."),
    ] = None,
    actor: ActorOpt = "",
    reason: ReasonOpt = "",
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Correct a learning: a new version; the old one stays in the history."""
    if text is None and example is None and attributes is None:
        raise typer.BadParameter("give --text, --example or --attribute")
    gov = _governance(db, config)
    item = gov.edit(
        learning_id,
        text=text,
        example=example,
        attributes=attributes,
        actor=_actor(actor),
        reason=reason,
    )
    _say(_line(item))


@kb_app.command("add")
@friendly_errors
def add(
    category: Annotated[
        str, typer.Argument(help='Where it applies: "Home > Knives", a node key, or "/" for all.')
    ],
    text: Annotated[str, typer.Argument(help="The rule, concrete and actionable.")],
    example: Annotated[str, typer.Option("--example", help="A solved example.")] = "",
    attributes: Annotated[
        list[str] | None,
        typer.Option("--attribute", "-a", help="Attribute it is about (repeat; none: all)."),
    ] = None,
    actor: ActorOpt = "",
    reason: ReasonOpt = "",
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write a learning by hand (approved; staged in learn-then-deploy, else active)."""
    gov = _governance(db, config)
    who = _actor(actor)
    if category.startswith("/"):
        node_key = category
    else:
        try:
            path = CategoryPath.parse(category)
        except ValueError as exc:
            raise KnowledgeError(f"category {category!r} is not a category path: {exc}") from exc
        node_key = gov.kb.ensure_path(path, actor=who)
    item = gov.add(
        node_key=node_key,
        text=text,
        example=example,
        attributes=attributes or [],
        actor=who,
        reason=reason,
    )
    _say(_line(item))


@kb_app.command("pending")
@friendly_errors
def pending(as_json: JsonOpt = False, db: DbOpt = None, config: ConfigOpt = None) -> None:
    """Proposed learnings: awaiting review, and approved ones awaiting `kb promote`."""
    gov = _governance(db, config)
    waiting, staged = gov.pending(), gov.staged()
    if as_json:
        for item in [*waiting, *staged]:
            _say(item.model_dump_json())
        return
    if not waiting and not staged:
        console.print("Nothing is proposed: no learning awaits review or promotion.")
        return
    _say(f"awaiting review ({len(waiting)}):")
    for item in waiting:
        _say("  " + _line(item))
    _say(f"approved, published by `dissensus kb promote` ({len(staged)}):")
    for item in staged:
        _say("  " + _line(item))


@kb_app.command("promote")
@friendly_errors
def promote(
    actor: ActorOpt = "",
    reason: ReasonOpt = "",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be published.")
    ] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Publish every approved proposed learning to production (active, used by runs)."""
    gov = _governance(db, config)
    items = gov.staged() if dry_run else gov.promote(actor=_actor(actor), reason=reason)
    if not items:
        console.print("Nothing to promote: approve proposed learnings first (`kb approve ID`).")
        return
    verb = "would promote" if dry_run else "promoted"
    _say(f"{verb} {len(items)} learning(s) (knowledge base version {gov.version()}):")
    for item in items:
        _say(f"  {item.id} {item.node}: {item.text}")


# --- versions -------------------------------------------------------------------------------


@kb_app.command("diff")
@friendly_errors
def diff(
    from_version: Annotated[int, typer.Argument(help="The older version (a history seq).")],
    to_version: Annotated[
        int | None, typer.Argument(help="The newer version (default: the current one).")
    ] = None,
    events: Annotated[bool, typer.Option("--events", help="Also list the events.")] = False,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """What changed between two knowledge-base versions."""
    gov = _governance(db, None)
    changes = gov.diff(from_version, to_version)
    if as_json:
        _say(changes.model_dump_json())
        return
    _print_diff(changes, events=events)


@kb_app.command("rollback")
@friendly_errors
def rollback(
    version: Annotated[int, typer.Argument(help="The version to restore (a history seq).")],
    actor: ActorOpt = "",
    reason: ReasonOpt = "",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: DbOpt = None,
) -> None:
    """Restore the knowledge base exactly as it was at VERSION (recorded as new events)."""
    gov = _governance(db, None)
    who = _actor(actor)
    plan = gov.diff(gov.version(), version)
    if plan.empty:
        console.print(f"The knowledge base already holds version {version}'s content.")
        return
    if not yes:
        _print_diff(plan, events=False)
        typer.confirm(f"Restore version {version}?", abort=True)
    done = gov.rollback(version, actor=who, reason=reason)
    _say(
        f"restored version {version}: {len(done.learnings)} learning(s) and "
        f"{len(done.nodes_added) + len(done.nodes_removed)} node(s) changed; now version "
        f"{done.to_version}"
    )


def _print_diff(d: KbDiff, *, events: bool) -> None:
    _say(f"knowledge base version {d.from_version} -> {d.to_version}")
    if d.empty:
        _say("no change")
    for node in d.nodes_added:
        _say(f"+ node {node.key} ({node.name})")
    for node in d.nodes_removed:
        _say(f"- node {node.key} ({node.name})")
    for change in d.learnings:
        if change.after is None:
            assert change.before is not None
            _say(
                f"- {change.id} [{change.before.status}] {change.before.node}: {change.before.text}"
            )
        elif change.before is None:
            _say(f"+ {change.id} [{change.after.status}] {change.after.node}: {change.after.text}")
        else:
            _say(f"~ {change.id} {change.after.node}: {', '.join(change.fields)}")
            for name in change.fields:
                old, new = getattr(change.before, name), getattr(change.after, name)
                _say(f"    {name}: {old!r} -> {new!r}")
    if events:
        for event in d.events:
            _say(
                f"  #{event.seq} {event.at:%Y-%m-%d %H:%M:%S} {event.actor} {event.op} "
                f"{event.learning_id or event.node_key or ''}"
                + (f": {event.reason}" if event.reason else "")
            )


# --- export and import ----------------------------------------------------------------------


@kb_app.command("export")
@friendly_errors
def export(
    file: Annotated[Path, typer.Argument(help="YAML file to write ('-': standard output).")],
    db: DbOpt = None,
) -> None:
    """Write the knowledge base as human-editable, git-friendly YAML."""
    gov = _governance(db, None)
    text = gov.export_yaml()
    if str(file) == "-":
        console.file.write(text)
        return
    try:
        file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise KnowledgeError(f"cannot write {str(file)!r}: {exc}") from exc
    err_console.print(f"exported version {gov.version()} to {escape(str(file))}", highlight=False)


@kb_app.command("import")
@friendly_errors
def import_(
    file: Annotated[Path, typer.Argument(help="YAML file, as written by `kb export` and edited.")],
    actor: ActorOpt = "",
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Validate and apply an edited export (entries without id are new learnings)."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise KnowledgeError(f"cannot read knowledge file {str(file)!r}: {exc}") from exc
    gov = _governance(db, config)
    report = gov.import_yaml(text, actor=_actor(actor), origin=file.name)
    _say(
        f"imported {file.name}: {len(report.added)} added, {len(report.updated)} updated, "
        f"{report.unchanged} unchanged, {len(report.nodes_created)} node(s) created; "
        f"version {report.version}"
    )
    for learning_id in report.added:
        _say(f"  + {learning_id}")
    for learning_id in report.updated:
        _say(f"  ~ {learning_id}")


@kb_app.command("compact")
@friendly_errors
def compact(
    node: Annotated[
        str | None,
        typer.Option("--node", help="Only this category path or node key (default: every node)."),
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    actor: ActorOpt = "aggregator",
    as_json: JsonOpt = False,
) -> None:
    """Deprecate learnings that hurt, merge similar ones, flag contradictions, fit budgets."""
    import asyncio

    from dissensus.knowledge.aggregator import Aggregator, CompactionReport
    from dissensus.knowledge.effectiveness import act_on_effects, measure_effects
    from dissensus.llm import ModelPool

    settings = Settings.load(config, database_url=db)
    kb = KnowledgeBase(open_database(settings))
    keys = None
    if node is not None:
        keys = [node if node.startswith("/") else CategoryPath.parse(node).key]
        kb.node(keys[0])  # raises, naming the fix, when there is no such node
    eff = settings.effectiveness
    effects = measure_effects(kb, min_products=eff.min_products, threshold=eff.threshold)
    deprecated = act_on_effects(kb, effects, auto_deprecate=eff.auto_deprecate, actor=actor)

    async def go() -> CompactionReport:
        async with ModelPool(**settings.model_options()) as pool:
            aggregator = Aggregator(
                kb,
                pool.get(settings.memory_manager_model()),
                similarity=settings.compaction.similarity,
                min_group=settings.compaction.min_group,
                budget_tokens=settings.learning_budget_tokens,
            )
            return await aggregator.compact(keys, actor=_actor(actor))

    done = asyncio.run(go())
    if as_json:
        print(json.dumps({**done.model_dump(mode="json"), "deprecated_as_hurting": deprecated}))
        return
    table = Table(title="Nodes before → after")
    for column in ("node", "learnings", "prompt tokens"):
        table.add_column(column, justify="left" if column == "node" else "right")
    for before, after in zip(done.before, done.after, strict=True):
        table.add_row(
            escape(before.node),
            f"{before.learnings} → {after.learnings}",
            f"{before.tokens} → {after.tokens}",
        )
    console.print(table)
    for group in done.groups:
        what = f"merged into {group.merged_into}" if group.merged_into else group.fallback
        _say(f"group {', '.join(group.members)}: {what}")
    for item in done.contradictions:
        _say(f"contradiction {item.a} / {item.b} ({item.reason}): both flagged for review")
    if deprecated:
        _say(f"deprecated as hurting: {', '.join(deprecated)}")
    if done.trimmed:
        _say(f"crowded out of the prompt budget: {', '.join(done.trimmed)}")
    _say(
        f"KB version {done.version_before} → {done.version_after}; undo with "
        f"`dissensus kb rollback {done.version_before}`"
    )
