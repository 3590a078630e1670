"""Log lines (text on a terminal, JSON lines elsewhere) and the redaction every output applies."""

from __future__ import annotations

import io
import json
import logging

import pytest

from dissensus.observability import redact_text, redact_url
from dissensus.observability.logs import configure_logging


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk-abcdefghijklmnop1234 here", "key sk-*** here"),
        ("Authorization: Bearer abc.def-ghi_jkl123", "Authorization: Bearer ***"),
        ("api_key=hunter22 and more", "api_key=*** and more"),
        ("password: s3cr3t!", "password: ***"),
        ("postgresql://app:pw@db/x", "postgresql://app:***@db/x"),
        ("AKIAABCDEFGHIJKLMNOP", "AKIA***"),
        ("Kaito Chef Knife 8in, 210mm", "Kaito Chef Knife 8in, 210mm"),
    ],
)
def test_credentials_are_redacted_and_product_text_is_left_alone(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_redact_url_hides_passwords_and_key_parameters() -> None:
    assert (
        redact_url("http://u:p@h:1/v1?api_key=x&model=y")
        == "http://u:***@h:1/v1?api_key=***&model=y"
    )


def test_json_lines_carry_level_logger_message_extras_and_are_redacted() -> None:
    out = io.StringIO()
    configure_logging("info", stream=out)  # a StringIO is not a terminal: JSON lines
    log = logging.getLogger("dissensus.test")
    log.info(
        "run %s started with key sk-0123456789abcdefXYZ", "r1", extra={"run_id": "r1", "records": 3}
    )
    log.debug("not shown at info")
    (line,) = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "info" and record["logger"] == "dissensus.test"
    assert record["message"] == "run r1 started with key sk-***"
    assert (record["run_id"], record["records"]) == ("r1", 3)
    assert record["time"].endswith("+00:00")


def test_text_lines_on_request_and_only_the_dissensus_namespace_is_configured() -> None:
    out = io.StringIO()
    configure_logging("warning", json_lines=False, stream=out)
    logging.getLogger("dissensus.x").warning("careful")
    logging.getLogger("dissensus.x").info("quiet")
    assert out.getvalue().strip().endswith("WARNING dissensus.x: careful")
    assert logging.getLogger().handlers == [] or all(
        h.get_name() != "dissensus" for h in logging.getLogger().handlers
    )
    # Configuring again replaces our handler instead of adding a second one.
    configure_logging("warning", json_lines=False, stream=out)
    assert [h.get_name() for h in logging.getLogger("dissensus").handlers].count("dissensus") == 1
