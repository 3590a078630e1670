"""Dashboard charts drawn on the server: matplotlib figures rendered to SVG, no front-end code.

Each function takes the series from :mod:`._reports` and returns SVG bytes. Figures are built
with ``matplotlib.figure.Figure`` directly (no ``pyplot``), so there is no global state and
requests may draw at once.
"""

from __future__ import annotations

import io
from datetime import datetime

import numpy as np
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from dissensus.knowledge.governance import KbSizePoint
from dissensus.report.charts import series_style
from dissensus.web._reports import RunPoint

__all__ = [
    "cost_chart",
    "disagreement_chart",
    "kb_size_chart",
    "queue_depth_chart",
    "supervisor_chart",
]

_SIZE = (7.0, 3.2)
_STATUS_COLORS = {
    "active": "#2f7d32",
    "proposed": "#c77c02",
    "deprecated": "#7a7a7a",
    "rejected": "#b3261e",
}


def _figure(title: str) -> tuple[Figure, Axes]:
    fig = Figure(figsize=_SIZE, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, loc="left", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    return fig, ax


def _svg(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # No date in the metadata: the same data draws the same bytes.
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666")
    ax.set_xticks([])
    ax.set_yticks([])


def _run_labels(runs: list[RunPoint]) -> list[str]:
    return [f"{r.started_at:%m-%d %H:%M}\n{r.run_id[-8:]}" for r in runs]


def disagreement_chart(runs: list[RunPoint], band: tuple[float, float] | None = None) -> bytes:
    """Disagreement rate per category, one line per category over runs in time order.

    ``band`` (low, high) shades the sweet spot the settings name.
    """
    fig, ax = _figure("Disagreement rate by category, per run")
    if not runs:
        _empty(ax, "no runs yet")
        return _svg(fig)
    categories = sorted({c for r in runs for c in r.disagreement})
    xs = list(range(len(runs)))
    for i, category in enumerate(categories):
        offset, style = series_style(i, len(categories))
        points = [
            (x + offset, r.disagreement[category])
            for x, r in zip(xs, runs, strict=True)
            if category in r.disagreement
        ]
        ax.plot([p[0] for p in points], [p[1] for p in points], label=category, **style)  # type: ignore[arg-type]
    if band is not None:
        ax.axhspan(band[0], band[1], color="tab:green", alpha=0.12, label="sweet spot")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("disputed products / products")
    ax.set_xticks(xs, _run_labels(runs), fontsize=7)
    if categories:
        ax.legend(fontsize=7, loc="upper right", frameon=False)
    return _svg(fig)


def supervisor_chart(runs: list[RunPoint]) -> bytes:
    """Supervisor calls per product in each run: a rate, so runs of any size compare."""
    fig, ax = _figure("Supervisor calls per product, per run")
    if not runs:
        _empty(ax, "no runs yet")
        return _svg(fig)
    xs = list(range(len(runs)))
    rates = [r.supervisor_calls / r.products if r.products else 0.0 for r in runs]
    ax.bar(xs, rates, color="#3b6ea5", width=0.6)
    for x, r, rate in zip(xs, runs, rates, strict=True):
        ax.annotate(
            f"{r.supervisor_calls}/{r.products}", (x, rate), ha="center", va="bottom", fontsize=7
        )
    ax.set_ylim(0, max(1.05, max(rates) * 1.15))
    ax.set_ylabel("calls / product")
    ax.set_xticks(xs, _run_labels(runs), fontsize=7)
    return _svg(fig)


def cost_chart(runs: list[RunPoint]) -> bytes:
    """Model tokens per product in each run, each bar labelled with its cost per product."""
    fig, ax = _figure("Model tokens and cost per product, per run")
    if not runs:
        _empty(ax, "no runs yet")
        return _svg(fig)
    xs = list(range(len(runs)))
    tokens = [r.tokens_per_product for r in runs]
    ax.bar(xs, tokens, color="#6b8f71", width=0.6)
    for x, r, t in zip(xs, runs, tokens, strict=True):
        label = f"${r.cost_per_product:.4f}" if r.cost_per_product else "$0 (local)"
        ax.annotate(label, (x, t), ha="center", va="bottom", fontsize=7)
    ax.set_ylim(0, max(1.0, max(tokens) * 1.2))
    ax.set_ylabel("tokens / product")
    ax.set_xticks(xs, _run_labels(runs), fontsize=7)
    return _svg(fig)


def queue_depth_chart(series: list[tuple[datetime, int]]) -> bytes:
    """Review items waiting for a person over time."""
    fig, ax = _figure("Review queue depth")
    if not series:
        _empty(ax, "the review queue has never held an item")
        return _svg(fig)
    # Naive UTC for numpy (it refuses aware datetimes); the axis label says UTC.
    times = np.array([s[0].replace(tzinfo=None) for s in series], dtype="datetime64[s]")
    ax.step(times, [s[1] for s in series], where="post", color="#6b4fa3")
    # matplotlib.dates ships without annotations, hence the ignores.
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_xlabel("time (UTC)")
    ax.set_ylim(bottom=0)
    ax.set_ylabel("open or claimed items")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return _svg(fig)


def kb_size_chart(series: list[KbSizePoint]) -> bytes:
    """Learnings by status over knowledge-base versions, stacked."""
    fig, ax = _figure("Knowledge base size")
    if not series:
        _empty(ax, "the knowledge base is empty")
        return _svg(fig)
    xs = [p.version for p in series]
    statuses = [s for s in _STATUS_COLORS if any(s in p.counts for p in series)]
    ax.stackplot(
        xs,
        [[p.counts.get(s, 0) for p in series] for s in statuses],
        labels=statuses,
        colors=[_STATUS_COLORS[s] for s in statuses],
        alpha=0.85,
    )
    ax.set_xlabel(f"KB version (last: {series[-1].at:%Y-%m-%d %H:%M} UTC)")
    ax.set_ylabel("learnings")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    return _svg(fig)
