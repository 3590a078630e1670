"""``dissensus bench retrieval``: which solved examples each ranking method shows a worker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dissensus.bench.loader import default_data_dir
from dissensus.bench.retrieval import (
    METHODS,
    Method,
    MethodResult,
    RetrievalConfig,
    RetrievalReport,
    run_retrieval,
)
from dissensus.cli._common import console, err_console, friendly_errors, output_directory
from dissensus.llm import EngineOptions, ModelPool

__all__ = ["retrieval"]


def _methods(text: str) -> list[Method]:
    chosen: list[Method] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        match = next((m for m in METHODS if m == part), None)
        if match is None:
            raise typer.BadParameter(f"unknown method {part!r}; choose from {', '.join(METHODS)}")
        chosen.append(match)
    if not chosen:
        raise typer.BadParameter("name at least one method")
    return chosen


@friendly_errors
def retrieval(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Directory with train.jsonl, train_0.2.jsonl, test.jsonl."),
    ] = None,
    methods: Annotated[
        str, typer.Option("--methods", help=f"Comma-separated, of: {', '.join(METHODS)}.")
    ] = ",".join(METHODS),
    queries: Annotated[
        int, typer.Option("--queries", min=1, help="Train records outside the verified catalog.")
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Which train records are the queries.")] = 99,
    k: Annotated[int, typer.Option("-k", min=1, help="Examples shown per product.")] = 3,
    generator: Annotated[
        str | None,
        typer.Option(
            "--generator", "-g", help="Also extract with this model shown each method's examples."
        ),
    ] = None,
    threads: Annotated[
        int, typer.Option("--threads", min=0, help="llama.cpp threads (0: half the cores).")
    ] = 0,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Directory for retrieval.json.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="The report as one JSON object on stdout (no table).")
    ] = False,
) -> None:
    """Compare ways of choosing solved examples on a train slice (never the test split)."""
    if out is not None:
        output_directory(out)
    config = RetrievalConfig(
        data_dir=str((data or default_data_dir()).resolve()),
        methods=_methods(methods),
        queries=queries,
        seed=seed,
        k=k,
        generator=generator,
    )

    def progress(result: MethodResult) -> None:
        err_console.print(f"{result.method}: done", highlight=False)

    async def go() -> RetrievalReport:
        if generator is None:
            return await run_retrieval(config, on_method=progress)
        engine = EngineOptions(threads=threads) if threads else None
        async with ModelPool(engine=engine) as pool:
            llm = pool.get(generator)
            return await run_retrieval(config, llm=llm, on_method=progress)

    report = asyncio.run(go())
    if out is not None:
        path = out / "retrieval.json"
        path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
        err_console.print(f"results: {escape(str(path))}", highlight=False)
    if as_json:
        print(report.model_dump_json())
        return
    table = Table(
        title=f"Solved examples for {queries} train records (seed {seed}), top {k} of a "
        f"{report.pool}-product verified pool"
    )
    columns = ["method", "same value shown", "attribute shown", "ms/query", "setup s"]
    if generator is not None:
        columns += ["F1", "strict F1"]
    for column in columns:
        table.add_column(column, justify="left" if column == "method" else "right")
    for r in report.results:
        row = [
            r.method,
            f"{r.value_hit_rate:.1%} ({r.value_hits}/{r.labelled_values})",
            f"{r.attribute_hit_rate:.1%}",
            f"{r.ms_per_query:.2f}",
            f"{r.setup_seconds:.2f}",
        ]
        if generator is not None:
            row += [f"{r.f1:.2f}", f"{r.strict_f1:.2f}"]
        table.add_row(*row)
    console.print(table)
    for i in report.intervals:
        console.print(
            f"{i.a} − {i.b}: {i.difference:+.2f} [{i.low:+.2f}, {i.high:+.2f}] published F1",
            highlight=False,
        )
