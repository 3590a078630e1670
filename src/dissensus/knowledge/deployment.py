"""Deployment modes: how supervisor learnings reach runs (configured as ``deployment_mode``).

See :mod:`dissensus.knowledge.governance` for the staging/production split they act on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dissensus.domain import LearningStatus

__all__ = ["DeploymentMode", "DeploymentPolicy"]

DeploymentMode = Literal["deploy-and-learn", "learn-then-deploy"]
"""How supervisor learnings reach runs (see :mod:`dissensus.knowledge.governance`)."""


class DeploymentPolicy(BaseModel):
    """The deployment mode and its knob, as configured (``deployment_mode``, ``confirmations``)."""

    model_config = ConfigDict(frozen=True)

    mode: DeploymentMode = "deploy-and-learn"
    confirmations: int = Field(default=0, ge=0)
    """deploy-and-learn only: later cases that must draft a learning again before it goes
    active (0: active at once)."""

    @property
    def placement_status(self) -> LearningStatus:
        """The status the memory manager gives a new learning."""
        if self.mode == "deploy-and-learn" and self.confirmations == 0:
            return "active"
        return "proposed"

    @property
    def activate_after(self) -> int | None:
        """Confirmations that activate a proposed learning; ``None``: only ``promote`` does."""
        return self.confirmations if self.mode == "deploy-and-learn" else None

    @property
    def authored_status(self) -> LearningStatus:
        """The status of a learning a person writes: staged or published per the mode."""
        return "proposed" if self.staged else "active"

    @property
    def staged(self) -> bool:
        """True when approvals wait for ``promote`` (learn-then-deploy)."""
        return self.mode == "learn-then-deploy"
