"""The ``dissensus`` command."""

from __future__ import annotations

from typing import Annotated

import typer

from dissensus import __version__
from dissensus.cli.bench import bench_app
from dissensus.cli.kb import kb_app
from dissensus.cli.logs import logs
from dissensus.cli.models import models
from dissensus.cli.report import report
from dissensus.cli.review import review_app
from dissensus.cli.review_sqs import sqs_app
from dissensus.cli.run import demo, run
from dissensus.cli.runs import runs_app
from dissensus.cli.serve import serve, tokens_app, users_app
from dissensus.cli.signals import signals_app
from dissensus.observability.logs import LogLevel, configure_logging

__all__ = ["app"]

app = typer.Typer(
    name="dissensus",
    help="Self-learning product catalog enrichment: workers, disagreement, supervisor, knowledge."
    "\n\nEnvironment: DISSENSUS_HOME (database and models, default ~/.dissensus), "
    "DISSENSUS_DATABASE_URL (a database instead of SQLite in the home; outranks the --config "
    "file), DISSENSUS_LOG_LEVEL, DISSENSUS_LLAMA_THREADS (local model threads, default half the "
    "cores), DISSENSUS_ACTOR (who changes the knowledge base, default $USER), "
    "OTEL_EXPORTER_OTLP_ENDPOINT (send traces; see tracing: in the settings).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("run")(run)
app.command("demo")(demo)
app.command("models")(models)
app.add_typer(runs_app, name="runs")
app.add_typer(kb_app, name="kb")
review_app.add_typer(sqs_app, name="sqs")
app.add_typer(review_app, name="review")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
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
    log_level: Annotated[
        LogLevel,
        typer.Option(
            "--log-level",
            envvar="DISSENSUS_LOG_LEVEL",
            help="Log lines on stderr from this level up (JSON lines when not a terminal).",
            case_sensitive=False,
        ),
    ] = "warning",
) -> None:
    """Options every command shares (the app's ``help`` above is what ``--help`` shows)."""
    configure_logging(log_level)
