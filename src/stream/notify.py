"""From a DynamoDB stream record to the one SNS message announcing that write (pure functions)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Optional

from boto3.dynamodb.types import TypeDeserializer

from common.items import DATA, DELETED, ID, ORIGIN_REGION, UPDATED_AT, VERSION, dumps

CREATED = "created"
UPDATED = "updated"
DELETED_EVENT = "deleted"

_deserializer = TypeDeserializer()


class MalformedRecord(ValueError):
    """A stream record this function cannot interpret; reported as a batch item failure."""


@dataclass(frozen=True)
class Notification:
    event_type: str
    item_id: str
    version: int
    origin_region: str
    updated_at: str
    data: Optional[dict[str, Any]]
    event_id: str = ""  # the stream record's eventID

    @property
    def deduplication_id(self) -> str:
        return deduplication_id(self.item_id, self.version, self.updated_at, self.event_id)

    def message(self) -> str:
        return dumps(
            {
                "event_type": self.event_type,
                "id": self.item_id,
                "version": self.version,
                "origin_region": self.origin_region,
                "updated_at": self.updated_at,
                "data": self.data,
            }
        )

    def attributes(self) -> dict[str, dict[str, str]]:
        return {
            "item_id": {"DataType": "String", "StringValue": self.item_id},
            "version": {"DataType": "Number", "StringValue": str(self.version)},
            "origin_region": {"DataType": "String", "StringValue": self.origin_region},
            "event_type": {"DataType": "String", "StringValue": self.event_type},
        }


def deduplication_id(item_id: str, version: int, updated_at: str, event_id: str = "") -> str:
    """sha256 hex (64 chars) of the write's identity.

    The version alone is not enough: a recreated item restarts at version 1, and within SNS's
    five-minute deduplication window its notification would be dropped as a duplicate of the
    deleted incarnation's. updated_at is not enough either: it is the writer's clock in
    milliseconds, and two requests can read the same millisecond (create, delete, create again:
    version 1 twice with one updated_at; tests/functions/functional/test_notification_properties.py). The
    stream record's eventID, "a globally unique identifier for the event that was recorded in
    this stream record" (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html),
    tells those writes apart and is the same on every redelivery of the record, so retries still
    collapse. Hashing also keeps 128-character ids under the 128-character limit. The newline
    separator cannot occur in ids, so different writes cannot collide by concatenation.
    """
    return hashlib.sha256(f"{item_id}\n{version}\n{updated_at}\n{event_id}".encode()).hexdigest()


def event_type(event_name: str, new_image: dict[str, Any], old_image: dict[str, Any]) -> Optional[str]:
    """created / updated / deleted for a write, None for records that announce nothing (REMOVE)."""
    if event_name == "REMOVE":
        return None
    if event_name not in ("INSERT", "MODIFY"):
        raise MalformedRecord(f"unknown eventName {event_name!r}")
    if new_image.get(DELETED) is True:
        return DELETED_EVENT
    if event_name == "INSERT" or old_image.get(DELETED) is True or not old_image:
        return CREATED
    return UPDATED


def _image(stream_record: dict[str, Any], name: str) -> dict[str, Any]:
    raw = stream_record.get(name)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise MalformedRecord(f"{name} is not a map")
    try:
        return {key: _deserializer.deserialize(value) for key, value in raw.items()}
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise MalformedRecord(f"{name} is not a DynamoDB image: {exc}") from None


def origin_of(record: dict[str, Any]) -> Optional[str]:
    """The origin_region stamped in the record's new image, if it has one."""
    stream_record = record.get("dynamodb")
    if not isinstance(stream_record, dict):
        raise MalformedRecord("record has no dynamodb section")
    new_image = stream_record.get("NewImage") or {}
    if not isinstance(new_image, dict):
        raise MalformedRecord("NewImage is not a map")
    value = new_image.get(ORIGIN_REGION)
    return value.get("S") if isinstance(value, dict) else None


def notification(record: dict[str, Any]) -> Optional[Notification]:
    """The notification for a write record, or None for a REMOVE. Raises MalformedRecord."""
    stream_record = record.get("dynamodb")
    if not isinstance(stream_record, dict):
        raise MalformedRecord("record has no dynamodb section")
    new_image = _image(stream_record, "NewImage")
    kind = event_type(str(record.get("eventName")), new_image, _image(stream_record, "OldImage"))
    if kind is None:
        return None
    item_id = new_image.get(ID)
    version = new_image.get(VERSION)
    origin = new_image.get(ORIGIN_REGION)
    updated_at = new_image.get(UPDATED_AT)
    data = new_image.get(DATA)
    if not isinstance(item_id, str) or not item_id:
        raise MalformedRecord("NewImage has no string id")
    if not isinstance(version, Decimal) or version != version.to_integral_value() or version < 1:
        raise MalformedRecord("NewImage has no positive integer version")
    if not isinstance(origin, str) or not isinstance(updated_at, str):
        raise MalformedRecord("NewImage lacks origin_region or updated_at")
    if kind != DELETED_EVENT and not isinstance(data, dict):
        raise MalformedRecord("NewImage has no data map")
    return Notification(
        event_type=kind,
        item_id=item_id,
        version=int(version),
        origin_region=origin,
        updated_at=updated_at,
        data=None if kind == DELETED_EVENT else data,
        event_id=str(record.get("eventID") or ""),
    )
