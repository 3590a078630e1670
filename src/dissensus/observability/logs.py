"""Log lines: levels, ``--log-level``, JSON lines when the output is not a terminal.

dissensus logs under the ``dissensus`` logger namespace (``dissensus.pipeline.runner``...) and
configures only that namespace, so a host application's own logging is left as it was. On a
terminal the lines are short text for people; into a file or a collector they are one JSON
object each (time, level, logger, message and the record's extra fields), which log pipelines
parse without a grok pattern. Every line is redacted like the call log.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any, Literal

from dissensus.observability.redaction import redact_text

__all__ = ["JsonLinesFormatter", "LogLevel", "configure_logging"]

LogLevel = Literal["debug", "info", "warning", "error"]

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: ``time``, ``level``, ``logger``, ``message``, extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            line["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it per command)."""

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def configure_logging(
    level: LogLevel = "warning", *, json_lines: bool | None = None, stream: IO[str] | None = None
) -> logging.Logger:
    """Send ``dissensus.*`` log records at ``level`` and above to ``stream`` (stderr).

    ``json_lines=None`` picks JSON lines when ``stream`` is not a terminal. Calling it again
    replaces the handler it installed (the CLI and tests both call it).
    """
    out = stream if stream is not None else sys.stderr
    if json_lines is None:
        json_lines = not (hasattr(out, "isatty") and out.isatty())
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _CurrentStderr()
    )
    handler.setFormatter(
        JsonLinesFormatter()
        if json_lines
        else _TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    )
    handler.set_name("dissensus")
    logger = logging.getLogger("dissensus")
    for old in [h for h in logger.handlers if h.get_name() == "dissensus"]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return logger
