"""The sweet-spot band check and the per-category series."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dissensus.config import SweetSpotSettings
from dissensus.domain import CategoryPath
from dissensus.knowledge import KnowledgeBase
from dissensus.report import band_check, build_report
from dissensus.report.charts import write_charts
from dissensus.storage import Database, Run, RunProduct
from dissensus.storage.tables import ModelCall
from dissensus.storage.testing import scratch_database

BAND = SweetSpotSettings(low=0.05, high=0.35)


def test_the_band_names_the_likely_cause_outside_it() -> None:
    assert band_check("A", 0.01, BAND).cause.startswith("too low: evaluators may be rubber")
    assert band_check("A", 0.2, BAND).position == "inside"
    assert "supervisor cost rises" in band_check("A", 0.5, BAND).cause


def test_the_series_follows_runs_and_learnings(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as db:
        kb = KnowledgeBase(db)
        for run_id, disputed in (("r1", [1, 1, 0, 1]), ("r2", [0, 0, 0, 1])):
            _run(db, run_id, disputed)
            if run_id == "r1":
                key = kb.ensure_path(CategoryPath.parse("Home > Knives"))
                kb.add(node_key=key, text="Brand is the first word.", actor="mm")
        report = build_report(kb, BAND)
        rates = [(p.run_id, p.disagreement_rate, p.learnings_active) for p in report.points]
        assert rates == [("r1", 0.75, 0), ("r2", 0.25, 1)]
        assert [(b.category, b.position) for b in report.band] == [("Home > Knives", "inside")]
        paths = write_charts(report, tmp_path / "charts")
        assert len(paths) == 7 and all(p.stat().st_size > 1000 for p in paths)


def test_a_single_run_is_charted_as_one_column_with_one_tick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure

    axes: list[tuple[tuple[float, float], list[float]]] = []
    save = Figure.savefig

    def record(fig: Figure, *args: Any, **kwargs: Any) -> None:
        ax = fig.axes[0]
        axes.append((ax.get_xlim(), list(ax.get_xticks())))
        save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    with scratch_database(tmp_path) as db:
        _run(db, "r1", [1, 0])
        write_charts(build_report(KnowledgeBase(db), BAND), tmp_path / "charts")
    assert axes and all(axis == ((0.5, 1.5), [1.0]) for axis in axes)


def test_tokens_and_cost_per_product_come_from_the_stored_calls(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as db:
        _run(db, "r1", [1, 0])
        with db.write() as session:
            for seq, model in (
                (0, "openai:gpt-4o-mini"),
                (0, "local:gemma3-270m"),
                (1, "local:gemma3-270m"),
            ):
                session.add(
                    ModelCall(run_id="r1", product_id=f"r1-{seq}", seq=seq, stage="generator-a",
                              model=model, input_tokens=1_000, output_tokens=500)
                )  # fmt: skip
        (point,) = build_report(KnowledgeBase(db), BAND).points
        assert point.tokens_per_product == 4_500 / 2
        # gpt-4o-mini at $0.15 / $0.60 per million tokens; local models are free.
        assert point.cost_per_product == pytest.approx((1_000 * 0.15 + 500 * 0.60) / 1e6 / 2)


def _run(db: Database, run_id: str, disputed: list[int]) -> None:
    with db.write() as session:
        session.add(
            Run(
                id=run_id, status="completed", input_path="", input_sha256="", schema_path="",
                schema_sha256="", config={}, summary=None, finished_at=None,
            )
        )  # fmt: skip
    with db.write() as session:
        for seq, d in enumerate(disputed):
            session.add(
                RunProduct(
                    run_id=run_id,
                    seq=seq,
                    product_id=f"{run_id}-{seq}",
                    category="Home > Knives",
                    output={"attributes": {}},
                    disputed_attributes=d,
                    supervisor_called=bool(d),
                )
            )


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISSENSUS_HOME", str(tmp_path))


def test_supervisor_calls_are_charted_as_a_rate_per_product() -> None:
    from datetime import UTC, datetime

    from dissensus.report.health import CategoryPoint

    point = CategoryPoint(
        run_id="r", at=datetime.now(UTC), category="c", products=8, disagreement_rate=0.5,
        supervisor_calls=2, learnings_added=0, learnings_active=0, learnings_deprecated=0,
    )  # fmt: skip
    assert point.supervisor_calls_per_product == 0.25
    assert point.model_copy(update={"products": 0}).supervisor_calls_per_product == 0.0
