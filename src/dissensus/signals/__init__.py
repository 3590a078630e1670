"""Signals: seller and customer feedback that arrives after inference, and what it teaches.

Owns reading signal files (seller listing edits and appeals, customer returns, reviews; JSONL or
CSV), linking each signal to the product, the attribute and the published result it is about,
triage (rules first, a cheap model where rules cannot tell; noise is stored with its reason),
and turning the signals that survive into supervisor cases whose learnings go to the knowledge
base as ``proposed`` until a person approves them or enough independent signals confirm them;
a published value the supervisor finds contested goes to the review desk (``review``) beside
its signals, and only a person changes it. Signal text is untrusted: it only ever reaches a
model as quoted data. Uses ``domain``, ``llm`` (the ``LLM`` contract), ``knowledge``,
``supervisor``, ``review``, ``storage``, ``config``, ``errors`` and ``pipeline.inputs`` (to read a
run's products back); must not import ``cli`` or ``web``.
"""

from dissensus.signals.ingest import IngestReport, SignalIngester
from dissensus.signals.records import SignalKind, SignalRecord, read_signals
from dissensus.signals.triage import (
    Published,
    Triage,
    TriageAnswer,
    TriageVerdict,
    injection_reason,
    rule_triage,
)

__all__ = [
    "IngestReport",
    "Published",
    "SignalIngester",
    "SignalKind",
    "SignalRecord",
    "Triage",
    "TriageAnswer",
    "TriageVerdict",
    "injection_reason",
    "read_signals",
    "rule_triage",
]
