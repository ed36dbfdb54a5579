"""What Lambda builds from a batch of DynamoDB stream records: the function's event, and the
invocation record it sends to an on-failure destination when it gives the batch up.

Source: https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html
("Example invocation record": requestContext{requestId, functionArn, condition,
approximateInvokeCount}, responseContext{statusCode, executedVersion, functionError}, version
"1.0", timestamp, DDBStreamBatchInfo{shardId, startSequenceNumber, endSequenceNumber,
approximateArrivalOfFirstRecord, approximateArrivalOfLastRecord, batchSize, streamArn}).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from ...dynamodb.streams import created_at, sequence_of
from ...invocation import InvokeOutcome


def lambda_event(records: Sequence[Mapping[str, Any]], stream_arn: str) -> dict[str, Any]:
    return {"Records": [{**record, "eventSourceARN": stream_arn} for record in records]}


def invocation_record(
    *,
    records: Sequence[Mapping[str, Any]],
    condition: str,
    function_arn: str,
    stream_arn: str,
    shard_id: str,
    invoke_count: int,
    outcome: InvokeOutcome | None,
    now: float,
) -> dict[str, Any]:
    """The message Lambda sends to an on-failure destination for a discarded stream batch.

    The records themselves are not included: the consumer reads them from the stream by the
    sequence-number range. ``responseContext`` is left out when the batch was never invoked.
    """
    message: dict[str, Any] = {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
    }
    if outcome is not None:
        response: dict[str, Any] = {"statusCode": outcome.status_code,
                                    "executedVersion": outcome.executed_version}
        if outcome.function_error:
            response["functionError"] = outcome.function_error
        message["responseContext"] = response
    message["version"] = "1.0"
    message["timestamp"] = _iso(now, millis=True)
    message["DDBStreamBatchInfo"] = {
        "shardId": shard_id,
        "startSequenceNumber": sequence_of(records[0]),
        "endSequenceNumber": sequence_of(records[-1]),
        "approximateArrivalOfFirstRecord": _iso(created_at(records[0]), millis=False),
        "approximateArrivalOfLastRecord": _iso(created_at(records[-1]), millis=False),
        "batchSize": len(records),
        "streamArn": stream_arn,
    }
    return message


def _iso(epoch_seconds: float, *, millis: bool) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
