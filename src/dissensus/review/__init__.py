"""Review: the human review queue and the policies that fill it.

Owns which output records go to a person (:class:`ReviewPolicy`: supervisor "needs a human",
resolutions below the confidence threshold, and an audit sample of consensus results that decays
as a category matures), the queue itself (:class:`ReviewQueue`: enqueue, list, atomic claims
with a visibility timeout, submit — which rewrites the stored output record and places an
optional learning as ``proposed`` through the memory manager, and with a
:class:`ReviewTeacher` turns the reviewed values into value and example learnings) and
rewriting a run's output file from the stored records; ``review.sqs`` hands open items out
through Amazon SQS for reviewer tools that read a queue (boto3, imported lazily: extra ``aws``).
Uses ``domain``, ``knowledge``,
``llm`` (the ``LLM`` contract only), ``storage``, ``config`` and ``errors``; must not
import ``pipeline``, ``supervisor``, ``workers``, ``cli`` or ``web`` — the pipeline calls
it, and the fronts call it.
"""

from dissensus.review.export import (
    OutputRefresh,
    output_path_of,
    refresh_output,
    run_is_active,
    write_run_output,
)
from dissensus.review.history import ValueChange, restore, value_history
from dissensus.review.item import (
    QueueFilters,
    QueueStats,
    ReviewContext,
    ReviewDetail,
    ReviewItem,
    ReviewReason,
    ReviewState,
    ReviewTicket,
    SignalNote,
    Submission,
    SubmitResult,
    SupervisorView,
)
from dissensus.review.policy import ReviewPolicy, sample_point
from dissensus.review.queue import ReviewQueue
from dissensus.review.teaching import ReviewTeacher, describe_taught, review_drafts

__all__ = [
    "OutputRefresh",
    "QueueFilters",
    "QueueStats",
    "ReviewContext",
    "ReviewDetail",
    "ReviewItem",
    "ReviewPolicy",
    "ReviewQueue",
    "ReviewReason",
    "ReviewState",
    "ReviewTeacher",
    "ReviewTicket",
    "SignalNote",
    "Submission",
    "SubmitResult",
    "SupervisorView",
    "ValueChange",
    "describe_taught",
    "output_path_of",
    "refresh_output",
    "restore",
    "review_drafts",
    "run_is_active",
    "sample_point",
    "value_history",
    "write_run_output",
]
