"""PNG plots of an extraction benchmark, rendered headless (matplotlib's Agg backend).

matplotlib is an optional dependency (extra ``bench``); a missing install is a
:class:`~dissensus.errors.MissingExtraError` naming the extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dissensus.bench.results import BenchResults
from dissensus.report.charts import require_charts

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["write_plots"]

_COLORS = {
    "lexicon": "tab:brown",
    "single": "tab:gray",
    "few-shot": "tab:orange",
    "no-learning": "tab:blue",
    "learning": "tab:green",
    "supervisor-only": "tab:purple",
}


def _pyplot() -> Any:
    require_charts("the benchmark's plots")
    import matplotlib

    matplotlib.use("Agg", force=True)  # headless: no display on servers and in CI
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def _f1_curve(results: BenchResults, plt: Any, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=False)
    stream_end = max([c.after for c in results.checkpoints + results.review_checkpoints] + [1])
    for ax, variant in zip(axes, ("published", "strict"), strict=True):
        if results.checkpoints:
            xs = [c.after for c in results.checkpoints]
            ax.plot(
                xs,
                [getattr(c.system, variant).micro.f1 for c in results.checkpoints],
                "o-",
                color=_COLORS["learning"],
                label="learning (full system)",
            )
            ax.plot(
                xs,
                [getattr(c.generator, variant).micro.f1 for c in results.checkpoints],
                "s--",
                color="tab:olive",
                label="learning (generator-a raw)",
            )
        if results.review_checkpoints and results.checkpoints:
            points = [results.checkpoints[0], *results.review_checkpoints]
            ax.plot(
                [c.after for c in points],
                [getattr(c.system, variant).micro.f1 for c in points],
                "D-",
                color="tab:purple",
                label="human-review (full system)",
            )
        for name in ("lexicon", "single", "few-shot", "no-learning", "supervisor-only"):
            arm = results.arms.get(name)
            if arm is not None:
                ax.hlines(
                    getattr(arm.scores, variant).micro.f1,
                    0,
                    stream_end,
                    colors=_COLORS[name],
                    linestyles=":",
                    label=name,
                )
        ax.set_title(f"micro-F1 ({variant})")
        ax.set_xlabel("stream products seen")
        ax.set_ylabel("micro-F1 (%)")
        ax.grid(alpha=0.3)
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize=8, loc="best")
    return _save(fig, path)


def _stream_windows(results: BenchResults, plt: Any, path: Path) -> Path:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    wins = results.windows
    mids = [(w.start + w.end) / 2 for w in wins]
    top.plot(mids, [w.disagreement_rate * 100 for w in wins], "o-", color="k", label="all")
    categories = sorted({c for w in wins for c in w.disagreement_by_category})
    for category in categories:
        points = [
            (m, w.disagreement_by_category[category] * 100)
            for m, w in zip(mids, wins, strict=True)
            if category in w.disagreement_by_category
        ]
        top.plot(*zip(*points, strict=True), ".-", alpha=0.45, linewidth=1, label=category)
    top.set_ylabel("disagreement rate (% of products)")
    top.set_title("Stream windows of the learning arm")
    top.grid(alpha=0.3)
    top.legend(fontsize=7, ncol=3, loc="best")
    width = max(1.0, (wins[0].end - wins[0].start) * 0.4) if wins else 1.0
    bottom.bar(
        [m - width / 2 for m in mids],
        [w.supervisor_calls for w in wins],
        width=width,
        label="supervisor calls",
        color="tab:red",
    )
    bottom.bar(
        [m + width / 2 for m in mids],
        [w.learnings_added for w in wins],
        width=width,
        label="learnings added",
        color="tab:green",
    )
    bottom.set_ylabel("per window")
    bottom.set_xlabel("stream products (window midpoints)")
    bottom.grid(alpha=0.3)
    bottom.legend(fontsize=8)
    return _save(fig, path)


def _tokens(results: BenchResults, plt: Any, path: Path) -> Path:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
    wins = results.windows
    if wins:
        left.plot(
            [(w.start + w.end) / 2 for w in wins],
            [w.tokens_per_product for w in wins],
            "o-",
            color=_COLORS["learning"],
        )
    left.set_title("Tokens per product on the stream (learning arm)")
    left.set_xlabel("stream products (window midpoints)")
    left.set_ylabel("tokens (input + output)")
    left.grid(alpha=0.3)
    names = list(results.arms)
    right.bar(
        names,
        [results.arms[n].stats.tokens_per_product for n in names],
        color=[_COLORS.get(n, "tab:gray") for n in names],
    )
    right.set_title("Tokens per product on the evaluation set")
    right.tick_params(axis="x", labelsize=8)
    right.grid(alpha=0.3, axis="y")
    return _save(fig, path)


def write_plots(results: BenchResults, out_dir: Path) -> list[Path]:
    """Write ``f1_curve.png``, ``stream_windows.png`` (when there is a stream) and ``tokens.png``.

    Raises:
        MissingExtraError: matplotlib is not installed (``pip install 'dissensus[bench]'``).
    """
    plt = _pyplot()
    written = [_f1_curve(results, plt, out_dir / "f1_curve.png")]
    plt.close("all")
    if results.windows:
        written.append(_stream_windows(results, plt, out_dir / "stream_windows.png"))
        plt.close("all")
    written.append(_tokens(results, plt, out_dir / "tokens.png"))
    plt.close("all")
    return written
