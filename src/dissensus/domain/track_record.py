"""A worker's track record: how the supervisor ruled on its lone values, per attribute.

Plain data shared by the room that stores it (``knowledge``) and the one that acts on it
(``consensus.routes``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RouteKey", "TrackCounts"]

RouteKey = tuple[str, str]
"""(attribute, generator role): one worker's lone values of one attribute."""


@dataclass(frozen=True)
class TrackCounts:
    """How the supervisor ruled on one worker's lone values of one attribute in one category."""

    upheld: int = 0
    """Resolutions that kept the worker's value (equal after normalization)."""
    absent: int = 0
    """Resolutions that found the attribute absent from the text."""
    replaced: int = 0
    """Resolutions that set another value (the worker saw something, and misread it)."""

    @property
    def cases(self) -> int:
        return self.upheld + self.absent + self.replaced

    def __add__(self, other: TrackCounts) -> TrackCounts:
        return TrackCounts(
            self.upheld + other.upheld, self.absent + other.absent, self.replaced + other.replaced
        )
