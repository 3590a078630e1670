"""The ``dissensus`` command."""

from __future__ import annotations

import typer

from dissensus import __version__
from dissensus.cli.bench import bench_app
from dissensus.cli.kb import kb_app
from dissensus.cli.logs import logs
from dissensus.cli.models import models
from dissensus.cli.report import report
from dissensus.cli.review import review_app
from dissensus.cli.run import demo, run
from dissensus.cli.serve import serve, users_app
from dissensus.cli.signals import signals_app

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
app.add_typer(review_app, name="review")
app.add_typer(users_app, name="users")
app.add_typer(bench_app, name="bench")
app.add_typer(signals_app, name="signals")
app.command("report")(report)
app.command("logs")(logs)
app.command("serve")(serve)


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
