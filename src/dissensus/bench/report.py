"""The human-readable report of an extraction benchmark (``report.md``)."""

from __future__ import annotations

from pathlib import Path

from dissensus.bench.results import (
    BenchResults,
    CheckpointResult,
    PassStats,
    ValueVerdicts,
    VariantScores,
)

__all__ = ["render_report", "write_report"]

_SYSTEM_ARMS = {"no-learning", "learning", "human-review"}


def _f(value: float) -> str:
    return f"{value:.2f}"


def _rate(value: float) -> str:
    return f"{value * 100:.0f}%"


def _cost(stats: PassStats) -> str:
    return f"${stats.cost_per_product_usd:.6f}" if stats.cost_usd else "$0 (local)"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _score_cells(scores: VariantScores) -> list[str]:
    pub, strict = scores.published, scores.strict
    return [
        _f(pub.micro.f1),
        _f(pub.micro.precision),
        _f(pub.micro.recall),
        _f(pub.macro.f1),
        _f(strict.micro.f1),
        _f(strict.micro.precision),
    ]


def render_report(results: BenchResults) -> str:
    """The report as Markdown: arms side by side, references, curve, stream, breakdowns."""
    cfg = results.config
    out: list[str] = [f"# Extraction benchmark ({results.dataset}; ExtractGPT protocol)", ""]
    minutes = results.wall_seconds / 60
    load = results.machine.get("load_average_start"), results.machine.get("load_average_end")
    out += [
        f"- dissensus {results.dissensus_version}, started {results.started_at}, "
        f"wall time **{results.wall_seconds:.0f} s ({minutes:.1f} min)** on "
        f"{results.machine.get('cpus')} CPUs, {results.machine.get('llama_threads')} llama.cpp "
        f"threads (load average at start {load[0]}, end {load[1]})",
        f"- data: `{cfg.data_dir}`; stream {results.split_sizes.get('stream')} products "
        f"(seed {cfg.seed}), evaluation {results.split_sizes.get('evaluation')} test records, "
        f"verified catalog {results.split_sizes.get('verified')} (train_0.2)",
        f"- checkpoints every {cfg.checkpoint_every} stream products; windows of {cfg.window}",
        "- models: "
        + "; ".join(
            f"`{m.name}` as {', '.join(m.roles)}" + (f" ({m.version})" if m.version else "")
            for m in results.models
        ),
        f"- evaluator: `{results.settings.get('evaluator')}`; batch size "
        f"{results.settings.get('batch_size')}, concurrency {results.settings.get('concurrency')}",
        "",
        "Scores are micro-F1 in percent. *Published* is the ExtractGPT protocol (only labelled "
        "attributes count; comparable with the references); *strict* also counts every schema "
        "attribute a record does not list, so invented values are false positives.",
        "",
    ]
    for note in results.notes:
        out.append(f"> {note}")
    out.append("")

    out += ["## Arms side by side", ""]
    rows = []
    for name, arm in results.arms.items():
        s = arm.stats
        system = name in _SYSTEM_ARMS
        rows.append(
            [
                f"**{name}**",
                *_score_cells(arm.scores),
                _rate(s.disagreement_rate) if system else "–",
                f"{s.supervisor_calls / s.products:.2f}" if s.products else "–",
                f"{s.tokens_per_product:.0f}",
                f"{s.model_seconds_per_product:.2f}",
                _cost(s),
                f"{s.wall_seconds:.0f}" if s.wall_seconds else "shared",
            ]
        )
    for ref in results.references:
        rows.append([f"*{ref.name}* (published)", _f(ref.micro_f1), *["–"] * 11])
    out.append(
        _table(
            [
                "arm",
                "micro-F1",
                "P",
                "R",
                "macro-F1",
                "strict micro-F1",
                "strict P",
                "disagreement",
                "supervisor calls / product",
                "tokens / product",
                "model-s / product",
                "cost / product",
                "eval wall s",
            ],
            rows,
        )
    )
    out.append("")
    for name, arm in results.arms.items():
        line = f"- **{name}**: {arm.description}."
        if arm.source:
            line += f" Source: {arm.source}."
        out.append(line)
    out.append("")

    if results.intervals:
        out += [
            "## Differences between arms (95 % bootstrap intervals over evaluation records)",
            "",
        ]
        rows = [
            [
                f"{i.a} − {i.b}",
                i.variant,
                f"{i.difference:+.2f}",
                f"[{i.low:+.2f}, {i.high:+.2f}]",
                "yes" if i.excludes_zero else "no",
            ]
            for i in results.intervals
        ]
        out += [
            _table(["difference", "variant", "micro-F1 points", "interval", "excludes 0"], rows),
            "",
            f"Paired resampling of the evaluation records ({results.intervals[0].resamples} "
            "draws, percentile interval).",
            "",
        ]

    roles = sorted(
        {r for a in results.arms.values() for r in a.stats.model_seconds_per_product_by_role}
    )
    if roles:
        out += ["## Cost per product by role (tokens / model-seconds)", ""]
        rows = []
        for name, arm in results.arms.items():
            st = arm.stats
            rows.append(
                [
                    name,
                    *[
                        f"{st.tokens_per_product_by_role.get(r, 0):.0f} / "
                        f"{st.model_seconds_per_product_by_role.get(r, 0):.2f}"
                        for r in roles
                    ],
                ]
            )
        out += [
            _table(["arm", *roles], rows),
            "",
            "Model-seconds are each call's latency; the workers of one product share the team's "
            "wall time (with one generator that is the generator's own).",
            "",
        ]

    if results.checkpoints:
        out += ["## Learning curve (evaluation set, knowledge base frozen at each checkpoint)", ""]
        out += _curve(results.checkpoints)
    if results.review_checkpoints:
        reviews = results.reviews
        out += ["## Human-review arm (the same stream, reviewers answering from its labels)", ""]
        if reviews is not None:
            reasons = ", ".join(f"{n} {r}" for r, n in sorted(reviews.by_reason.items()))
            out += [
                f"- {reviews.answered} of a budget of {reviews.budget} review items answered "
                f"({reasons or 'none'}); {reviews.open_left} still open at the end",
                f"- the answers added {reviews.taught_active} active learnings, "
                f"{reviews.taught_held} kept proposed by the gate, and confirmed "
                f"{reviews.confirmed} already known",
                "",
            ]
        out += _curve(results.review_checkpoints)

    if results.windows:
        categories = sorted({c for w in results.windows for c in w.disagreement_by_category})
        out += ["## Stream windows (learning arm, processing order)", ""]
        rows = [
            [
                f"{w.start}-{w.end}",
                _rate(w.disagreement_rate),
                str(w.supervisor_calls),
                f"{w.disputed_attributes / w.products:.1f}" if w.products else "–",
                f"{w.routed_attributes / w.products:.1f}" if w.products else "–",
                str(w.learnings_added),
                f"{w.tokens_per_product:.0f}",
                _cost(w),
                f"{w.wall_seconds:.0f}",
                *[
                    _rate(w.disagreement_by_category[c]) if c in w.disagreement_by_category else ""
                    for c in categories
                ],
            ]
            for w in results.windows
        ]
        out.append(
            _table(
                [
                    "products",
                    "disagreement",
                    "supervisor calls",
                    "disputed attributes / product",
                    "routed / product",
                    "learnings added",
                    "tokens / product",
                    "cost / product",
                    "wall s",
                    *categories,
                ],
                rows,
            )
        )
        out.append("")

    if results.arms:
        names = list(results.arms)
        categories = sorted(
            {c for a in results.arms.values() for c in a.scores.published.by_category}
        )
        out += ["## Micro-F1 by category (published / strict)", ""]
        rows = []
        for category in categories:
            cells = [category]
            for name in names:
                scores = results.arms[name].scores
                pub = scores.published.by_category.get(category)
                strict = scores.strict.by_category.get(category)
                cells.append(f"{_f(pub.f1) if pub else '–'} / {_f(strict.f1) if strict else '–'}")
            rows.append(cells)
        out += [_table(["category", *names], rows), ""]

        attributes = sorted(
            {a for arm in results.arms.values() for a in arm.scores.published.by_attribute},
            key=lambda a: (
                -max(
                    arm.scores.published.by_attribute[a].counts.scored
                    for arm in results.arms.values()
                    if a in arm.scores.published.by_attribute
                )
            ),
        )
        out += ["## Micro-F1 by attribute (published protocol; most labelled first)", ""]
        rows = []
        for attribute in attributes:
            any_arm = next(
                a.scores.published.by_attribute[attribute]
                for a in results.arms.values()
                if attribute in a.scores.published.by_attribute
            )
            labelled = any_arm.counts.vn + any_arm.counts.vc + any_arm.counts.vw
            cells = [attribute, str(labelled)]
            for name in names:
                found = results.arms[name].scores.published.by_attribute.get(attribute)
                cells.append(_f(found.f1) if found else "–")
            rows.append(cells)
        out += [_table(["attribute", "labelled", *names], rows), ""]

    out += [
        "## Files",
        "",
        "- `results.json`: every number above, the configuration, models, seeds, data hashes",
        "- `predictions/`: each arm's (and checkpoint's) predicted values by product id",
    ]
    if results.knowledge_export:  # a run that loaded its last checkpoint has none
        out.append(
            f"- `{results.knowledge_export}`: the knowledge base at the end of the stream "
            "(nodes, learnings, history)"
        )
    out += [
        "- `passes/`: every finished evaluation pass with its basis, for `--reuse`",
        "- `f1_curve.png`, `stream_windows.png`, `tokens.png`: the plots",
        "- `work/`: the run inputs (no test labels), run outputs and the databases",
        "",
    ]
    return "\n".join(out)


def write_report(results: BenchResults, out_dir: Path) -> Path:
    """Write ``report.md`` into ``out_dir``."""
    path = out_dir / "report.md"
    path.write_text(render_report(results), encoding="utf-8")
    return path


def _learned(v: ValueVerdicts) -> str:
    """Right/wrong/absent by the stream's labels, with the share right."""
    return f"{v.right}/{v.wrong}/{v.absent} ({v.rate:.0f}%)" if v.judged else "–"


def _curve(points: list[CheckpointResult]) -> list[str]:
    """One row per checkpoint: scores, generator-a's share, disagreement, supervisor accuracy."""
    rows = [
        [
            str(c.after),
            str(c.learnings),
            _f(c.system.published.micro.f1),
            _f(c.system.strict.micro.f1),
            _f(c.generator.published.micro.f1),
            _f(c.generator.strict.micro.f1),
            _rate(c.stats.disagreement_rate),
            str(c.stats.supervisor_calls),
            f"{c.supervisor.correct}/{c.supervisor.slots} ({c.supervisor.rate:.0f}%)",
            _learned(c.learned.active),
            _learned(c.learned.proposed),
            f"{c.stats.tokens_per_product:.0f}",
            f"{c.stats.wall_seconds:.0f}",
        ]
        for c in points
    ]
    headers = [
        "after stream products",
        "active learnings",
        "system F1",
        "system strict F1",
        "generator-a F1",
        "generator-a strict F1",
        "disagreement",
        "supervisor calls",
        "supervisor right (labelled slots)",
        "learned values live: right/wrong/absent",
        "held by the gate: right/wrong/absent",
        "tokens / product",
        "wall s",
    ]
    return [_table(headers, rows), ""]
