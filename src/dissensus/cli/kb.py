"""``dissensus kb``: look at what the system has learned."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from dissensus.cli._common import console, friendly_errors, open_database
from dissensus.config import Settings
from dissensus.knowledge import KnowledgeBase

__all__ = ["kb_app"]

kb_app = typer.Typer(
    help="Inspect the knowledge base: tree, learnings, history.", no_args_is_help=True
)

DbOpt = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: SQLite in $DISSENSUS_HOME).")
]


def _kb(db: str | None) -> KnowledgeBase:
    return KnowledgeBase(open_database(Settings.load(None, database_url=db)))


@kb_app.command("tree")
@friendly_errors
def tree(
    db: DbOpt = None,
    learnings: Annotated[
        bool, typer.Option("--learnings", "-l", help="List each node's active learnings.")
    ] = False,
) -> None:
    """The category tree with learning counts per node."""
    kb = _kb(db)
    nodes = kb.tree()
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
    db: DbOpt = None,
) -> None:
    """One learning: scope, text, example, provenance and history."""
    kb = _kb(db)
    item = kb.get(learning_id)

    def say(text: str) -> None:
        # Learnings are model-written text: print them as they are, never as rich markup.
        console.print(text, markup=False, highlight=False)

    say(f"{item.id} v{item.version} [{item.status}] at {item.node}")
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
    limit: Annotated[int, typer.Option("--limit", "-n", help="Newest N events.")] = 50,
    learning: Annotated[str | None, typer.Option("--learning", help="Only this learning.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """The append-only history of knowledge-base changes (newest last)."""
    kb = _kb(db)
    events = kb.history(limit=limit, learning_id=learning)
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
            escape((event.reason or "")[:60]),
        )
    console.print(table)
