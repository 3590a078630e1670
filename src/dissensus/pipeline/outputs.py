"""Output files other than the run's own JSONL: Parquet, and standard output.

A run always writes its JSONL output (resume and review rewrite it in place); a Parquet file or
standard output is made from it when the run ends, so both hold exactly the run's records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from dissensus.errors import MissingExtraError

__all__ = ["copy_jsonl", "write_parquet"]


def write_parquet(jsonl: Path, target: Path) -> int:
    """Write the records of ``jsonl`` to ``target`` as Parquet; returns how many rows.

    Columns: ``id``, ``category``, ``error``, ``models``, then per attribute its value
    (``Brand``) and its status (``Brand.status``), and ``attributes_json`` with each record's
    attributes as the JSONL holds them (confidence and learnings included).
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingExtraError("parquet", "writing Parquet output") from exc
    rows: list[dict[str, Any]] = []
    names: dict[str, None] = {}
    with jsonl.open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            attributes: dict[str, Any] = record.get("attributes") or {}
            row: dict[str, Any] = {
                "id": record.get("id"),
                "category": record.get("category"),
                "error": record.get("error"),
                "models": list(record.get("models") or []),
                "attributes_json": json.dumps(attributes, ensure_ascii=False),
            }
            for name, result in attributes.items():
                names[name] = None
                row[name] = result.get("value")
                row[f"{name}.status"] = result.get("status")
            rows.append(row)
    columns: dict[str, list[Any]] = {
        key: [row.get(key) for row in rows]
        for key in ["id", "category", "error", "models", "attributes_json"]
    }
    for name in names:
        columns[name] = [row.get(name) for row in rows]
        columns[f"{name}.status"] = [row.get(f"{name}.status") for row in rows]
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("category", pa.string()),
            ("error", pa.string()),
            ("models", pa.list_(pa.string())),
            ("attributes_json", pa.string()),
            *((key, pa.string()) for key in columns if key not in {"id", "category", "error",
                                                                  "models", "attributes_json"}),
        ]
    )  # fmt: skip
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    pq.write_table(pa.table(columns, schema=schema), tmp)
    tmp.replace(target)
    return len(rows)


def copy_jsonl(jsonl: Path, out: IO[str]) -> int:
    """Copy the run's JSONL to ``out`` (standard output); returns how many lines."""
    n = 0
    with jsonl.open(encoding="utf-8") as fh:
        for line in fh:
            out.write(line)
            n += 1
    out.flush()
    return n
