"""``dissensus run`` and ``dissensus demo``."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from dissensus.cli._common import console, err_console, friendly_errors, open_database
from dissensus.cli._progress import progress_bar
from dissensus.config import GeneratorConfig, GeneratorStyle, Settings
from dissensus.errors import InputError, MissingExtraError
from dissensus.llm import ModelPool
from dissensus.observability.metrics import (
    MetricsServer,
    RunMetrics,
    StoreCollector,
    new_registry,
    serve_metrics,
)
from dissensus.observability.tracing import Tracing
from dissensus.pipeline import Runner, RunRequest, RunSummary, new_run_id
from dissensus.pipeline.inputs import refuse_overwrite
from dissensus.pipeline.outputs import copy_jsonl, write_parquet
from dissensus.pipeline.ray_engine import RayOptions, require_ray
from dissensus.pipeline.rerun import RerunReport, rerun_affected, rerun_paths
from dissensus.pipeline.runs import run_row

__all__ = ["demo", "print_changes", "print_summary", "run", "sample_dir"]


def sample_dir() -> Path:
    """The bundled demo catalog, schema and verified catalog."""
    return Path(str(files("dissensus").joinpath("data", "sample")))


def _execute(
    settings: Settings,
    request: RunRequest,
    *,
    quiet: bool,
    rerun_of: str | None = None,
    metrics_port: int | None = None,
    metrics_addr: str = "127.0.0.1",
    ray: RayOptions | None = None,
) -> RunSummary | RerunReport:
    """Run ``request`` with a progress bar; with ``rerun_of``, rerun that run's affected products.

    A rerun's ``request`` names only the new run id, the output and the verified catalog: its
    input and schema come from the past run (:mod:`dissensus.pipeline.rerun`).
    """
    db = open_database(settings)
    # Both fail here, before any model loads: a taken port or a missing extra is not worth a
    # run's first hour.
    tracing = Tracing.from_settings(settings.tracing)
    metrics: RunMetrics | None = None
    server: MetricsServer | None = None
    if metrics_port is not None:
        registry = new_registry()
        metrics = RunMetrics(registry)
        registry.register(StoreCollector(db))
        server = serve_metrics(registry, metrics_port, addr=metrics_addr)
        err_console.print(
            f"metrics: http://{escape(metrics_addr)}:{server.port}/metrics", highlight=False
        )
    progress = progress_bar(
        TextColumn("[bold]{task.description}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        quiet=quiet,
    )
    task = progress.add_task("enriching", total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    async def go() -> RunSummary | RerunReport:
        async with ModelPool(**settings.model_options()) as pool:
            pool.instrument(tracing.provider, content=tracing.content)
            runner = Runner(
                settings,
                db=db,
                open_model=pool.get,
                progress=update,
                metrics=metrics,
                tracing=tracing,
                ray=ray,
            )
            if rerun_of is not None:
                return await rerun_affected(
                    runner,
                    rerun_of,
                    run_id=request.run_id,
                    out_path=request.out_path,
                    verified_path=request.verified_path,
                )
            return await runner.run(request)

    source = f"products of {rerun_of} affected by new learnings" if rerun_of else request.input_path
    err_console.print(
        f"run [bold]{escape(request.run_id)}[/]: "
        f"{escape(str(source))} -> {escape(str(request.out_path))}",
        highlight=False,
    )
    try:
        with progress:
            return asyncio.run(go())
    except KeyboardInterrupt:
        again = (
            f"--rerun affected --from-run {rerun_of}"
            if rerun_of
            else f"{request.input_path} --schema {request.schema_path}"
        )
        err_console.print(
            "\n[yellow]interrupted.[/] Finished products are saved; continue with:\n"
            + escape(f"  dissensus run {again} --out {request.out_path} --run-id {request.run_id}"),
            highlight=False,
        )
        raise typer.Exit(130) from None
    finally:
        tracing.shutdown()
        if server is not None:
            server.close()


def print_summary(summary: RunSummary, *, to: Console | None = None) -> None:
    """The end-of-run summary as a table (on stderr when stdout carries the records)."""
    out = to or console
    out.print(
        f"\n[bold]run {escape(summary.run_id)}[/]{' (resumed)' if summary.resumed else ''}: "
        f"{summary.products} products, {summary.errors} errors, "
        f"{summary.wall_seconds:.1f} s",
        highlight=False,
    )
    out.print(
        f"consensus rate {summary.consensus_rate:.0%} of {summary.attributes} attributes; "
        f"disagreement rate {summary.disagreement_rate:.0%} of products; "
        f"supervisor calls {summary.supervisor_calls}; learnings added {summary.learnings_added}",
        highlight=False,
    )
    out.print(
        f"statuses: {', '.join(f'{k} {v}' for k, v in sorted(summary.statuses.items()))}; "
        f"model requests {summary.model_requests}, tokens {summary.input_tokens} in / "
        f"{summary.output_tokens} out",
        highlight=False,
    )
    if summary.impact is not None:
        impact = summary.impact
        kinds = "; ".join(
            f"{kind} {', '.join(f'{n} {status}' for status, n in sorted(states.items()))}"
            for kind, states in sorted(impact.by_kind.items())
        )
        out.print(
            f"what the learnings changed: {impact.settled_by_learnings} values settled by "
            f"consensus with this run's learnings in the workers' evidence; disagreement "
            f"{impact.first_half_disagreement:.0%} in the first half of each category's products, "
            f"{impact.second_half_disagreement:.0%} in the second; supervisor calls "
            f"{impact.first_half_supervisor_calls} → {impact.second_half_supervisor_calls}, "
            f"attributes they were asked about per product "
            f"{impact.first_half_disputed_attributes:.1f} → "
            f"{impact.second_half_disputed_attributes:.1f} ({impact.routed} lone values settled "
            f"by routes instead: learned from the supervisor's rulings, or the verified "
            f"catalog's presence prior); learnings {kinds}",
            highlight=False,
        )
    table = Table(title="Disagreement by category")
    for column in ("category", "products", "disputed", "rate", "disputed attrs"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for name, stats in sorted(summary.by_category.items()):
        table.add_row(
            escape(name),
            str(stats.products),
            str(stats.disputed_products),
            f"{stats.disagreement_rate:.0%}",
            f"{stats.disputed_attributes}/{stats.attributes}",
        )
    out.print(table)


def print_changes(report: RerunReport) -> None:
    """What a rerun changed, per product and attribute, as a table."""
    if report.run_id is None:
        console.print(
            f"no product of run {escape(report.past_run_id)} is affected by a learning that "
            "became active after it was processed; nothing to rerun",
            highlight=False,
        )
        return
    table = Table(title=f"Changes: {report.past_run_id} → {report.run_id}")
    for column in ("product", "attribute", "before", "after", "new learnings"):
        table.add_column(column)
    for product in report.products:
        learnings = ", ".join(product.learnings)
        if product.error:
            table.add_row(escape(product.product_id), "", "", escape(product.error), learnings)
        for change in product.changes:
            table.add_row(
                escape(product.product_id),
                escape(change.attribute),
                escape(f"{change.old_value!r} ({change.old_status})"),
                escape(f"{change.new_value!r} ({change.new_status})"),
                learnings,
            )
    console.print(table)
    console.print(
        f"rerun {escape(report.run_id)} of {escape(report.past_run_id)}: "
        f"{len(report.products)} products affected, {report.changed_products} changed, "
        f"{report.changed_attributes} attributes changed",
        highlight=False,
    )


ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML settings file.", exists=True)
]
DbOpt = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: SQLite in $DISSENSUS_HOME).")
]
GenOpt = Annotated[
    list[str] | None,
    typer.Option("--generator", "-g", help="Generator model; repeat for several."),
]
EvalOpt = Annotated[str | None, typer.Option("--evaluator", help="Evaluator model, or 'none'.")]
SupOpt = Annotated[str | None, typer.Option("--supervisor", help="Supervisor model.")]
BatchOpt = Annotated[int | None, typer.Option("--batch-size", help="Products per category batch.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
NoLearnOpt = Annotated[
    bool, typer.Option("--no-learning", help="Do not write learnings (baseline runs).")
]


def _settings(
    config: Path | None,
    db: str | None,
    generators: list[str] | None,
    evaluator: str | None,
    supervisor: str | None,
    batch_size: int | None,
    no_learning: bool,
) -> Settings:
    overrides: dict[str, object] = {"database_url": db, "batch_size": batch_size}
    if generators:
        styles: tuple[GeneratorStyle, GeneratorStyle] = ("direct", "evidence")
        overrides["generators"] = [
            GeneratorConfig(model=m, style=styles[i % 2]) for i, m in enumerate(generators)
        ]
    if evaluator is not None and evaluator != "none":
        overrides["evaluator"] = evaluator
    if supervisor is not None:
        overrides["supervisor"] = supervisor
    settings = Settings.load(config, **overrides)
    if evaluator == "none":
        # Not an override: Settings.load drops None overrides as "not given".
        settings = settings.model_copy(update={"evaluator": None})
    if no_learning:
        settings = settings.model_copy(update={"learning": False})
    return settings


RerunMode = Literal["affected"]
Engine = Literal["local", "ray"]


@friendly_errors
def run(
    input_path: Annotated[
        Path | None,
        typer.Argument(
            help="Products: JSONL, CSV or Parquet (id, title, description?, category); "
            "'-' reads JSONL from standard input."
        ),
    ] = None,
    schema: Annotated[Path | None, typer.Option("--schema", "-s", help="Schema YAML.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Output: JSONL, or .parquet; '-' writes JSONL to standard output (the summary "
            "then goes to stderr).",
        ),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Resume this run, or name a new one.")
    ] = None,
    verified: Annotated[
        Path | None,
        typer.Option(
            "--verified",
            help="Verified catalog (JSONL/CSV): the supervisor's evidence, the lexicon's known "
            "values, retrieved examples, the presence prior and the learning gate's evidence "
            "(without it, machine-made learnings stay proposed).",
        ),
    ] = None,
    rerun: Annotated[
        RerunMode | None,
        typer.Option(
            "--rerun",
            help="'affected': rerun the products of --from-run that a learning which became "
            "active after they were processed would change, and report what changed.",
        ),
    ] = None,
    from_run: Annotated[
        str | None,
        typer.Option(
            "--from-run",
            help="The past run to rerun (with --rerun); its input and schema are reused.",
        ),
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    generator: GenOpt = None,
    evaluator: EvalOpt = None,
    supervisor: SupOpt = None,
    batch_size: BatchOpt = None,
    no_learning: NoLearnOpt = False,
    quiet: QuietOpt = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=0,
            max=65535,
            help="Serve Prometheus metrics of this run on this port while it runs (0: any).",
        ),
    ] = None,
    metrics_addr: Annotated[
        str, typer.Option("--metrics-addr", help="Address for --metrics-port.")
    ] = "127.0.0.1",
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="The summary (with --rerun: the rerun report) as one JSON object on stdout.",
        ),
    ] = False,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="'local': this process; 'ray': the model stages on a Ray actor pool (extra "
            "'ray'; share the knowledge base through PostgreSQL across machines).",
        ),
    ] = "local",
    actors: Annotated[
        int, typer.Option("--actors", min=1, help="Ray actors (with --engine ray).")
    ] = 2,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="Ray cluster to join (with --engine ray); default: a local one on this "
            "machine's cores.",
        ),
    ] = None,
) -> None:
    """Enrich a catalog: workers, consensus, supervisor, and learning as it goes.

    With --rerun affected --from-run RUN: re-process only the products of RUN that new
    learnings would change, as a new run, and report old → new per attribute (also written to
    OUT.changes.json). The output defaults to RUN's output folder, named after the new run.
    """
    settings = _settings(config, db, generator, evaluator, supervisor, batch_size, no_learning)
    ray: RayOptions | None = None
    if engine == "ray" and rerun is not None:
        # A rerun goes through the local pipeline; saying so beats running locally unasked.
        raise typer.BadParameter(
            "--rerun affected runs on this machine only; drop --engine ray", param_hint="--engine"
        )
    if engine == "ray":
        require_ray()
        ray = RayOptions(actors=actors, address=ray_address)
    elif actors != 2 or ray_address is not None:
        raise typer.BadParameter("--actors and --ray-address go with --engine ray")
    if rerun is not None:
        if from_run is None:
            raise typer.BadParameter(
                "--rerun affected needs --from-run RUN_ID", param_hint="--from-run"
            )
        if input_path is not None or schema is not None:
            raise typer.BadParameter(
                "a rerun reads the past run's input and schema; drop INPUT_PATH and --schema"
            )
        new_id = run_id or new_run_id()
        past_input, past_schema, past_out = _past_files(settings, from_run)
        target = out or (past_out.parent if past_out else Path()) / f"{new_id}.jsonl"
        request = RunRequest(
            input_path=past_input,
            schema_path=past_schema,
            out_path=target,
            run_id=new_id,
            verified_path=verified,
        )
        result = _execute(
            settings,
            request,
            quiet=quiet,
            rerun_of=from_run,
            metrics_port=metrics_port,
            metrics_addr=metrics_addr,
        )
        assert isinstance(result, RerunReport)
        if as_json:
            print(result.model_dump_json())
            return
        if result.summary is not None:
            print_summary(result.summary)
        print_changes(result)
        if result.run_id is not None:
            console.print(f"output: {escape(str(target))}", highlight=False)
        console.print(f"changes: {escape(str(rerun_paths(target).changes))}", highlight=False)
        return
    if from_run is not None:
        raise typer.BadParameter("--from-run only goes with --rerun affected")
    if input_path is None or schema is None or out is None:
        raise typer.BadParameter("give INPUT_PATH, --schema and --out (or --rerun affected)")
    if as_json and str(out) == "-":
        raise typer.BadParameter(
            "--out - puts the records on standard output; drop --json and read the summary "
            "with `dissensus runs show RUN --json`",
            param_hint="--json",
        )
    the_run = run_id or new_run_id()
    if str(input_path) == "-":
        input_path = _spool_stdin(settings, the_run)
    to_stdout = str(out) == "-"
    if not to_stdout:
        # Before any model loads; a Parquet output is written after the run, from its JSONL.
        refuse_overwrite(out, (input_path, schema, verified))
    to_parquet = out.suffix.lower() == ".parquet"
    if to_parquet:
        _require_pyarrow()
    # The run's own JSONL goes where resume and review find it; stdout and Parquet copy it.
    jsonl = settings.home / "outputs" / f"{the_run}.jsonl" if to_stdout or to_parquet else out
    request = RunRequest(
        input_path=input_path,
        schema_path=schema,
        out_path=jsonl,
        run_id=the_run,
        verified_path=verified,
    )
    summary = _execute(
        settings,
        request,
        quiet=quiet,
        metrics_port=metrics_port,
        metrics_addr=metrics_addr,
        ray=ray,
    )
    assert isinstance(summary, RunSummary)
    if to_stdout:
        copy_jsonl(jsonl, sys.stdout)
        print_summary(summary, to=err_console)
        _refuse_empty(summary, input_path)
        return
    if as_json:
        print(summary.model_dump_json())
    else:
        print_summary(summary)
    # With --json, stdout carries only the summary object; the file lines go to stderr.
    where = err_console if as_json else console
    if to_parquet:
        rows = write_parquet(jsonl, out)
        where.print(
            f"output: {escape(str(out))} ({rows} rows; the run's JSONL: {escape(str(jsonl))})",
            highlight=False,
        )
    else:
        where.print(f"output: {escape(str(out))}", highlight=False)
    _refuse_empty(summary, input_path)


def _refuse_empty(summary: RunSummary, input_path: Path) -> None:
    """Exit 1 when no record could be enriched: "the work failed", for a script or CI step
    that reads only the exit code (it used to be 0 with every record an error line)."""
    if summary.nothing_enriched:
        raise InputError(
            f"no record of {str(input_path)!r} could be enriched ({summary.errors} errors); "
            'each output line\'s "error" says why'
        )


def _spool_stdin(settings: Settings, run_id: str) -> Path:
    """Standard input (JSONL) kept as a file, so the run can record, hash and resume it."""
    path = settings.home / "inputs" / f"{run_id}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        for block in iter(lambda: sys.stdin.buffer.read(1 << 20), b""):
            fh.write(block)
    return path


def _require_pyarrow() -> None:
    if importlib.util.find_spec("pyarrow") is None:
        raise MissingExtraError("parquet", "Parquet output")


def _past_files(settings: Settings, run_id: str) -> tuple[Path, Path, Path | None]:
    """The input, schema and output paths a past run recorded."""
    with open_database(settings).read() as session:
        past = run_row(session, run_id)
        output = Path(past.output_path) if past.output_path else None
        return Path(past.input_path), Path(past.schema_path), output


@friendly_errors
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output JSONL.")] = Path(
        "out/demo-enriched.jsonl"
    ),
    run_id: Annotated[str | None, typer.Option("--run-id", help="Resume this run.")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    generator: GenOpt = None,
    evaluator: EvalOpt = None,
    supervisor: SupOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Run the bundled sample catalog on the embedded models (the Quickstart's main job)."""
    sample = sample_dir()
    settings = _settings(config, db, generator, evaluator, supervisor, None, False)
    request = RunRequest(
        input_path=sample / "catalog.jsonl",
        schema_path=sample / "schema.yaml",
        out_path=out,
        run_id=run_id or new_run_id(),
        verified_path=sample / "verified.jsonl",
    )
    summary = _execute(settings, request, quiet=quiet)
    assert isinstance(summary, RunSummary)
    print_summary(summary)
    console.print(
        f"output: {escape(str(out))}\nnext: dissensus kb tree --learnings   (what it learned)",
        highlight=False,
    )
