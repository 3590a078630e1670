"""Routes: what the supervisor's track record on one kind of dispute lets consensus settle alone.

The commonest dispute on a small worker team is a *lone value*: one generator proposes a value
for an attribute and no other worker confirms it (the lexicon knows no such value, or found
none). Whether such a value is right depends mostly on the attribute and the category: Gemma
270M fills "Country" of a coffee with the pack size, and the supervisor throws that out every
time, while its "Net content" is usually kept. Each resolution is a learning signal about the
worker; once the supervisor has found the attribute absent behind enough lone values of one
(category, attribute, worker), consensus settles the next one as absent, as the supervisor
would have, and the supervisor is asked only about what is still in doubt. The other way
round, once the supervisor has kept nearly every lone value of one (category, attribute,
worker), consensus publishes the next one that is a span of the product's own text, under a
stricter share (``keep_share``). That is how supervisor calls and their cost fall as a run
learns, without touching any prompt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Literal

from dissensus.domain.track_record import RouteKey, TrackCounts

__all__ = [
    "Route",
    "RouteKey",
    "TrackCounts",
    "audited",
    "presence_routes",
    "route_for",
    "routes_from",
]

Route = Literal["absent", "keep"]
"""``absent``: settle the attribute as absent (the supervisor finds such values absent).
``keep``: publish the worker's value (the supervisor keeps such values).

A kept value is one small model's word published unchecked, so ``keep`` asks more than
``absent``: a stricter share, a value that is a span of the product's own title or description
(``decide`` checks), a product whose text does not address the model (the pipeline passes no
routes then), and an audit share of products that still go to the supervisor so the record stays
current (``Runner``). A value the supervisor often *replaces* earns neither route: dropping it
would lose what the supervisor finds, keeping it would publish a misreading."""


def route_for(
    counts: TrackCounts, *, after: int, share: float, keep_share: float | None = None
) -> Route | None:
    """The route a track record earns, or ``None`` while the supervisor is still needed.

    A route needs at least ``after`` resolutions (0 turns routing off) and a smoothed share
    ``(k + 1) / (n + 2)`` of them finding the attribute absent of at least ``share``, so that
    four out of four give 0.83 and one contrary ruling in eight still gives 0.8: a few lucky
    rulings cannot route. ``keep`` needs the same smoothed share of upheld rulings to reach
    ``keep_share`` (``None``: values are never kept).
    """
    n = counts.cases
    if after <= 0 or n < after:
        return None
    if (counts.absent + 1) / (n + 2) >= share:
        return "absent"
    if keep_share is not None and (counts.upheld + 1) / (n + 2) >= keep_share:
        return "keep"
    return None


def presence_routes(rare: Iterable[str], roles: Iterable[str]) -> dict[RouteKey, Route]:
    """The routes a category's verified catalog gives before any ruling: rare means absent.

    An attribute that hardly any verified product of the category has (``rare``, see
    ``CategoryEvidence.rare``) is, for a product of that category, most likely absent too; a
    small generator fills it anyway (Gemma 270M writes the pack size into a coffee's
    "Country"), and without a prior every such value is a dispute until the supervisor's
    rulings earn the route. This is that route from the first product: a generator's *lone*
    value for a rare attribute is settled absent. A value the lexicon also reads, or one two
    generators agree on, is not lone and is decided as before.
    """
    role_list = list(roles)
    return {(name, role): "absent" for name in rare for role in role_list}


def routes_from(
    record: Mapping[RouteKey, TrackCounts],
    *,
    after: int,
    share: float,
    keep_share: float | None = None,
    prior: Mapping[RouteKey, Route] | None = None,
) -> dict[RouteKey, Route]:
    """Every route a category's track record earns (see :func:`route_for`).

    ``prior`` (:func:`presence_routes`) holds for a key until its record has ``after``
    rulings; from then on the rulings decide, so a prior the supervisor keeps contradicting
    (on the audit sample) ends.
    """
    routes: dict[RouteKey, Route] = {}
    for key, assumed in (prior or {}).items():
        counts = record.get(key)
        if after <= 0 or counts is None or counts.cases < after:
            routes[key] = assumed
    for key, counts in record.items():
        route = route_for(counts, after=after, share=share, keep_share=keep_share)
        if route is not None:
            routes[key] = route
    return routes


def audited(product_id: str, share: float) -> bool:
    """Whether a product is in the audit sample that routes leave to the supervisor.

    A stable hash of the id, not a random draw: a rerun or a resumed run audits the same
    products, and two processes agree without sharing state.
    """
    if share <= 0.0:
        return False
    digest = hashlib.sha256(product_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share
