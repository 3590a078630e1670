"""The public surface of the consensus room, and its rule: no models."""

from __future__ import annotations

import ast
from pathlib import Path

import dissensus.consensus as consensus

ROOM = Path(consensus.__file__).parent


def test_exported_members() -> None:
    assert consensus.__all__ == sorted(consensus.__all__, key=lambda n: (not n.isupper(), n))
    assert set(consensus.__all__) == {
        "NONE_WORDS",
        "AttributeDecision",
        "CategoryTally",
        "ConsensusOutcome",
        "ConsensusPolicy",
        "DecisionReason",
        "DisagreementTally",
        "Route",
        "audited",
        "confidence",
        "decide",
        "normalize",
        "presence_routes",
        "route_for",
        "routes_from",
        "same_value",
    }
    for name in consensus.__all__:
        assert hasattr(consensus, name), name


def test_consensus_imports_no_model_room() -> None:
    for path in ROOM.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("dissensus.llm", "dissensus.workers")), path
                assert node.module.split(".")[0] in {
                    "__future__",
                    "collections",
                    "typing",
                    "pydantic",
                    "dissensus",
                    "re",
                    "unicodedata",
                }, (path, node.module)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    # hashlib: the routes' audit sample is a hash of the product id.
                    assert alias.name in {"re", "unicodedata", "hashlib"}, (path, alias.name)
