"""``dissensus bench``: the benchmark commands, gathered under one sub-command group."""

from __future__ import annotations

import typer

from dissensus.cli.bench_extraction import extraction
from dissensus.cli.bench_judge import judge
from dissensus.cli.bench_retrieval import retrieval
from dissensus.cli.bench_scale import scale
from dissensus.cli.bench_throughput import throughput

__all__ = ["bench_app"]

bench_app = typer.Typer(
    name="bench",
    help="Benchmarks: extraction quality and learning curves; retrieval of examples; "
    "throughput; judging an output.",
    no_args_is_help=True,
)
bench_app.command("extraction")(extraction)
bench_app.command("throughput")(throughput)
bench_app.command("scale")(scale)
bench_app.command("retrieval")(retrieval)
bench_app.command("judge")(judge)
