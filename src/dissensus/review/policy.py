"""Which output records go to a person, and how the audit sample decays as a category matures.

Four rules, in priority order:

1. **needs_human** — an attribute is ``needs_review`` because the supervisor said "needs a
   human", abstained, or left a disputed attribute out of its resolution.
2. **low_confidence** — an attribute is ``needs_review`` only because the resolution's confidence
   was below :attr:`ReviewPolicy.confidence`.
3. **unverified** — the supervisor's resolution taught learnings that the gate could not verify
   and kept for a person: the resolved attributes go to review, so that a person's answer
   settles the product and (with a :class:`~dissensus.review.ReviewTeacher`) the learnings.
4. **audit** — a record with consensus values and nothing waiting is sampled with probability
   ``max(audit_min_rate, audit_rate * 0.5 ** (maturity / audit_half_life))``. A category's
   *maturity* is the number of its products in runs that completed before the current run
   started: fixed for the whole run, so the decision for a product never depends on timing.

Sampling is deterministic: a product is audited when ``sample_point(run_id, product_id)`` (a hash
mapped to [0, 1)) is below the rate, so a resumed run samples exactly the products the
interrupted one would have.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from dissensus.config import Settings
from dissensus.domain import EnrichedRecord, Resolution
from dissensus.review.item import ReviewReason

__all__ = ["ReviewPolicy", "Triage", "sample_point"]


def sample_point(run_id: str, product_id: str) -> float:
    """A stable pseudo-random number in [0, 1) for one product of one run."""
    digest = hashlib.sha256(f"{run_id}\0{product_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True, slots=True)
class Triage:
    """The policy's decision for one record: why it goes to review, and which attributes."""

    reason: ReviewReason
    attributes: list[str]
    audit_rate: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewPolicy:
    """The enqueue rules (see the module docstring); pure, so tests and benchmarks can ask it."""

    confidence: float = 0.3
    """Resolutions below this confidence go to review (the run's ``review_confidence``)."""
    audit_rate: float = 0.05
    """Audit sampling rate of a category with no history."""
    audit_half_life: int = 1000
    """Products of a category after which its audit rate halves."""
    audit_min_rate: float = 0.005
    """Floor of the decayed audit rate."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ReviewPolicy:
        """The policy a run with these settings uses."""
        r = settings.review
        return cls(
            confidence=settings.review_confidence,
            audit_rate=r.audit_rate,
            audit_half_life=r.audit_half_life,
            audit_min_rate=r.audit_min_rate,
        )

    def audit_rate_at(self, maturity: int) -> float:
        """The audit sampling rate of a category with ``maturity`` products behind it."""
        decayed: float = self.audit_rate * 0.5 ** (max(0, maturity) / self.audit_half_life)
        return max(min(self.audit_min_rate, self.audit_rate), decayed)

    def audited(self, run_id: str, product_id: str, *, maturity: int) -> bool:
        """Whether this product of this run falls in the audit sample."""
        return sample_point(run_id, product_id) < self.audit_rate_at(maturity)

    def triage(
        self,
        record: EnrichedRecord,
        *,
        resolution: Resolution | None,
        run_id: str,
        maturity: int,
        held: bool = False,
    ) -> Triage | None:
        """Decide whether ``record`` goes to review; ``None`` means it does not.

        Args:
            record: The output record as the run built it.
            resolution: The supervisor's resolution, when it was called and answered.
            run_id: The run (with the product id, the audit sample's seed).
            maturity: Products of the record's category in earlier completed runs.
            held: The product's resolution taught learnings the gate kept for a person.
        """
        if record.error is not None:
            return None
        waiting = [n for n, a in record.attributes.items() if a.status == "needs_review"]
        if waiting:
            unsure_only = (
                resolution is not None
                and not resolution.needs_human
                and resolution.confidence < self.confidence
                and all(name in resolution.values for name in waiting)
            )
            return Triage("low_confidence" if unsure_only else "needs_human", waiting)
        resolved = [n for n, a in record.attributes.items() if a.status == "supervisor"]
        if held and resolved:
            return Triage("unverified", resolved)
        agreed = [n for n, a in record.attributes.items() if a.status == "consensus"]
        if not agreed:
            return None
        rate = self.audit_rate_at(maturity)
        if sample_point(run_id, record.id) < rate:
            return Triage("audit", agreed, audit_rate=rate)
        return None
