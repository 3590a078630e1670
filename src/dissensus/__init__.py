"""dissensus: self-learning product catalog enrichment.

The Python API, for programs that hold their products in memory::

    import dissensus

    schema = {"categories": [{"path": "Home > Knives", "attributes": [{"name": "Brand"}]}]}
    result = dissensus.enrich(
        [{"id": "k1", "title": "Kaito Chef Knife 8in", "category": "Home > Knives"}], schema
    )
    for record in result.records:
        print(record.id, {name: a.value for name, a in record.attributes.items()})

:func:`enrich` runs a whole run (workers, consensus, supervisor, learning) with the settings
given (default: the embedded local models and SQLite in ``$DISSENSUS_HOME``) and returns its
summary and records; :func:`aenrich` is the same inside an event loop. Runs, the knowledge base,
the review queue and the call log are read with :func:`list_runs`, :func:`get_run`,
:class:`KnowledgeBase`, :class:`ReviewQueue` and :class:`CallLog` over a :class:`Database`.
``examples/python_api.py`` is a runnable example (a test runs it).

Names are imported on first use, so ``import dissensus`` stays cheap for the CLI.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from dissensus.config import GeneratorConfig, Settings
    from dissensus.domain import CatalogSchema, EnrichedRecord, Learning, Product
    from dissensus.errors import DissensusError
    from dissensus.knowledge import KnowledgeBase
    from dissensus.observability import CallLog
    from dissensus.pipeline.enrich import EnrichResult
    from dissensus.pipeline.enrich import enrich_products as aenrich
    from dissensus.pipeline.runs import RunView, get_run, list_runs
    from dissensus.pipeline.summary import RunSummary
    from dissensus.review import ReviewQueue
    from dissensus.storage import Database

__all__ = [
    "CallLog",
    "CatalogSchema",
    "Database",
    "DissensusError",
    "EnrichResult",
    "EnrichedRecord",
    "GeneratorConfig",
    "KnowledgeBase",
    "Learning",
    "Product",
    "ReviewQueue",
    "RunSummary",
    "RunView",
    "Settings",
    "__version__",
    "aenrich",
    "enrich",
    "get_run",
    "list_runs",
]

_HOMES: dict[str, tuple[str, str]] = {
    "CallLog": ("dissensus.observability", "CallLog"),
    "CatalogSchema": ("dissensus.domain", "CatalogSchema"),
    "Database": ("dissensus.storage", "Database"),
    "DissensusError": ("dissensus.errors", "DissensusError"),
    "EnrichResult": ("dissensus.pipeline.enrich", "EnrichResult"),
    "EnrichedRecord": ("dissensus.domain", "EnrichedRecord"),
    "GeneratorConfig": ("dissensus.config", "GeneratorConfig"),
    "KnowledgeBase": ("dissensus.knowledge", "KnowledgeBase"),
    "Learning": ("dissensus.domain", "Learning"),
    "Product": ("dissensus.domain", "Product"),
    "ReviewQueue": ("dissensus.review", "ReviewQueue"),
    "RunSummary": ("dissensus.pipeline.summary", "RunSummary"),
    "RunView": ("dissensus.pipeline.runs", "RunView"),
    "Settings": ("dissensus.config", "Settings"),
    "aenrich": ("dissensus.pipeline.enrich", "enrich_products"),
    "get_run": ("dissensus.pipeline.runs", "get_run"),
    "list_runs": ("dissensus.pipeline.runs", "list_runs"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'dissensus' has no attribute {name!r}")
    value = getattr(importlib.import_module(home[0]), home[1])
    globals()[name] = value
    return value


def enrich(
    products: Sequence[Product | Mapping[str, Any]],
    schema: CatalogSchema | Mapping[str, Any] | Path,
    *,
    settings: Settings | None = None,
    db: Database | None = None,
    run_id: str | None = None,
    verified_path: Path | None = None,
) -> EnrichResult:
    """Enrich ``products`` in a run of their own and return its summary and records.

    Blocks until the run ends; call :func:`aenrich` from async code. Raises
    :class:`DissensusError` subclasses with a message that names the fix (an invalid product or
    schema, a model that cannot be opened).
    """
    import asyncio

    from dissensus.pipeline.enrich import enrich_products

    return asyncio.run(
        enrich_products(
            products,
            schema,
            settings=settings,
            db=db,
            run_id=run_id,
            verified_path=verified_path,
        )
    )
