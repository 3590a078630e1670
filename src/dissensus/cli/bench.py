"""``dissensus bench``: the benchmark commands, gathered under one sub-command group."""

from __future__ import annotations

import importlib.util

import typer

from dissensus.cli.bench_extraction import extraction

__all__ = ["bench_app"]

bench_app = typer.Typer(
    name="bench",
    help="Benchmarks: extraction quality and learning curves; throughput.",
    no_args_is_help=True,
)
bench_app.command("extraction")(extraction)

# ``dissensus bench throughput`` lives in its own module, written alongside this one.
if importlib.util.find_spec("dissensus.cli.bench_throughput") is not None:
    from dissensus.cli.bench_throughput import throughput

    bench_app.command("throughput")(throughput)


if __name__ == "__main__":  # python -m dissensus.cli.bench, before it is wired into the CLI
    bench_app()
