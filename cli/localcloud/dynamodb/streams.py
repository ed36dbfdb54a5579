"""DynamoDB stream records as GetRecords returns them, and the shard they are read from.

- ``make_stream_record``, ``sequence_of``, ``sequence_after``, ``created_at``: the record shape.
- ``ShardReader``: the one shard an event source mapping polls (its wiring adapts moto's shard).
- ``ListShardReader``: a thread-safe in-memory shard, for tests and for anything without moto.

Source: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html
and API_streams_StreamRecord.html (eventVersion "1.1", eventSource "aws:dynamodb",
ApproximateCreationDateTime in epoch seconds, SequenceNumber a decimal string).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

# DynamoDB sequence numbers are 21-digit decimal strings.
FIRST_SEQUENCE_NUMBER = 100000000000000000000


class ShardReader(Protocol):
    """One stream shard, read in sequence-number order."""

    @property
    def shard_id(self) -> str: ...

    def records_after(self, sequence_number: str | None, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` records whose SequenceNumber is greater than ``sequence_number``
        (``None``: from the oldest record still in the shard), oldest first."""
        ...

    def latest_sequence_number(self) -> str | None:
        """SequenceNumber of the newest record in the shard, ``None`` while it is empty."""
        ...


def sequence_of(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def sequence_after(candidate: str | None, position: str | None) -> bool:
    """True when ``candidate`` lies after ``position`` in the shard (None = before everything)."""
    if candidate is None:
        return False
    return position is None or int(candidate) > int(position)


def make_stream_record(
    *,
    sequence_number: str,
    event_name: str,
    keys: Mapping[str, Any],
    new_image: Mapping[str, Any] | None = None,
    old_image: Mapping[str, Any] | None = None,
    region: str = "eu-west-1",
    stream_view_type: str = "NEW_AND_OLD_IMAGES",
    created_at: float | None = None,
    user_identity: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A record in the exact shape of DynamoDB Streams GetRecords (without eventSourceARN)."""
    if event_name not in {"INSERT", "MODIFY", "REMOVE"}:
        raise ValueError(f"eventName must be INSERT, MODIFY or REMOVE, not {event_name!r}")
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": int(time.time() if created_at is None else created_at),
        "Keys": dict(keys),
    }
    if new_image is not None and stream_view_type in {"NEW_IMAGE", "NEW_AND_OLD_IMAGES"}:
        body["NewImage"] = dict(new_image)
    if old_image is not None and stream_view_type in {"OLD_IMAGE", "NEW_AND_OLD_IMAGES"}:
        body["OldImage"] = dict(old_image)
    body["SequenceNumber"] = sequence_number
    body["SizeBytes"] = len(json.dumps([keys, new_image, old_image], separators=(",", ":")))
    body["StreamViewType"] = stream_view_type
    record: dict[str, Any] = {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": body,
    }
    if user_identity is not None:
        record["userIdentity"] = dict(user_identity)
    return record


class ListShardReader:
    """An in-memory shard: append records, read them back after a sequence number."""

    def __init__(self, shard_id: str = "shardId-00000001700000000000-00000001",
                 records: Iterable[Mapping[str, Any]] = ()) -> None:
        self._shard_id = shard_id
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._next = FIRST_SEQUENCE_NUMBER
        for record in records:
            self.append(record)

    @property
    def shard_id(self) -> str:
        return self._shard_id

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Add a ready-made record; its SequenceNumber must grow."""
        with self._lock:
            sequence = sequence_of(record)
            if self._records and not sequence_after(sequence, sequence_of(self._records[-1])):
                raise ValueError(f"sequence number {sequence} does not follow the shard's last record")
            stored = json.loads(json.dumps(record))
            self._records.append(stored)
            self._next = max(self._next, int(sequence) + 1)
            return stored

    def put(self, event_name: str, keys: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
        """Build a record with the next sequence number (see make_stream_record) and add it."""
        with self._lock:
            record = make_stream_record(sequence_number=str(self._next), event_name=event_name,
                                        keys=keys, **fields)
            self._records.append(record)
            self._next += 1
            return record

    def records_after(self, sequence_number: str | None, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            newer = [r for r in self._records if sequence_after(sequence_of(r), sequence_number)]
            return [json.loads(json.dumps(r)) for r in newer[:limit]]

    def latest_sequence_number(self) -> str | None:
        with self._lock:
            return sequence_of(self._records[-1]) if self._records else None


def created_at(record: Mapping[str, Any]) -> float:
    """ApproximateCreationDateTime as epoch seconds, whichever form the reader produced."""
    value = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return float(value) if value is not None else time.time()
