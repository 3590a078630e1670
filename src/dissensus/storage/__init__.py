"""Storage: the database engine, the tables and the migrations (and, later, queue primitives).

Owns how dissensus talks to its database — SQLite under ``$DISSENSUS_HOME`` by default,
PostgreSQL by URL — the declarative tables every room writes through, and the Alembic
migrations shipped in ``storage/migrations``. It holds no business rules: what a learning means
or when a run is finished belongs to the rooms that use these tables. Must not import
``knowledge``, ``pipeline``, ``supervisor`` or any other room except ``errors``.
"""

from dissensus.storage.database import DEFAULT_HOME, Database, resolve_home
from dissensus.storage.tables import (
    Base,
    KbEvent,
    KbNode,
    LearningRow,
    ModelCall,
    Run,
    RunProduct,
    UTCDateTime,
    utcnow,
)

__all__ = [
    "DEFAULT_HOME",
    "Base",
    "Database",
    "KbEvent",
    "KbNode",
    "LearningRow",
    "ModelCall",
    "Run",
    "RunProduct",
    "UTCDateTime",
    "resolve_home",
    "utcnow",
]
