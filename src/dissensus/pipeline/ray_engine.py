"""``dissensus run --engine ray``: the model stages on a Ray cluster, for more than one machine.

The driver (the ``dissensus run`` process) opens the run, reads the input in chunks and groups
each chunk by category exactly as the local runner does; each category's batches become one
item of a Ray Data dataset, and ``map_batches`` hands the items to a pool of actors. Every actor
is a whole local pipeline: its own models (opened by name from the settings), its own connection
to the shared database, and the same :class:`~dissensus.pipeline.Runner` code for a batch
(retrieval, workers, consensus, supervisor, memory manager, commit). A category's batches run in
order inside one actor, so deploy-and-learn holds as it does locally and a shared prompt prefix
stays warm on the engine behind the actor (vLLM's prefix cache). The knowledge base, track
records and run rows are shared through the database, so use PostgreSQL when actors run on
several machines (SQLite works on one).

Exactly once: a product's result is committed by (run id, position) in one transaction with its
model calls and review item. An actor skips what is already committed before it starts a batch,
and a commit that finds the row already there (Ray retried a task whose first attempt got
further than it reported) keeps the first one. The driver writes the output file from the
database, in input order, as the local runner does, so a run killed anywhere resumes with the
same ``--run-id`` on either engine.

Actors live for one chunk (``RayOptions.chunk_records``): chunks keep the driver's memory
bounded, and opening a hosted model is an HTTP client, so a new pool per chunk costs little.
Local GGUF models would load once per actor per chunk; the Ray engine is for hosted models and
model servers.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dissensus.config import Settings
from dissensus.domain import Product
from dissensus.errors import ConfigError, MissingExtraError
from dissensus.pipeline.inputs import InputRecord

if TYPE_CHECKING:
    from dissensus.pipeline.runner import RunRequest

__all__ = ["CategoryActor", "RayOptions", "connect", "require_ray", "run_on_ray"]


@dataclass(frozen=True, slots=True)
class RayOptions:
    """How ``--engine ray`` uses the cluster."""

    actors: int = 2
    """Actors in the pool: each runs its own copy of the model stages."""
    address: str | None = None
    """The cluster to join (``ray://host:10001``, ``auto``); ``None`` starts a local one with
    the machine's cores, or uses the one this process already joined."""
    chunk_records: int = 10_000
    """Input records read per dataset; the pool is made once per chunk."""
    groups_per_call: int | None = None
    """Category groups per ``map_batches`` call; ``None``: an even share of the chunk's groups
    per actor. An actor runs the groups of one call side by side (each in order), up to
    ``concurrency`` products at once, as the local runner runs its lanes."""

    def __post_init__(self) -> None:
        if self.actors < 1:
            raise ConfigError(f"--actors must be at least 1, got {self.actors}")
        if self.chunk_records < 1:
            raise ConfigError(f"chunk_records must be at least 1, got {self.chunk_records}")


def require_ray() -> None:
    """Fail early, before a run row is written, when the ``ray`` extra is missing."""
    if importlib.util.find_spec("ray") is None:
        raise MissingExtraError("ray", "--engine ray")


def _encode(group: list[list[InputRecord]]) -> str:
    """A category group as JSON: Ray moves it between processes, and JSON needs no trust in
    pickles from the cluster."""
    return json.dumps(
        [
            [
                {
                    "seq": r.seq,
                    "product": r.product.model_dump(mode="json") if r.product else None,
                    "error": r.error,
                    "raw_id": r.raw_id,
                }
                for r in batch
            ]
            for batch in group
        ],
        ensure_ascii=False,
    )


def _decode(payload: str) -> list[list[InputRecord]]:
    return [
        [
            InputRecord(
                seq=r["seq"],
                product=Product.model_validate(r["product"]) if r["product"] else None,
                error=r["error"],
                raw_id=r["raw_id"],
            )
            for r in batch
        ]
        for batch in json.loads(payload)
    ]


class CategoryActor:
    """One actor of the pool: a local pipeline that runs the category groups it is given.

    Public so Ray can import it by name in the worker processes; tests call it directly to
    replay a retried task.
    """

    def __init__(
        self,
        *,
        settings_json: str,
        database_url: str,
        run_id: str,
        schema_path: str,
        verified_path: str | None,
    ) -> None:
        # Imported here: this runs in a Ray worker process.
        from dissensus.domain import CatalogSchema
        from dissensus.llm import ModelPool
        from dissensus.pipeline.evidence import EvidenceSource
        from dissensus.pipeline.runner import Runner
        from dissensus.pipeline.store import RunStore
        from dissensus.storage import Database
        from dissensus.supervisor import VerifiedCatalog

        settings = Settings.model_validate_json(settings_json)
        self._loop = asyncio.new_event_loop()
        self._pool = ModelPool(**settings.model_options())
        self._db = Database.open(database_url)
        self._runner = Runner(settings, db=self._db, open_model=self._pool.get)
        self._schema = CatalogSchema.load(Path(schema_path))
        catalog = VerifiedCatalog.load(Path(verified_path)) if verified_path else None
        self._enricher = self._runner._enricher(run_id, catalog, self._schema)
        self._evidence = EvidenceSource(
            catalog=catalog,
            kb=self._runner.kb if settings.use_knowledge else None,
            examples=settings.examples_per_product,
            lexicon=settings.lexicon_worker,
        )
        self._store = RunStore(self._db, run_id)
        self._concurrency = max(1, settings.concurrency)

    def __call__(self, rows: dict[str, Any]) -> dict[str, list[int]]:
        """Run the groups of ``rows["group"]`` side by side (each group's batches in order);
        return how many products each committed."""
        committed = self._loop.run_until_complete(self._groups(list(rows["group"])))
        return {"committed": committed}

    async def _groups(self, payloads: list[str]) -> list[int]:
        gate = asyncio.Semaphore(self._concurrency)
        return list(await asyncio.gather(*(self._group(p, gate) for p in payloads)))

    async def _group(self, payload: str, gate: asyncio.Semaphore) -> int:
        committed = 0
        for batch in _decode(payload):
            # A retried task starts again at its first batch: skip what an earlier attempt
            # committed, so nothing is enriched, counted or queued for review twice.
            done = self._store.done_seqs()
            todo = [r for r in batch if r.seq not in done]
            if todo:
                committed += await self._runner._run_batch(
                    todo, self._schema, self._enricher, self._store, gate, self._evidence
                )
        return committed

    def __del__(self) -> None:
        try:
            self._loop.run_until_complete(self._pool.aclose())
            self._loop.close()
            self._db.close()
        except Exception:
            pass  # a dying actor has nobody to tell


def connect(options: RayOptions) -> Any:
    """Join (or start) the cluster once, and quiet Ray Data's own progress output; returns the
    ``ray`` module."""
    import ray

    if not ray.is_initialized():
        ray.init(
            address=options.address,
            include_dashboard=False,
            log_to_driver=False,
            ignore_reinit_error=True,
            configure_logging=False,
        )
    context = ray.data.DataContext.get_current()
    # The run's own progress bar counts products; Ray's would draw over it.
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    return ray


def run_on_ray(
    *,
    settings: Settings,
    request: RunRequest,
    database_url: str,
    chunks: Iterable[list[list[list[InputRecord]]]],
    options: RayOptions,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Run every chunk's category groups on the actor pool; return the products committed.

    Ray Data restarts a dead actor and retries its task without limit by default; the
    actors' skip-what-is-committed rule is what makes that safe.

    Blocking (Ray's API is): the runner calls it in a thread. ``chunks`` yields, per input
    chunk, its category groups (each a list of batches in order); ``progress`` gets each
    group's committed count as it finishes.
    """
    ray = connect(options)
    constructor = {
        "settings_json": settings.model_dump_json(),
        "database_url": database_url,
        "run_id": request.run_id,
        "schema_path": str(request.schema_path),
        "verified_path": str(request.verified_path) if request.verified_path else None,
    }
    total = 0
    for groups in chunks:
        if not groups:
            continue
        items = [{"group": _encode(group)} for group in groups]
        size = min(options.actors, len(items))
        per_call = options.groups_per_call or math.ceil(len(items) / size)
        dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
            CategoryActor,
            batch_size=per_call,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=size),
            fn_constructor_kwargs=constructor,
            num_cpus=0.5,
        )
        for row in _rows(dataset):
            total += int(row["committed"])
            if progress is not None:
                progress(int(row["committed"]))
    return total


def _rows(dataset: Any) -> Iterator[dict[str, Any]]:
    yield from dataset.iter_rows()
