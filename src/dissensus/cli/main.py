"""The ``dissensus`` command."""

from __future__ import annotations

import typer

from dissensus import __version__
from dissensus.cli.kb import kb_app
from dissensus.cli.models import models
from dissensus.cli.run import demo, run

__all__ = ["app"]

app = typer.Typer(
    name="dissensus",
    help="Self-learning product catalog enrichment: workers, disagreement, supervisor, knowledge.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("run")(run)
app.command("demo")(demo)
app.command("models")(models)
app.add_typer(kb_app, name="kb")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dissensus {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Self-learning product catalog enrichment."""
