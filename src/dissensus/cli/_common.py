"""Shared CLI plumbing: one console, one way to report errors, one way to open storage."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from dissensus.config import Settings
from dissensus.errors import DissensusError, InputError
from dissensus.storage import Database

__all__ = [
    "console",
    "err_console",
    "friendly_errors",
    "open_database",
    "output_directory",
    "say_cut",
]


def _console(*, stderr: bool = False) -> Console:
    """A console; piped into a file or a CI log it is wide, so tables are not cut to 80 columns.

    Rich falls back to 80 columns when it is not writing to a terminal (and ``COLUMNS`` is not
    set), which squeezes the benchmark tables into unreadable ellipses in a log file.
    """
    probe = Console(stderr=stderr)
    if probe.is_terminal or "COLUMNS" in os.environ:
        return probe
    return Console(stderr=stderr, width=160)


console = _console()
err_console = _console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors into one red line and exit code 1 instead of a traceback.

    Exit codes: 0 success, 1 a failure the library reported (bad input, a missing run, a
    refused action), 2 a usage error (unknown option, missing argument: typer/click's own),
    130 interrupted.
    """

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DissensusError as exc:
            # Escaped: messages hold brackets ("pip install 'dissensus[embedded]'") that rich
            # would take for markup; soft_wrap keeps it one line however narrow the terminal.
            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(1) from exc

    return wrapper


def open_database(settings: Settings) -> Database:
    """Open (and migrate) the database the settings point at."""
    return Database.open(settings.database_url, home=settings.home)


@contextmanager
def settings_from(config: Path | None, **overrides: object) -> Iterator[Settings]:
    yield Settings.load(config, **overrides)


def output_directory(path: Path, option: str = "--out") -> Path:
    """Make the directory a command writes into, before any work starts.

    Checked first because the work can take hours: a path under a file, an existing file or a
    read-only place must be one error line at the start, not a traceback at the end that loses
    what was measured.

    Raises:
        InputError: the directory cannot be made or written to.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{option} {str(path)!r}: cannot make the directory: {exc.strerror}"
        ) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(f"{option} {str(path)!r}: the directory is not writable")
    return path


def say_cut(shown: str, rest: str, limit: int, *, all_with_zero: bool = False) -> None:
    """Tell, on stderr, that a listing stopped at ``-n limit`` and how to see more.

    A list that silently ends at its default size reads as the whole story; so every listing
    with a ``--limit`` says so when it was cut: "the newest 50 events; older ones: -n 100".
    ``shown`` and ``rest`` name what was listed and what was left out.
    """
    hint = f"the {shown.format(limit)}; {rest}: -n {limit * 2}"
    if all_with_zero:
        hint += ", or -n 0 for all"
    err_console.print(hint, highlight=False)
