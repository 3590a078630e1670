"""``dissensus bench throughput``: pipeline vs raw engine speed, and prefix-cache hits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dissensus.bench.loader import default_data_dir
from dissensus.bench.throughput import (
    TARGET_RATIO,
    Order,
    PhaseResult,
    ThroughputConfig,
    ThroughputReport,
    load_catalog,
    load_oa_mine,
    run_throughput,
    select_products,
    write_report,
)
from dissensus.cli._common import console, err_console, friendly_errors
from dissensus.errors import ConfigError

__all__ = ["print_report", "throughput"]


def print_report(report: ThroughputReport) -> None:
    """The phases side by side, then pipeline/raw per order."""
    table = Table(title=f"Throughput on {escape(report.config.model)}")
    columns = (
        "arm",
        "order",
        "products",
        "calls",
        "wall s",
        "products/s",
        "calls/s",
        "tokens/s",
        "out tok/s",
        "cache hit",
        "prompt s",
        "gen s",
        "slots busy",
        "load",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in {"arm", "order"} else "right")
    for p in report.phases:
        table.add_row(
            p.arm,
            p.order,
            str(p.products),
            str(p.model_calls),
            f"{p.wall_seconds:.1f}",
            f"{p.products_per_second:.3f}",
            f"{p.calls_per_second:.3f}",
            f"{p.tokens_per_second:.1f}",
            f"{p.completion_tokens_per_second:.1f}",
            f"{p.cache_hit_ratio:.0%}",
            f"{p.prompt_seconds:.0f}",
            f"{p.completion_seconds:.0f}",
            f"{p.slot_occupancy:.0%}",
            f"{p.load_before:.1f}→{p.load_after:.1f}",
        )
    console.print(table)
    for c in report.comparisons:
        mark = "[green]meets[/]" if c.meets_target else "[red]below[/]"
        console.print(
            f"pipeline/raw ({c.order}): products {c.products_ratio:.2f} ({mark} the "
            f"{TARGET_RATIO:.2f} target), calls {c.calls_ratio:.2f}, tokens {c.tokens_ratio:.2f}",
            highlight=False,
        )
    console.print(
        f"machine: {report.machine.get('cpu_count')} CPUs, {report.machine.get('threads')} "
        f"llama.cpp threads, load {report.machine.get('load_average_1m')}; "
        f"total {report.wall_seconds:.0f} s",
        highlight=False,
    )


@friendly_errors
def throughput(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="OA-Mine directory (test.jsonl texts, train.jsonl attribute names); default "
            "$DISSENSUS_BENCH_DATA or ../shared/datasets/oa-mine next to the repository.",
        ),
    ] = None,
    catalog: Annotated[
        Path | None,
        typer.Option(
            "--catalog", help="Any catalog (JSONL/CSV) instead of OA-Mine; needs --schema."
        ),
    ] = None,
    schema: Annotated[
        Path | None, typer.Option("--schema", help="Schema YAML of --catalog.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Products, categories taking turns.")
    ] = 40,
    model: Annotated[str, typer.Option("--model", help="Local model.")] = "local:gemma3-270m",
    parallel: Annotated[int, typer.Option("--parallel", min=1, help="Engine slots.")] = 4,
    threads: Annotated[
        int, typer.Option("--threads", min=0, help="llama.cpp threads (0: default).")
    ] = 0,
    order: Annotated[
        list[str] | None,
        typer.Option("--order", help="interleaved and/or grouped (repeat; default both)."),
    ] = None,
    evaluator: Annotated[
        bool, typer.Option("--evaluator/--no-evaluator", help="Include the evaluator call.")
    ] = True,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Pipeline category batch size.")
    ] = 8,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Directory for throughput.json.")
    ] = None,
    trace_endpoint: Annotated[
        str | None,
        typer.Option(
            "--trace-endpoint",
            help="Send the pipeline arm's traces to this OTLP/HTTP URL (measures tracing's cost).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="The report as one JSON object on stdout (no table).")
    ] = False,
) -> None:
    """Pipeline vs raw engine on the same products: products/s, calls/s, tokens/s, cache hits."""
    orders: list[Order] = []
    for name in order or ["interleaved", "grouped"]:
        if name not in ("interleaved", "grouped"):
            raise typer.BadParameter(
                f"{name!r} is not known; use interleaved or grouped", param_hint="--order"
            )
        orders.append("interleaved" if name == "interleaved" else "grouped")
    if catalog is not None:
        if schema is None:
            raise ConfigError("--catalog needs --schema (the YAML schema of its categories)")
        products, catalog_schema = load_catalog(catalog, schema)
        source = str(catalog)
    else:
        data = data or default_data_dir()
        products, catalog_schema = load_oa_mine(data)
        source = str(data / "test.jsonl")
    chosen = select_products(products, limit)
    config = ThroughputConfig(
        model=model,
        parallel=parallel,
        threads=threads,
        evaluator=evaluator,
        batch_size=batch_size,
        orders=orders,
        trace_endpoint=trace_endpoint,
    )

    def progress(phase: PhaseResult) -> None:
        err_console.print(
            f"{phase.arm} / {phase.order}: {phase.products} products in {phase.wall_seconds:.1f} s",
            highlight=False,
        )

    err_console.print(
        f"{len(chosen)} products from {escape(source)}; {len(orders) * 2} phases",
        highlight=False,
    )
    report = asyncio.run(
        run_throughput(
            chosen,
            catalog_schema,
            config,
            data={"source": source, "products": len(chosen)},
            on_phase=progress,
        )
    )
    if out is not None:
        path = write_report(report, out)
        err_console.print(f"results: {escape(str(path))}", highlight=False)
    if as_json:
        print(report.model_dump_json())
        return
    print_report(report)
