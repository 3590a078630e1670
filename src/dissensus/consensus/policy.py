"""The disagreement policy: which worker outcomes are settled and which go to the supervisor."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ConsensusPolicy"]


class ConsensusPolicy(BaseModel):
    """When an attribute counts as settled by the workers.

    The defaults are strict on purpose: a disagreement is the signal the system learns from,
    and the supervisor is cheap next to a wrong published value.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    quorum: int | None = Field(default=None, ge=1)
    """How many generators must give the same (normalized) value; ``None`` means all of them.

    Abstained generators count towards "all" but cannot vote, so with the default an abstention
    always leaves the attribute unsettled. A quorum larger than the team is never reached.
    """
    min_voters: int = Field(default=1, ge=1)
    """Fewest workers that must vote on an attribute for agreement to settle it.

    A worker outside its scope (the lexicon knows no value of the attribute) does not vote, so
    with one generator and the lexicon, 2 sends every value only the generator saw to the
    supervisor instead of publishing one small model's word as consensus.
    """
    evaluator_veto: bool = True
    """A ``wrong`` or ``missing`` verdict sends the attribute up even when generators agree."""
    veto_needs_alternative: bool = False
    """A veto counts only when the evaluator suggests a value that differs from the agreed one.

    For tiny evaluators that say ``missing`` about everything: a critique that names no
    alternative is then treated as noise instead of sending every attribute up.
    """
    ambiguous_escalates: bool = True
    """An ``ambiguous`` verdict sends the attribute up even when generators agree."""
    absent_agreement_is_consensus: bool = True
    """Generators agreeing that the attribute is absent settle it as ``None``.

    Turn off while workers still miss values often: agreement on absence is then weak evidence.
    """
    abstention_escalates: bool = True
    """Any generator that abstained (invalid output, failed call) sends the attribute up."""
    evaluator_abstention_escalates: bool = True
    """An evaluator that abstained sends every attribute up (it could not check anything).

    Applies only when the team has an evaluator; with none, generators decide alone.
    """

    def required(self, generators: int) -> int:
        """How many equal votes settle an attribute in a team of ``generators``."""
        return generators if self.quorum is None else self.quorum
