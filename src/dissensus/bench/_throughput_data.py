"""Products and schema for the throughput benchmark, and the two orders it runs them in.

Throughput needs product texts and attribute names, never gold values: from OA-Mine only the
``input`` and ``category`` of ``test.jsonl`` are read, and the attribute *names* of each category
from the labels of ``train.jsonl`` (the protocol of issue 3: no test labels, no values).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from dissensus.domain import CatalogSchema, Product
from dissensus.domain.schema import AttributeSpec, CategorySchema
from dissensus.errors import InputError, RecordError
from dissensus.pipeline.inputs import read_records

__all__ = ["Order", "grouped", "interleaved", "load_catalog", "load_oa_mine", "ordered"]

Order = Literal["interleaved", "grouped"]
"""``interleaved``: categories take turns (no batching by category: neighbours never share a
prompt prefix); ``grouped``: all products of a category one after another."""


def _jsonl(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        raise InputError(f"data file {str(path)!r} does not exist; pass --data DIR")
    rows: list[dict[str, object]] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{str(path)!r} line {n}: not valid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise InputError(f"{str(path)!r} line {n}: expected a JSON object")
            rows.append(row)
    return rows


def load_oa_mine(data_dir: Path) -> tuple[list[Product], CatalogSchema]:
    """OA-Mine's test products (text and category only) and a schema of train attribute names.

    Raises:
        InputError: a file is missing or malformed, or a test category has no train labels.
    """
    names: dict[str, dict[str, None]] = {}
    for row in _jsonl(data_dir / "train.jsonl"):
        labels = row.get("target_scores")
        category = row.get("category")
        if isinstance(category, str) and isinstance(labels, dict):
            # Keys only: the values are gold labels and stay out of the benchmark.
            names.setdefault(category, {}).update(dict.fromkeys(str(k) for k in labels))
    products: list[Product] = []
    for n, row in enumerate(_jsonl(data_dir / "test.jsonl"), 1):
        record = {"id": f"test-{n}", "title": row.get("input"), "category": row.get("category")}
        try:
            products.append(Product.from_record(record, line=n))
        except RecordError as exc:
            raise InputError(f"{str(data_dir / 'test.jsonl')!r}: {exc}") from exc
    missing = sorted({p.category for p in products} - names.keys())
    if missing:
        raise InputError(f"categories {missing} of test.jsonl have no labels in train.jsonl")
    schema = CatalogSchema(
        categories=[
            CategorySchema(path=category, attributes=[AttributeSpec(name=a) for a in attributes])
            for category, attributes in names.items()
        ]
    )
    return products, schema


def load_catalog(catalog: Path, schema_path: Path) -> tuple[list[Product], CatalogSchema]:
    """Any catalog the pipeline reads (JSONL or CSV) with its YAML schema.

    Raises:
        InputError: the file cannot be read, or a record is invalid (a benchmark needs them all).
    """
    schema = CatalogSchema.load(schema_path)
    products: list[Product] = []
    for record in read_records(catalog):
        if record.product is None:
            raise InputError(f"catalog {str(catalog)!r}: {record.error}")
        products.append(record.product)
    return products, schema


def interleaved(products: Sequence[Product]) -> list[Product]:
    """Categories take turns, each keeping its own order (first-seen category first)."""
    queues: dict[str, list[Product]] = {}
    for product in products:
        queues.setdefault(product.path.key, []).append(product)
    result: list[Product] = []
    depth = max((len(q) for q in queues.values()), default=0)
    for i in range(depth):
        result += [q[i] for q in queues.values() if i < len(q)]
    return result


def grouped(products: Sequence[Product]) -> list[Product]:
    """All products of a category together, categories in first-seen order (a stable sort)."""
    first: dict[str, int] = {}
    for product in products:
        first.setdefault(product.path.key, len(first))
    return sorted(products, key=lambda p: first[p.path.key])


def ordered(products: Sequence[Product], order: Order) -> list[Product]:
    """``products`` in the given order."""
    return interleaved(products) if order == "interleaved" else grouped(products)
