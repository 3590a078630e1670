"""The storage room's public surface and its import rule."""

from __future__ import annotations

import ast
from pathlib import Path

import dissensus.storage as storage

ROOM = Path(storage.__file__).parent
FORBIDDEN = ("knowledge", "pipeline", "supervisor", "workers", "consensus", "cli", "web", "bench")


def test_all_is_sorted_and_every_name_exists() -> None:
    assert storage.__all__ == sorted(storage.__all__, key=lambda n: (not n.isupper(), n))
    assert all(hasattr(storage, name) for name in storage.__all__)


def test_exported_members() -> None:
    assert storage.__all__ == [
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


def test_storage_imports_no_other_room() -> None:
    for path in ROOM.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                parts = name.split(".")
                assert not (parts[0] == "dissensus" and len(parts) > 1 and parts[1] in FORBIDDEN), (
                    f"{path.relative_to(ROOM)} imports {name}"
                )
