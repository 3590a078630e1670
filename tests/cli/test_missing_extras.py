"""A missing optional part is named before long work starts, not after it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dissensus.cli import app

_real_find_spec = importlib.util.find_spec


def _no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
    if name == "matplotlib" or name.startswith("matplotlib."):
        return None
    return _real_find_spec(name, *args, **kwargs)


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "extraction", "--data", "/nonexistent", "--out", "OUT"],
        ["report", "--out", "OUT"],
    ],
)
def test_without_matplotlib_the_command_stops_at_once_naming_the_extra(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISSENSUS_HOME", str(tmp_path))
    monkeypatch.setattr(importlib.util, "find_spec", _no_matplotlib)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [a.replace("OUT", str(out)) for a in argv])
    assert result.exit_code == 1, result.output
    assert "pip install 'dissensus[bench]'" in result.output
    assert not out.exists()  # nothing was started
