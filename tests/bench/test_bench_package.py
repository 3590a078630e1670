"""The bench package's public surface, and the plots' optional dependency."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import dissensus.bench
from dissensus.bench import plots
from dissensus.bench.results import BenchConfig, BenchResults
from dissensus.errors import MissingExtraError


def _kind(name: str) -> tuple[int, str]:
    """Ruff's ``__all__`` order: constants, then classes, then functions."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_exports_are_sorted_and_resolve() -> None:
    names = dissensus.bench.__all__
    assert names == sorted(names, key=_kind)
    for name in names:
        assert getattr(dissensus.bench, name) is not None, name


def test_plots_without_matplotlib_name_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real(name, *a),
    )
    results = BenchResults(
        dissensus_version="0",
        started_at="now",
        config=BenchConfig(data_dir=".", out_dir=str(tmp_path)),
        settings={},
    )
    with pytest.raises(MissingExtraError, match=r"pip install 'dissensus\[bench\]'"):
        plots.write_plots(results, tmp_path)


def test_plots_of_results_without_a_stream_still_render(tmp_path: Path) -> None:
    results = BenchResults(
        dissensus_version="0",
        started_at="now",
        config=BenchConfig(data_dir=".", out_dir=str(tmp_path)),
        settings={},
    )
    written = plots.write_plots(results, tmp_path)
    assert [p.name for p in written] == ["f1_curve.png", "tokens.png"]
