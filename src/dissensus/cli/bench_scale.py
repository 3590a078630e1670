"""``dissensus bench scale``: products/s and our CPU per product against a hosted-style API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from dissensus.bench.scale import (
    ScaleConfig,
    ScalePoint,
    levels,
    run_scale,
    scale_report_data,
    write_scale_report,
)
from dissensus.cli._common import console, err_console, friendly_errors
from dissensus.pipeline.ray_engine import require_ray

__all__ = ["scale"]


@friendly_errors
def scale(
    products: Annotated[int, typer.Option("--products", min=1, help="Products per level.")] = 200,
    concurrency: Annotated[
        str, typer.Option("--concurrency", help="Products in flight, per level: e.g. 4,16,64.")
    ] = "4,16,64",
    latency: Annotated[
        float, typer.Option("--latency", min=0.0, help="The fake provider's seconds per answer.")
    ] = 0.3,
    rps: Annotated[
        float, typer.Option("--rps", min=0.0, help="The provider's requests/s limit (0: none).")
    ] = 0.0,
    disagree: Annotated[
        float,
        typer.Option("--disagree", min=0.0, max=1.0, help="Share of disputed answers (0-1)."),
    ] = 0.3,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            min=1,
            help="Products per category batch (batches of one category run one after another).",
        ),
    ] = 8,
    profile: Annotated[
        bool, typer.Option("--profile", help="Profile our CPU at the last level.")
    ] = False,
    categories: Annotated[
        int,
        typer.Option(
            "--categories",
            min=1,
            help="Categories the products are dealt into (a category's batches run in order).",
        ),
    ] = 1,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Directory for scale.json.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="The report as one JSON object on stdout (no table).")
    ] = False,
    engine: Annotated[
        Literal["local", "ray"],
        typer.Option(
            "--engine",
            help="'ray': the loop on a local Ray cluster at each --actors count (extra 'ray').",
        ),
    ] = "local",
    actors: Annotated[
        str, typer.Option("--actors", help="Ray actor counts (with --engine ray): e.g. 1,2.")
    ] = "1,2",
) -> None:
    """The full loop against a fake OpenAI-compatible provider in its own process."""
    try:
        chosen = levels(concurrency)
    except ValueError as exc:
        raise typer.BadParameter(f"{concurrency!r}: give numbers like 4,16,64") from exc
    if engine == "ray":
        require_ray()
    try:
        pools = levels(actors)
    except ValueError as exc:
        raise typer.BadParameter(f"{actors!r}: give numbers like 1,2") from exc
    if not pools or min(pools) < 1:
        raise typer.BadParameter(f"{actors!r}: give actor counts of at least 1")
    config = ScaleConfig(
        products=products, concurrency=chosen, latency_seconds=latency, rps_limit=rps,
        disagree=disagree, batch_size=batch_size, profile=profile, engine=engine, actors=pools,
        categories=categories,
    )  # fmt: skip

    def progress(point: ScalePoint) -> None:
        on = f"{point.actors} Ray actor(s), " if point.actors else ""
        err_console.print(
            f"{on}concurrency {point.concurrency}: {point.products} products in "
            f"{point.wall_seconds:.1f} s, {point.cpu_ms_per_product:.1f} ms CPU each",
            highlight=False,
        )

    report = run_scale(config, on_point=progress)
    if out is not None:
        path = write_scale_report(report, out)
        err_console.print(f"results: {escape(str(path))}", highlight=False)
    if as_json:
        print(json.dumps(scale_report_data(report)))
        return
    table = Table(
        title=f"Full loop against a fake provider ({latency:g} s per answer"
        + (f", {rps:g} requests/s limit" if rps else "") + f"), {report.cores} cores"
    )  # fmt: skip
    for column in ("actors", "concurrency", "products", "errors", "wall s", "products/s",
                   "CPU ms/product", "products per CPU s", "requests",
                   "supervisor calls"):  # fmt: skip
        table.add_column(column, justify="right")
    for p in report.points:
        table.add_row(
            str(p.actors or "-"), str(p.concurrency), str(p.products), str(p.errors),
            f"{p.wall_seconds:.1f}",
            f"{p.products_per_second:.1f}", f"{p.cpu_ms_per_product:.1f}",
            f"{p.products_per_cpu_second:.1f}", str(p.requests), str(p.supervisor_calls),
        )  # fmt: skip
    console.print(table)
    if report.profile_top:
        console.print("where our CPU went (by own time):", highlight=False)
        for line in report.profile_top:
            console.print(escape(line), highlight=False, soft_wrap=True)
