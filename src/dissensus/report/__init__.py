"""Report: the health of enrichment per category over time (``dissensus report``).

Owns the per-category series — disagreement rate, supervisor calls, learnings added, active and
deprecated — per run, the sweet-spot band check with its likely cause, the top learnings by
measured effect, and their PNG charts (matplotlib, Agg, no ``pyplot`` state). Reads
``storage``, ``knowledge`` and the costs of ``observability``; must not import ``pipeline``,
``cli`` or ``web``.
"""

from dissensus.report.health import (
    BandCheck,
    CategoryPoint,
    HealthReport,
    band_check,
    build_report,
)

__all__ = ["BandCheck", "CategoryPoint", "HealthReport", "band_check", "build_report"]
