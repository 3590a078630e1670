"""``dissensus review sqs``: hand review work out through an Amazon SQS queue."""

from __future__ import annotations

from typing import Annotated

import typer

from dissensus.cli._common import friendly_errors
from dissensus.cli.review import ConfigOpt, DbOpt, JsonOpt, _open, _print_json, _say
from dissensus.review import ReviewReason
from dissensus.review.sqs import SqsDispatch, create_review_queues, sqs_client

__all__ = ["sqs_app"]

sqs_app = typer.Typer(
    name="sqs",
    help="Review work through Amazon SQS: at least once, a visibility timeout, a dead-letter "
    "queue (AWS credentials and region from the usual AWS settings).",
    no_args_is_help=True,
)

EndpointOpt = Annotated[
    str | None,
    typer.Option("--endpoint-url", help="Another SQS endpoint (LocalStack, moto, a VPC one)."),
]
RegionOpt = Annotated[str | None, typer.Option("--region", help="AWS region.")]


@sqs_app.command("create")
@friendly_errors
def create(
    name: Annotated[str, typer.Argument(help="Queue name; NAME-dead-letter is made beside it.")],
    max_receives: Annotated[
        int, typer.Option("--max-receives", min=1, help="Receives before dead-lettering.")
    ] = 5,
    visibility: Annotated[
        int, typer.Option("--visibility", min=0, help="Seconds a receiver holds a message.")
    ] = 900,
    endpoint_url: EndpointOpt = None,
    region: RegionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create (or find) a review queue and its dead-letter queue; prints their URLs."""
    client = sqs_client(endpoint_url=endpoint_url, region=region)
    queues = create_review_queues(
        client, name, max_receives=max_receives, visibility_seconds=visibility
    )
    if as_json:
        _print_json({"url": queues.url, "dead_letter_url": queues.dead_letter_url})
        return
    _say(f"queue: {queues.url}\ndead letters: {queues.dead_letter_url}")


@sqs_app.command("publish")
@friendly_errors
def publish(
    url: Annotated[str, typer.Argument(help="The review queue's URL (see `review sqs create`).")],
    run_id: Annotated[str | None, typer.Option("--run", help="Only this run.")] = None,
    reason: Annotated[
        ReviewReason | None, typer.Option("--reason", help="Only items queued for this reason.")
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="This category and everything under it.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most N items.")] = 1000,
    endpoint_url: EndpointOpt = None,
    region: RegionOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Send one message per open review item; a receiver acknowledges it once answered."""
    _, _, queue = _open(config, db)
    dispatch = SqsDispatch(queue, sqs_client(endpoint_url=endpoint_url, region=region), url)
    report = dispatch.publish(limit=limit, run_id=run_id, reason=reason, category=category)
    if as_json:
        _print_json(report.model_dump(mode="json"))
        return
    _say(f"sent {len(report.sent)} review items to {url}")
    for item_id, why in sorted(report.failed.items()):
        _say(f"  not sent: item {item_id}: {why}")
    if report.failed:
        raise typer.Exit(1)
