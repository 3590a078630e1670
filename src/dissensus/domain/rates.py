"""The rates everyone reports, defined once: disagreement is disputed products over products.

A run summary, the per-category report, the dashboard, the API and the consensus tallies all
call :func:`disagreement_rate`, so "disagreement" means one thing wherever it is shown.
"""

from __future__ import annotations

__all__ = ["disagreement_rate", "share"]


def share(part: int | float, whole: int | float) -> float:
    """``part / whole``, and 0 when there is nothing to divide (no products yet)."""
    return part / whole if whole else 0.0


def disagreement_rate(disputed_products: int, products: int) -> float:
    """Share of products with at least one attribute the workers did not settle."""
    return share(disputed_products, products)
