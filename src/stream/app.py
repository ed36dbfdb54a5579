"""DynamoDB stream processor: announce each write once, globally, on the SNS FIFO topic.

Every replica's stream carries every write, local and replicated, so each region announces
only the writes stamped with its own ``origin_region`` (the event source mapping filters on
that too; this check is the defensive copy).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from common import aws
from common.events import require_dynamodb_stream
from common.observability import logger, metrics, tracer

from .notify import notification, origin_of


class HeldBack(Exception):
    """Not announced: an earlier write to the same item failed to publish in this batch."""


class StreamBatchProcessor(BatchProcessor):
    """BatchProcessor that reports a record without a ``dynamodb`` section instead of crashing,
    and tracks the items whose publish failed in the current batch (see ``_announce``).

    Lambda treats an empty itemIdentifier as "whole batch failed", the right outcome for a
    record that cannot even be identified.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held_items: set[str] = set()

    def _prepare(self) -> None:
        super()._prepare()
        self.held_items = set()

    def _collect_dynamodb_failures(self) -> list[dict[str, Any]]:
        failures = []
        for message in self.fail_messages:
            stream_record = message.raw_event.get("dynamodb")
            sequence = stream_record.get("SequenceNumber") if isinstance(stream_record, dict) else None
            failures.append({"itemIdentifier": sequence or ""})
        return failures


# A batch whose records all fail is reported record by record rather than raised, so the
# response shape is the same and Lambda's retry/on-failure handling applies per record.
processor = StreamBatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def record_handler(record: DynamoDBRecord) -> None:
    try:
        _announce(record.raw_event)
    except HeldBack:
        raise
    except Exception:
        # Powertools turns the exception into a batch item failure; log it for the operator.
        logger.exception("record failed", extra={"event_id": record.raw_event.get("eventID")})
        raise


def _announce(raw: dict[str, Any]) -> None:
    # REMOVE records (TTL expiry, or the physical delete after a tombstone) announce nothing:
    # the tombstone write before them already did.
    if raw.get("eventName") == "REMOVE":
        metrics.add_metric(name="SkippedRemove", unit=MetricUnit.Count, value=1)
        return
    if origin_of(raw) != os.environ["AWS_REGION"]:
        metrics.add_metric(name="SkippedForeign", unit=MetricUnit.Count, value=1)
        return
    note = notification(raw)
    if note is None:
        return
    # Powertools runs every record of a batch even after one fails, but Lambda retries a stream
    # batch from its lowest failed record ("Lambda retries all records starting from that
    # checkpoint", https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html):
    # a later write to an item whose publish failed comes back anyway, and announcing it now would
    # put it ahead of the failed one in the item's FIFO group. So it fails too, unannounced.
    if note.item_id in processor.held_items:
        raise HeldBack(f"an earlier write to {note.item_id} failed to publish in this batch")
    try:
        aws.sns().publish(
            TopicArn=os.environ["TOPIC_ARN"],
            Message=note.message(),
            MessageGroupId=note.item_id,
            MessageDeduplicationId=note.deduplication_id,
            MessageAttributes=note.attributes(),
        )
    except Exception:
        processor.held_items.add(note.item_id)
        raise
    logger.info(
        "published",
        extra={"item_id": note.item_id, "version": note.version, "event_type": note.event_type},
    )
    metrics.add_metric(name="Published", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    require_dynamodb_stream(event)
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failures = len(response.get("batchItemFailures", []))
    if failures:
        logger.warning("records failed", extra={"failed": failures})
    metrics.add_metric(name="FailedRecords", unit=MetricUnit.Count, value=failures)
    return response
