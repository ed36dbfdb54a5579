"""``Custom::ReplicaStream``: the stream ARN of this region's replica of a global table.

Replicas are created by another stack, so the table (or its stream) may not exist yet when this
resource is created: DescribeTable is retried for a bounded time. Every path ends with a
response PUT to CloudFormation; an unanswered request would leave the stack waiting an hour.

Environment: REPLICA_STREAM_WAIT_SECONDS (default 60), REPLICA_STREAM_POLL_SECONDS (default 5).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from typing import Any, Optional
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from common import aws
from common.observability import logger

SUCCESS = "SUCCESS"
FAILED = "FAILED"
# Stop waiting this long before the Lambda timeout so there is time left to answer.
RESPONSE_RESERVE_MS = 10_000
# CloudFormation's ResponseURL is a pre-signed S3 https URL; plain http is accepted only on loopback
# (the local cloud, which has no TLS). Anything else (file:, ftp:, http to a remote host) is refused.
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _seconds(name: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ.get(name, default)))
    except ValueError:
        return default


def _latest_stream_arn(table_name: str) -> tuple[Optional[str], str]:
    """(stream ARN or None, why not) from one DescribeTable call."""
    try:
        table = aws.dynamodb().describe_table(TableName=table_name)["Table"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return None, f"table {table_name} does not exist in {os.environ.get('AWS_REGION')}"
        return None, f"DescribeTable failed: {code}"
    except BotoCoreError as exc:
        return None, f"DescribeTable failed: {type(exc).__name__}"
    arn = table.get("LatestStreamArn")
    enabled = table.get("StreamSpecification", {}).get("StreamEnabled", bool(arn))
    if not arn or not enabled:
        return None, f"table {table_name} has no stream enabled"
    return arn, ""


def wait_for_stream(table_name: str, context: Any) -> tuple[Optional[str], str]:
    deadline = time.monotonic() + _seconds("REPLICA_STREAM_WAIT_SECONDS", 60)
    poll = _seconds("REPLICA_STREAM_POLL_SECONDS", 5)
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    while True:
        arn, reason = _latest_stream_arn(table_name)
        if arn:
            return arn, ""
        out_of_time = time.monotonic() + poll > deadline
        if callable(remaining_ms) and remaining_ms() - poll * 1000 < RESPONSE_RESERVE_MS:
            out_of_time = True
        if out_of_time:
            return None, reason
        logger.info("waiting for the replica stream", extra={"reason": reason})
        time.sleep(poll)


def response_url_allowed(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme == "https":
        return bool(parsed.hostname)
    return parsed.scheme == "http" and parsed.hostname in LOOPBACK_HOSTS


def send(event: dict[str, Any], status: str, reason: str, physical_id: str, data: Optional[dict[str, Any]] = None) -> None:
    url = str(event.get("ResponseURL", ""))
    if not response_url_allowed(url):
        # Logged without the URL: a pre-signed URL is a credential for this one response.
        logger.error("refusing to send the response: ResponseURL is not https", extra={"scheme": urlparse(url).scheme})
        return
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": physical_id,
            "StackId": event.get("StackId", ""),
            "RequestId": event.get("RequestId", ""),
            "LogicalResourceId": event.get("LogicalResourceId", ""),
            "NoEcho": False,
            "Data": data or {},
        }
    ).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="PUT",
        # The pre-signed S3 URL is signed for an empty content type.
        headers={"content-type": "", "content-length": str(len(body))},
    )
    for attempt in range(3):
        try:
            with urllib.request.urlopen(  # noqa: S310  # nosec B310 # URL checked above: https, or http on loopback
                    request, timeout=10) as response:
                logger.info("response sent", extra={"status": status, "http_status": response.status})
                return
        except (OSError, ValueError):
            logger.warning("sending the response failed", extra={"attempt": attempt + 1}, exc_info=True)
            time.sleep(0.5 * (attempt + 1))
    logger.error("could not deliver the response to CloudFormation")


def _physical_id(event: dict[str, Any], context: Any) -> str:
    return str(event.get("PhysicalResourceId") or getattr(context, "log_stream_name", None) or "replica-stream")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> None:
    try:
        request_type = event.get("RequestType")
        if request_type == "Delete":
            send(event, SUCCESS, "nothing to delete", _physical_id(event, context))
            return
        if request_type not in ("Create", "Update"):
            send(event, FAILED, f"unknown RequestType {request_type!r}", _physical_id(event, context))
            return
        table_name = (event.get("ResourceProperties") or {}).get("TableName")
        if not isinstance(table_name, str) or not table_name:
            send(event, FAILED, "property TableName is required", _physical_id(event, context))
            return
        arn, reason = wait_for_stream(table_name, context)
        if arn is None:
            send(event, FAILED, f"no stream for {table_name}: {reason}", _physical_id(event, context))
            return
        send(event, SUCCESS, "", arn, {"StreamArn": arn})
    except Exception as exc:  # anything at all: CloudFormation must still get an answer
        logger.exception("custom resource failed")
        if isinstance(event, dict) and event.get("ResponseURL"):
            send(event, FAILED, f"internal error: {type(exc).__name__}", _physical_id(event, context))
