"""The knowledge room's public surface and its import rule."""

from __future__ import annotations

import ast
from pathlib import Path

import dissensus.knowledge as knowledge

ROOM = Path(knowledge.__file__).parent
FORBIDDEN = ("pipeline", "supervisor", "workers", "consensus", "cli", "web", "bench", "signals")


def test_exported_members() -> None:
    assert knowledge.__all__ == [
        "MAX_EXAMPLE_CHARS",
        "MAX_TEXT_CHARS",
        "RETIRE_AFTER",
        "TRANSITIONS",
        "CheckedProduct",
        "DeploymentMode",
        "DeploymentPolicy",
        "Event",
        "EventOp",
        "GateVerdict",
        "Governance",
        "ImportReport",
        "KbDiff",
        "KbState",
        "KnowledgeBase",
        "LearningChange",
        "LearningGate",
        "LearningVersion",
        "MemoryManager",
        "NodeInfo",
        "NodeState",
        "Placement",
        "PlacementDecision",
        "PlacementOp",
        "PlacementStep",
        "ReplayOutcome",
        "Ruling",
        "TrackRecords",
        "estimate_tokens",
        "record_review_outcomes",
        "select_for_prompt",
    ]
    assert all(hasattr(knowledge, name) for name in knowledge.__all__)


def test_knowledge_imports_no_outer_room_and_no_model_sdk() -> None:
    for path in ROOM.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                parts = name.split(".")
                outer = parts[0] == "dissensus" and len(parts) > 1 and parts[1] in FORBIDDEN
                sdk = parts[0] in ("pydantic_ai", "openai", "anthropic", "boto3", "xllamacpp")
                # The DynamoDB store talks to a table through boto3 (lazily, extra `aws`).
                sdk = sdk and not (path.name == "dynamodb.py" and name == "boto3")
                assert not (outer or sdk), f"{path.relative_to(ROOM)} imports {name}"
