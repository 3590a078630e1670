"""PNG charts of a :class:`~dissensus.report.HealthReport`, one per metric, lines per category.

Drawn with ``matplotlib.figure.Figure`` (Agg canvas, no ``pyplot``): no display, no global state.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from dissensus.errors import ConfigError
from dissensus.report.health import CategoryPoint, HealthReport

__all__ = ["METRICS", "write_charts"]

METRICS: dict[str, str] = {
    "disagreement_rate": "Disagreement rate",
    "supervisor_calls": "Supervisor calls",
    "learnings_added": "Learnings added",
    "learnings_active": "Active learnings",
    "learnings_deprecated": "Deprecated learnings",
}
"""Chart file stem → title."""


def write_charts(report: HealthReport, directory: Path) -> list[Path]:
    """Write one PNG per metric into ``directory``; return the paths written."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError(
            "charts need matplotlib; install it: pip install 'dissensus[bench]'"
        ) from exc
    directory.mkdir(parents=True, exist_ok=True)
    series: dict[str, list[CategoryPoint]] = defaultdict(list)
    for point in report.points:
        series[point.category].append(point)
    written: list[Path] = []
    for metric, title in METRICS.items():
        fig = Figure(figsize=(7.0, 3.2), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.set_title(title, loc="left", fontsize=11)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", alpha=0.3)
        for category, points in sorted(series.items()):
            xs = list(range(1, len(points) + 1))
            ys = [float(getattr(p, metric)) for p in points]
            ax.plot(xs, ys, marker="o", label=category)
        ax.set_xlabel("run (oldest first)")
        if metric == "disagreement_rate":
            ax.set_ylim(0, 1)
        if series:
            ax.legend(fontsize=7, loc="best")
        path = directory / f"{metric}.png"
        fig.savefig(path, dpi=100)
        written.append(path)
    return written
