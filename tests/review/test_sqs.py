"""Review work through SQS, against moto's SQS server on loopback (a real HTTP endpoint)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dissensus.review import ReviewQueue
from dissensus.review.sqs import SqsDispatch, create_review_queues, sqs_client
from dissensus.storage import Database
from dissensus.storage.testing import scratch_database

from .conftest import seed

moto_server = pytest.importorskip("moto.server")


@pytest.fixture
def endpoint(moto_endpoint: str) -> str:
    return moto_endpoint


def dispatch(db: Database, endpoint: str, name: str, **limits: int) -> tuple[SqsDispatch, str]:
    client = sqs_client(endpoint_url=endpoint, region="us-east-1")
    queues = create_review_queues(client, name, **limits)
    return SqsDispatch(ReviewQueue(db), client, queues.url), queues.dead_letter_url


def test_open_items_go_out_once_each_and_come_back_until_acknowledged(
    db: Database, endpoint: str, aws_credentials: None
) -> None:
    ids = seed(db, 3)
    sqs, _ = dispatch(db, endpoint, "review-visibility", visibility_seconds=30)
    report = sqs.publish()
    assert sorted(report.sent) == ids and report.failed == {}
    got = sqs.receive(max_items=10, visibility_seconds=1)
    assert sorted(d.message.item_id for d in got) == ids
    assert {d.receives for d in got} == {1}
    assert got[0].message.title.startswith("Acme Chef Knife")
    answered = got[0]
    sqs.ack(answered)
    assert sqs.receive(max_items=10) == []  # the others are still held by their receiver
    time.sleep(1.5)  # past the visibility timeout: at least once, so they come back
    again = sqs.receive(max_items=10, visibility_seconds=30)
    assert sorted(d.message.item_id for d in again) == sorted(set(ids) - {answered.message.item_id})
    assert {d.receives for d in again} == {2}


def test_a_message_received_too_often_goes_to_the_dead_letter_queue(
    db: Database, endpoint: str, aws_credentials: None
) -> None:
    [item] = seed(db, 1)
    sqs, dead_letter = dispatch(db, endpoint, "review-dlq", max_receives=2)
    sqs.publish()
    for _ in range(2):
        [delivery] = sqs.receive()
        sqs.release(delivery)  # nobody answered it
    assert sqs.receive() == []
    dead = SqsDispatch(sqs.queue, sqs.client, dead_letter).receive()
    assert [d.message.item_id for d in dead] == [item]


@pytest.mark.anyio
async def test_a_message_for_an_answered_item_is_acknowledged_not_delivered(
    db: Database, endpoint: str, aws_credentials: None
) -> None:
    first, second = seed(db, 2)
    sqs, _ = dispatch(db, endpoint, "review-done")
    sqs.publish()
    queue = ReviewQueue(db)
    queue.claim(first, reviewer="ann")
    await queue.submit(first, reviewer="ann", values={"Brand": "Acme"})
    # Published again by a second publisher: only the open item goes out.
    assert sqs.publish().sent == [second]
    got = sqs.receive(max_items=10, visibility_seconds=0)
    assert sorted(d.message.item_id for d in got) == [second, second]
    # The answered item's message was deleted on the way: it never comes back.
    for d in got:
        sqs.ack(d)
    assert sqs.receive(max_items=10) == []


def test_the_cli_creates_the_queues_and_publishes_open_items(
    home: Path, endpoint: str, aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dissensus.cli import app

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with scratch_database(home) as database:
        ids = seed(database, 2)
    where = ["--endpoint-url", endpoint]
    made = CliRunner().invoke(
        app, ["review", "sqs", "create", "review-cli", "--max-receives", "3", *where, "--json"]
    )
    assert made.exit_code == 0, made.output
    urls = json.loads(made.stdout)
    assert urls["dead_letter_url"].endswith("/review-cli-dead-letter")
    sent = CliRunner().invoke(app, ["review", "sqs", "publish", urls["url"], *where, "--json"])
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout) == {"sent": ids, "failed": {}}
    client = sqs_client(endpoint_url=endpoint, region="us-east-1")
    attributes = client.get_queue_attributes(
        QueueUrl=urls["url"], AttributeNames=["ApproximateNumberOfMessages", "RedrivePolicy"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "2"
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] in (3, "3")


def test_a_queue_that_does_not_exist_is_a_clear_error(
    home: Path, endpoint: str, aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dissensus.cli import app

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with scratch_database(home) as database:
        seed(database, 1)
    missing = f"{endpoint}/123456789012/no-such-queue"
    result = CliRunner().invoke(
        app, ["review", "sqs", "publish", missing, "--endpoint-url", endpoint]
    )
    assert result.exit_code == 1
    assert "SQS send_message_batch failed" in result.output
    assert "Traceback" not in result.output
