"""The event a function takes, checked before any work: an event of another kind (a direct invoke,
`sam local invoke` with another function's file) fails the invocation with Lambda's error payload,
naming what was expected, instead of passing for a request or a batch."""

from __future__ import annotations

from typing import Any


class WrongEvent(Exception):
    """Raised out of the handler: Lambda reports it as errorType/errorMessage."""


class NotAnHttpApiEvent(WrongEvent):
    pass


class NotADynamoDBStreamEvent(WrongEvent):
    pass


def _shape(event: Any) -> str:
    if not isinstance(event, dict):
        return f"a JSON {type(event).__name__}"
    return f"an object with keys {sorted(event)[:8]}" if event else "an empty object"


def require_http_api(event: Any) -> None:
    """API Gateway HTTP API, payload format 2.0 (what the API's integration sends)."""
    if not (isinstance(event, dict) and event.get("version") == "2.0"
            and isinstance(event.get("requestContext"), dict) and isinstance(event["requestContext"].get("http"), dict)):
        raise NotAnHttpApiEvent(f"expected an API Gateway HTTP API event (payload format 2.0), got {_shape(event)}")


def require_dynamodb_stream(event: Any) -> None:
    """A batch of DynamoDB stream records (what the event source mapping sends). A malformed record
    is left to fail alone (partial batch failure); a record of another source is another event."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or any(
            isinstance(record, dict) and record.get("eventSource", "aws:dynamodb") != "aws:dynamodb"
            for record in records):
        raise NotADynamoDBStreamEvent(f"expected a DynamoDB stream event (Records from aws:dynamodb), got "
                                      f"{_shape(event)}")
