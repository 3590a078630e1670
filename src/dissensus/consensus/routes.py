"""Routes: what the supervisor's track record on one kind of dispute lets consensus settle alone.

The commonest dispute on a small worker team is a *lone value*: one generator proposes a value
for an attribute and no other worker confirms it (the lexicon knows no such value, or found
none). Whether such a value is right depends mostly on the attribute and the category: Gemma
270M fills "Country" of a coffee with the pack size, and the supervisor throws that out every
time, while its "Net content" is usually kept. Each resolution is a learning signal about the
worker; once the supervisor has found the attribute absent behind enough lone values of one
(category, attribute, worker), consensus settles the next one as absent, as the supervisor
would have, and the supervisor is asked only about what is still in doubt. That is how
supervisor calls and their cost fall as a run learns, without touching any prompt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from dissensus.domain.track_record import RouteKey, TrackCounts

__all__ = ["Route", "RouteKey", "TrackCounts", "route_for", "routes_from"]

Route = Literal["absent"]
"""``absent``: settle the attribute as absent (the supervisor finds such values absent).

There is deliberately no route that *publishes* a lone value: that would put one small model's
word, perhaps obeying a seller's text, into the catalog unchecked. A route can only take a
value out, never put one in, and a value the supervisor often replaces by a better one is no
candidate either (dropping it would lose what the supervisor finds)."""


def route_for(counts: TrackCounts, *, after: int, share: float) -> Route | None:
    """The route a track record earns, or ``None`` while the supervisor is still needed.

    A route needs at least ``after`` resolutions (0 turns routing off) and a smoothed share
    ``(k + 1) / (n + 2)`` of at least ``share`` of them finding the attribute absent, so that
    four out of four give 0.83 and one contrary ruling in eight still gives 0.8: a few lucky
    rulings cannot route.
    """
    n = counts.cases
    if after <= 0 or n < after:
        return None
    if (counts.absent + 1) / (n + 2) >= share:
        return "absent"
    return None


def routes_from(
    record: Mapping[RouteKey, TrackCounts], *, after: int, share: float
) -> dict[RouteKey, Route]:
    """Every route a category's track record earns (see :func:`route_for`)."""
    routes: dict[RouteKey, Route] = {}
    for key, counts in record.items():
        if (route := route_for(counts, after=after, share=share)) is not None:
            routes[key] = route
    return routes
