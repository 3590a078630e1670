"""PNG charts of a :class:`~dissensus.report.HealthReport`, one per metric, lines per category.

Drawn with ``matplotlib.figure.Figure`` (Agg canvas, no ``pyplot``): no display, no global state.
"""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from pathlib import Path

from dissensus.errors import MissingExtraError
from dissensus.report.health import CategoryPoint, HealthReport

__all__ = ["METRICS", "require_charts", "series_style", "write_charts"]

METRICS: dict[str, str] = {
    "disagreement_rate": "Disagreement rate",
    "supervisor_calls_per_product": "Supervisor calls per product",
    "tokens_per_product": "Model tokens per product",
    "cost_per_product": "Cost per product (US dollars, list prices)",
    "learnings_added": "Learnings added",
    "learnings_active": "Active learnings",
    "learnings_deprecated": "Deprecated learnings",
}
"""Chart file stem → title."""


def require_charts(purpose: str = "charts") -> None:
    """Fail at once, naming the extra, when matplotlib is missing: before long work, not after.

    Raises:
        MissingExtraError: matplotlib is not installed.
    """
    if importlib.util.find_spec("matplotlib") is None:
        raise MissingExtraError("bench", f"{purpose} (matplotlib)")


_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_LINES = ("-", "--", "-.", ":")


def series_style(index: int, count: int) -> tuple[float, dict[str, object]]:
    """The x offset and line style of series ``index`` of ``count`` on one category chart.

    Categories often share values (every one at 100 % disagreement on a first run): with one
    marker and no offset, the last line drawn hides the others. Each gets its own marker, a dash
    once the markers run out, and a small sideways shift.
    """
    offset = (index - (count - 1) / 2) * min(0.06, 0.4 / max(count, 1))
    style: dict[str, object] = {
        "marker": _MARKERS[index % len(_MARKERS)],
        "linestyle": _LINES[(index // len(_MARKERS)) % len(_LINES)],
        "markersize": 5,
        "alpha": 0.85,
    }
    return offset, style


def write_charts(
    report: HealthReport, directory: Path, *, band: tuple[float, float] | None = None
) -> list[Path]:
    """Write one PNG per metric into ``directory``; return the paths written.

    ``band`` (low, high) shades the sweet-spot band on the disagreement chart. Categories that
    share values would hide each other's lines, so each gets its own marker and dash and a small
    sideways offset.
    """
    require_charts()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

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
        for i, (category, points) in enumerate(sorted(series.items())):
            offset, style = series_style(i, len(series))
            xs = [k + 1 + offset for k in range(len(points))]
            ys = [float(getattr(p, metric)) for p in points]
            ax.plot(xs, ys, label=category, **style)  # type: ignore[arg-type]
        runs = max((len(points) for points in series.values()), default=0)
        if runs:  # half a run of margin: one run is one column, not a stretched 0.84-1.16
            ax.set_xlim(0.5, runs + 0.5)
        if 0 < runs <= 12:  # a tick per run (the locator goes fractional on a short axis)
            ax.set_xticks(list(range(1, runs + 1)))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=metric.startswith("learnings")))
        ax.set_xlabel("run (oldest first)")
        ax.set_ylim(bottom=0)
        if metric == "disagreement_rate":
            ax.set_ylim(0, 1.05)
            if band is not None:
                ax.axhspan(band[0], band[1], color="tab:green", alpha=0.12, label="sweet spot")
        if series:  # beside the plot: inside it, it covered the sweet-spot band
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        path = directory / f"{metric}.png"
        fig.savefig(path, dpi=100)
        written.append(path)
    return written
