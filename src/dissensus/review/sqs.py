"""Review work handed out through Amazon SQS, for reviewer tools that already read a queue.

The review queue in the database stays the system of record (claims, submissions, history);
SQS is how the work reaches people at scale, as in the case study. :meth:`SqsDispatch.publish`
sends one message per open item; a reviewer tool receives a message, which hides it from others
for the queue's visibility timeout (the same idea as a claim), has a person answer the item
through the API or the desk, and acknowledges the message. Delivery is at least once: a message
that is not acknowledged in time comes back, and one received ``max_receives`` times without an
acknowledgement goes to the dead-letter queue, where someone looks at what keeps failing. A
message for an item that is already done (answered twice, or published twice) is acknowledged
and dropped by :meth:`SqsDispatch.receive`, so duplicates cost a read, never a second answer.

The SQS client is passed in (``boto3.client("sqs")``, or :func:`sqs_client`), so nothing here
holds credentials or talks to AWS on import.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, Unpack

from pydantic import BaseModel

from dissensus.errors import InputError, MissingExtraError, ReviewError, UnknownReviewItemError
from dissensus.review.item import QueueFilters, ReviewItem, ReviewReason
from dissensus.review.queue import ReviewQueue

__all__ = [
    "Delivery",
    "PublishReport",
    "ReviewMessage",
    "SqsClient",
    "SqsDispatch",
    "SqsQueues",
    "create_review_queues",
    "sqs_client",
]

_BATCH = 10
"""SendMessageBatch takes at most ten messages."""


class SqsClient(Protocol):
    """The part of boto3's SQS client this module calls."""

    def create_queue(self, **kwargs: Any) -> dict[str, Any]: ...
    def get_queue_attributes(self, **kwargs: Any) -> dict[str, Any]: ...
    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]: ...
    def receive_message(self, **kwargs: Any) -> dict[str, Any]: ...
    def delete_message(self, **kwargs: Any) -> dict[str, Any]: ...
    def change_message_visibility(self, **kwargs: Any) -> dict[str, Any]: ...


def sqs_client(*, endpoint_url: str | None = None, region: str | None = None) -> SqsClient:
    """A boto3 SQS client (credentials and region from the usual AWS settings).

    Raises:
        MissingExtraError: boto3 is not installed.
    """
    if importlib.util.find_spec("boto3") is None:
        raise MissingExtraError("aws", "the SQS review dispatch")
    import boto3

    client: SqsClient = boto3.client("sqs", endpoint_url=endpoint_url, region_name=region)
    return client


def _sqs(operation: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """Call one SQS operation; AWS's errors become a :class:`ReviewError` naming it."""
    try:
        return operation(**kwargs)
    except Exception as exc:
        # botocore's errors (no such queue, access denied, no endpoint) without importing it.
        if type(exc).__module__.split(".")[0] != "botocore":
            raise
        name = getattr(operation, "__name__", "request")
        raise ReviewError(f"SQS {name} failed: {exc}") from exc


class ReviewMessage(BaseModel):
    """A message's body: which item to review, with what a tool shows in a list."""

    item_id: int
    run_id: str
    seq: int
    product_id: str
    title: str
    category: str | None
    reason: ReviewReason
    attributes: list[str]

    @classmethod
    def of(cls, item: ReviewItem) -> ReviewMessage:
        """The item's listing fields, under the same names (its ``id`` as ``item_id``)."""
        shared = set(cls.model_fields) - {"item_id"}
        return cls(item_id=item.id, **item.model_dump(include=shared))


@dataclass(frozen=True, slots=True)
class Delivery:
    """One received message: the item, and what acknowledging or releasing it needs."""

    message: ReviewMessage
    receipt: str
    receives: int
    """How many times SQS has handed this message out (1 the first time)."""


class PublishReport(BaseModel):
    sent: list[int]
    """Item ids sent."""
    failed: dict[int, str]
    """Item id to SQS's reason, for the messages it refused."""


@dataclass(frozen=True, slots=True)
class SqsQueues:
    url: str
    dead_letter_url: str


def create_review_queues(
    client: SqsClient, name: str, *, max_receives: int = 5, visibility_seconds: int = 900
) -> SqsQueues:
    """Create (or find: CreateQueue is idempotent) a review queue and its dead-letter queue.

    A message received ``max_receives`` times without being acknowledged moves to
    ``NAME-dead-letter``; ``visibility_seconds`` is how long a receiver holds one.
    """
    if max_receives < 1 or visibility_seconds < 0:
        raise InputError("max_receives must be at least 1 and visibility_seconds not negative")
    dead = _sqs(client.create_queue, QueueName=f"{name}-dead-letter")["QueueUrl"]
    attributes = _sqs(client.get_queue_attributes, QueueUrl=dead, AttributeNames=["QueueArn"])
    arn = attributes["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": str(max_receives)})
    url = _sqs(
        client.create_queue,
        QueueName=name,
        Attributes={"RedrivePolicy": policy, "VisibilityTimeout": str(visibility_seconds)},
    )["QueueUrl"]
    return SqsQueues(url=url, dead_letter_url=dead)


class SqsDispatch:
    """Open review items out through one SQS queue, and received messages back in.

    Args:
        queue: The review queue (the system of record).
        client: An SQS client.
        url: The queue's URL.
    """

    def __init__(self, queue: ReviewQueue, client: SqsClient, url: str) -> None:
        self.queue = queue
        self.client = client
        self.url = url

    def publish(self, *, limit: int = 1000, **where: Unpack[QueueFilters]) -> PublishReport:
        """Send a message for each open item that ``where`` selects (oldest first)."""
        where["state"] = "open"
        return self.send(self.queue.list(limit=limit, **where))

    def send(self, items: Iterable[ReviewItem]) -> PublishReport:
        """Send one message per item, ten to a request."""
        batch = list(items)
        sent: list[int] = []
        failed: dict[int, str] = {}
        for start in range(0, len(batch), _BATCH):
            chunk = batch[start : start + _BATCH]
            answer = _sqs(
                self.client.send_message_batch,
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(item.id), "MessageBody": ReviewMessage.of(item).model_dump_json()}
                    for item in chunk
                ],
            )
            sent += [int(ok["Id"]) for ok in answer.get("Successful", [])]
            for bad in answer.get("Failed", []):
                failed[int(bad["Id"])] = str(bad.get("Message") or bad.get("Code") or "refused")
        return PublishReport(sent=sent, failed=failed)

    def receive(
        self, *, max_items: int = 1, wait_seconds: int = 0, visibility_seconds: int | None = None
    ) -> list[Delivery]:
        """Messages for items still open; messages for done items are acknowledged and dropped.

        A message SQS hands out is hidden from other receivers for the queue's visibility
        timeout (or ``visibility_seconds``); acknowledge it with :meth:`ack` once the item is
        answered, or :meth:`release` it for someone else.
        """
        options: dict[str, Any] = {
            "QueueUrl": self.url,
            "MaxNumberOfMessages": max(1, min(10, max_items)),
            "WaitTimeSeconds": max(0, wait_seconds),
            "MessageSystemAttributeNames": ["ApproximateReceiveCount"],
        }
        if visibility_seconds is not None:
            options["VisibilityTimeout"] = visibility_seconds
        out: list[Delivery] = []
        for raw in _sqs(self.client.receive_message, **options).get("Messages", []):
            receipt = str(raw["ReceiptHandle"])
            try:
                message = ReviewMessage.model_validate_json(raw["Body"])
            except ValueError:
                # Not ours (or damaged): leave it to come back and, in the end, dead-letter.
                continue
            receives = int(raw.get("Attributes", {}).get("ApproximateReceiveCount", 1))
            delivery = Delivery(message=message, receipt=receipt, receives=receives)
            if self._done(message.item_id):
                self.ack(delivery)
                continue
            out.append(delivery)
        return out

    def ack(self, delivery: Delivery) -> None:
        """The item is answered: the message is deleted and never delivered again."""
        _sqs(self.client.delete_message, QueueUrl=self.url, ReceiptHandle=delivery.receipt)

    def release(self, delivery: Delivery) -> None:
        """Give the message back now (it counts as a receive toward the dead-letter limit)."""
        _sqs(
            self.client.change_message_visibility,
            QueueUrl=self.url,
            ReceiptHandle=delivery.receipt,
            VisibilityTimeout=0,
        )

    def _done(self, item_id: int) -> bool:
        try:
            return self.queue.get(item_id).state == "done"
        except UnknownReviewItemError:
            return True  # an item that no longer exists has nothing left to answer
