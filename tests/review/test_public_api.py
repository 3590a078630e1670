"""The review room's public surface and its import rule."""

from __future__ import annotations

import ast
from pathlib import Path

import dissensus.review as review

ROOM = Path(review.__file__).parent
FORBIDDEN = ("pipeline", "supervisor", "workers", "consensus", "cli", "web", "bench")


def test_exported_members() -> None:
    assert review.__all__ == [
        "OutputRefresh",
        "QueueFilters",
        "QueueStats",
        "ReviewContext",
        "ReviewDetail",
        "ReviewItem",
        "ReviewPolicy",
        "ReviewQueue",
        "ReviewReason",
        "ReviewState",
        "ReviewTeacher",
        "ReviewTicket",
        "SignalNote",
        "Submission",
        "SubmitResult",
        "SupervisorView",
        "ValueChange",
        "describe_taught",
        "output_path_of",
        "refresh_output",
        "restore",
        "review_drafts",
        "run_is_active",
        "sample_point",
        "value_history",
        "write_run_output",
    ]
    assert review.__all__ == sorted(review.__all__, key=lambda n: (n[0].islower(), n))
    assert all(hasattr(review, name) for name in review.__all__)


def test_review_imports_no_outer_room() -> None:
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
