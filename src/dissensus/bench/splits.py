"""The benchmark's data plan: schema, verified catalog, stream and evaluation set, from the splits.

- Schema per category: the attribute names seen in the *train* labels of that category, most
  frequent first (never anything from the test split).
- Verified catalog for the supervisor: ``train_0.2`` (a labelled subset of train).
- Stream: the rest of ``train`` (records not in ``train_0.2``), shuffled with the seed, cut to
  ``stream_limit``.
- Evaluation set: ``test``, or a seeded subset of ``eval_limit`` records (kept in file order).

Everything here that is written to disk for a run (inputs, schema, verified catalog) is built
from the visible part of the records or from the train labels; test labels stay in memory, for
the scorer.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from dissensus.bench.loader import NA, LabelledRecord, file_sha256, load_split
from dissensus.errors import InputError

__all__ = ["DATA_FILES", "DataFile", "DataPlan", "plan_data"]

DATA_FILES = {"train": "train.jsonl", "verified": "train_0.2.jsonl", "test": "test.jsonl"}
"""The split files the benchmark reads from ``--data DIR``."""


@dataclass(frozen=True, slots=True)
class DataFile:
    """One data file the run read, by content hash."""

    role: str
    path: Path
    sha256: str
    records: int


@dataclass(slots=True)
class DataPlan:
    """The splits of one benchmark run, ready to be written as run inputs."""

    files: list[DataFile]
    schema: dict[str, list[str]]
    """Category -> attribute names (from the train labels)."""
    verified: list[LabelledRecord]
    stream: list[LabelledRecord]
    evaluation: list[LabelledRecord]

    def write_schema(self, path: Path) -> Path:
        """The schema as a ``dissensus run`` YAML file: attribute names, no descriptions.

        The data sets give names only. A description made up from the name ("The brand as
        written in the title") told the models nothing and cost 8 prompt tokens an attribute
        in every generator and supervisor call.
        """
        categories = [
            {"path": category, "attributes": [{"name": name} for name in names]}
            for category, names in sorted(self.schema.items())
        ]
        path.write_text(
            yaml.safe_dump({"categories": categories}, sort_keys=False, allow_unicode=True),
            encoding="utf-8",
        )
        return path

    def write_verified(self, path: Path) -> Path:
        """``train_0.2`` as a verified catalog: checked values, ``null`` for absent attributes.

        OA-Mine lists only the attributes present in a title, so a schema attribute a record
        does not list is absent from it; of several correct values the first is shown.
        """
        with path.open("w", encoding="utf-8") as fh:
            for record in self.verified:
                names = self.schema.get(record.product.category, [])
                values = {
                    name: record.gold.first_present(name)
                    for name in dict.fromkeys([*names, *record.gold.values])
                }
                line = {**record.product.as_input(), "attributes": values}
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
        return path


def write_inputs(records: list[LabelledRecord], path: Path) -> Path:
    """Products as a run input file: id, title, description, category, and nothing else."""
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record.product.as_input(), ensure_ascii=False) + "\n")
    return path


def _schema(train: list[LabelledRecord]) -> dict[str, list[str]]:
    counts: dict[str, Counter[str]] = {}
    for record in train:
        present = [a for a, v in record.gold.values.items() if v and v[0] != NA]
        counts.setdefault(record.gold.category, Counter()).update(present)
    # Most frequent first, ties by name: a stable order keeps prompts byte-equal across runs.
    return {
        category: [name for name, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))]
        for category, c in sorted(counts.items())
    }


def _key(record: LabelledRecord) -> tuple[str, str, str | None]:
    p = record.product
    return (p.category, p.title, p.description)


def plan_data(
    data_dir: Path, *, seed: int, stream_limit: int | None, eval_limit: int | None
) -> DataPlan:
    """Load the three splits and derive schema, verified catalog, stream and evaluation set.

    Raises:
        InputError: a file is missing or invalid, or the test split has a category the train
            labels give no schema for.
    """
    paths = {role: data_dir / name for role, name in DATA_FILES.items()}
    splits = {role: load_split(path) for role, path in paths.items()}
    files = [
        DataFile(role, path, file_sha256(path), len(splits[role])) for role, path in paths.items()
    ]
    schema = _schema(splits["train"])
    missing = sorted({r.product.category for r in splits["test"]} - set(schema))
    if missing:
        raise InputError(
            f"{paths['test']}: categories {missing} have no labelled train records in "
            f"{paths['train']}, so there is no schema for them; add train records for them"
        )
    verified_keys = {_key(r) for r in splits["verified"]}
    stream = [r for r in splits["train"] if _key(r) not in verified_keys]
    random.Random(seed).shuffle(stream)
    if stream_limit is not None:
        stream = stream[:stream_limit]
    evaluation = splits["test"]
    if eval_limit is not None and eval_limit < len(evaluation):
        chosen = set(random.Random(seed).sample(range(len(evaluation)), eval_limit))
        evaluation = [r for i, r in enumerate(evaluation) if i in chosen]
    return DataPlan(
        files=files,
        schema=schema,
        verified=splits["verified"],
        stream=stream,
        evaluation=evaluation,
    )
