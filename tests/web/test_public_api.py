"""The web room's public surface and its rules: thin (no writes of its own), no inner rooms."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

web = pytest.importorskip("dissensus.web", reason="the web app needs the 'web' extra")

ROOM = Path(web.__file__).parent
FORBIDDEN = ("supervisor", "workers", "consensus", "cli", "bench")


def test_exported_members() -> None:
    assert web.__all__ == ["ROLES", "Role", "User", "UserStore", "WebDeps", "create_app"]
    assert web.__all__ == sorted(web.__all__, key=lambda n: (n[0].islower(), n))
    assert all(hasattr(web, name) for name in web.__all__)


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def test_web_imports_no_room_it_must_not_know() -> None:
    for path in ROOM.rglob("*.py"):
        for name in _imports(path):
            for room in FORBIDDEN:
                assert not name.startswith(f"dissensus.{room}"), f"{path.name} imports {name}"


def test_only_user_accounts_are_written_by_the_web_room_itself() -> None:
    # Every other change goes through Governance or ReviewQueue: the rules live there.
    writers = sorted(p.name for p in ROOM.rglob("*.py") if ".write()" in p.read_text("utf-8"))
    assert writers == ["users.py"]
