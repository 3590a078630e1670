"""Observability: the call log, metrics, traces and log lines of runs.

Owns what a team watches to know the architecture delivers: every model call's prompt and
answer (``call_log``), Prometheus metrics (``metrics``), OpenTelemetry spans (``tracing``), the
process's log lines (``logs``) and the redaction all of them apply. It reads ``domain``,
``storage`` and the call records of ``llm``; it must not import ``pipeline``, ``cli`` or ``web``,
which call into it.
"""

from dissensus.observability.call_log import CallLog, LoggedCall, stored_call
from dissensus.observability.redaction import redact_text, redact_url

__all__ = ["CallLog", "LoggedCall", "redact_text", "redact_url", "stored_call"]
