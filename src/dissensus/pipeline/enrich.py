"""Enrich products held in memory: the Python API's and the HTTP API's one way to call a run.

A run reads its input and schema from files and records their paths, so it can be resumed,
rerun and re-exported later; products given in memory are therefore written under
``$DISSENSUS_HOME/api-runs/RUN_ID/`` first and then run like any catalog. The result is the run's
summary and its records in input order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from dissensus.config import Settings
from dissensus.domain import CatalogSchema, EnrichedRecord, Product
from dissensus.errors import InputError
from dissensus.llm import ModelPool
from dissensus.pipeline.runner import ModelOpener, Runner, RunRequest, new_run_id
from dissensus.pipeline.store import RunStore
from dissensus.pipeline.summary import RunSummary
from dissensus.storage import Database

__all__ = ["EnrichResult", "enrich_products", "prepare_request"]


class EnrichResult(BaseModel):
    """What a call to :func:`enrich_products` produced."""

    run_id: str
    summary: RunSummary
    records: list[EnrichedRecord]
    """One per product, in input order (a product that could not be processed carries its
    ``error``)."""


def prepare_request(
    products: Sequence[Product | Mapping[str, Any]],
    schema: CatalogSchema | Mapping[str, Any] | Path,
    *,
    home: Path,
    run_id: str | None = None,
    verified_path: Path | None = None,
) -> RunRequest:
    """Write ``products`` and ``schema`` where the run can find them again; the run's request."""
    run_id = run_id or new_run_id()
    work = home / "api-runs" / run_id
    work.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, item in enumerate(products):
        try:
            product = item if isinstance(item, Product) else Product.model_validate(dict(item))
        except ValidationError as exc:
            raise InputError(f"product #{i} is not valid: {_first_error(exc)}") from exc
        fields = {"id", "title", "description", "category"}
        lines.append(product.model_dump_json(include=fields, exclude_none=True) + "\n")
    if not lines:
        raise InputError("no products to enrich")
    input_path = work / "input.jsonl"
    input_path.write_text("".join(lines), encoding="utf-8")
    if isinstance(schema, Path):
        schema_path = schema
    else:
        data = schema.model_dump(exclude_none=True) if isinstance(schema, CatalogSchema) else schema
        schema_path = work / "schema.yaml"
        schema_path.write_text(yaml.safe_dump(dict(data), allow_unicode=True), encoding="utf-8")
    return RunRequest(
        input_path=input_path,
        schema_path=schema_path,
        out_path=work / "output.jsonl",
        run_id=run_id,
        verified_path=verified_path,
    )


async def enrich_products(
    products: Sequence[Product | Mapping[str, Any]],
    schema: CatalogSchema | Mapping[str, Any] | Path,
    *,
    settings: Settings | None = None,
    db: Database | None = None,
    open_model: ModelOpener | None = None,
    run_id: str | None = None,
    verified_path: Path | None = None,
) -> EnrichResult:
    """Run ``products`` through workers, consensus, the supervisor and learning.

    Args:
        products: :class:`~dissensus.domain.Product` objects or dicts with ``id``, ``title``,
            ``category`` and optionally ``description``.
        schema: The attributes per category: a :class:`~dissensus.domain.CatalogSchema`, the
            YAML schema's content as a dict, or the path of a schema file.
        settings: Models and policies (default: :meth:`Settings.load`, the embedded models).
        db: The database (default: the settings' one).
        open_model: How model strings become models (default: a pool opened and closed here).
        run_id: Name the run (to resume it with the same id); default a new id.
        verified_path: A verified catalog for the supervisor and the lexicon.

    Raises:
        InputError: a product or the schema is invalid (nothing was run).
        ConfigError: a setting or a model string cannot be used.
    """
    settings = settings or Settings.load(None)
    database = db or Database.open(settings.database_url, home=settings.home)
    request = prepare_request(
        products, schema, home=settings.home, run_id=run_id, verified_path=verified_path
    )
    if open_model is not None:
        summary = await Runner(settings, db=database, open_model=open_model).run(request)
    else:
        async with ModelPool(**settings.model_options()) as pool:
            summary = await Runner(settings, db=database, open_model=pool.get).run(request)
    records = [
        EnrichedRecord.model_validate(output)
        for _seq, output in RunStore(database, request.run_id).outputs()
    ]
    return EnrichResult(run_id=request.run_id, summary=summary, records=records)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "<root>"
    return f"{where}: {error['msg']}"
