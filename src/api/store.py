"""DynamoDB access for the API: conditional writes, tombstoned deletes and a filtered scan."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from common import aws
from common.items import (
    CREATED_AT,
    DATA,
    DELETED,
    EXPIRES_AT,
    HEALTH_SENTINEL_ID,
    ID,
    ORIGIN_REGION,
    TOMBSTONE_TTL_SECONDS,
    UPDATED_AT,
    VERSION,
    iso_millis,
    is_tombstone,
    is_valid_id,
    utc_now,
)
from common.observability import logger

from .errors import is_conditional_failure

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
# Scan pages read per list request: bounded so a table full of tombstones cannot stall a call.
MAX_SCAN_PAGES = 5

_NAMES = {
    "#id": ID,
    "#data": DATA,
    "#version": VERSION,
    "#created": CREATED_AT,
    "#updated": UPDATED_AT,
    "#origin": ORIGIN_REGION,
    "#deleted": DELETED,
    "#expires": EXPIRES_AT,
}


class ConditionFailed(Exception):
    """The item was not in the state the write required (missing, tombstone or other version)."""


def table_name() -> str:
    return os.environ["TABLE_NAME"]


def region() -> str:
    return os.environ.get("AWS_REGION", "unknown")


def _key(item_id: str) -> dict[str, Any]:
    return {ID: {"S": item_id}}


def _values(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _names(expressions: str) -> dict[str, str]:
    return {alias: name for alias, name in _NAMES.items() if alias in expressions}


def from_ddb(image: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in image.items()}


def get_item(item_id: str, consistent: bool) -> dict[str, Any] | None:
    """The live item, or None when it is missing or a tombstone."""
    response = aws.dynamodb().get_item(TableName=table_name(), Key=_key(item_id), ConsistentRead=consistent)
    item = from_ddb(response.get("Item", {}))
    if not item or is_tombstone(item):
        return None
    return item


def put_item(item_id: str, data: dict[str, Any], expected_version: int | None) -> tuple[dict[str, Any], bool]:
    """Create or replace an item in one UpdateItem; returns (new item, created?).

    ALL_OLD is the exact image the update applied to, so the new state (and whether this
    write created the item, i.e. there was nothing or only a tombstone) follows from it.
    """
    now = iso_millis(utc_now())
    update = (
        "SET #data = :data, #version = if_not_exists(#version, :zero) + :one, "
        "#created = if_not_exists(#created, :now), #updated = :now, #origin = :region "
        "REMOVE #deleted, #expires"
    )
    values: dict[str, Any] = {":data": data, ":zero": 0, ":one": 1, ":now": now, ":region": region()}
    condition = None
    if expected_version is not None:
        condition = "#version = :expected AND attribute_not_exists(#deleted)"
        values[":expected"] = expected_version
    old = _conditional_update(item_id, update, condition, values, return_values="ALL_OLD")
    created = not old or is_tombstone(old)
    item = {
        ID: item_id,
        DATA: data,
        VERSION: int(old.get(VERSION, 0)) + 1,
        CREATED_AT: old.get(CREATED_AT) or now,
        UPDATED_AT: now,
        ORIGIN_REGION: region(),
    }
    return item, created


def delete_item(item_id: str, expected_version: int | None) -> None:
    """Tombstone the item, then remove it physically.

    A plain DeleteItem would leave only a REMOVE record whose image names the last writer's
    region, so no region could tell the delete was its own; the tombstone write is stamped
    with this region and announced by this region's stream processor.
    """
    now = utc_now()
    update = (
        "SET #version = #version + :one, #deleted = :true, #origin = :region, #updated = :now, "
        "#expires = :expires REMOVE #data, #created"
    )
    condition = "attribute_exists(#id) AND attribute_not_exists(#deleted)"
    values: dict[str, Any] = {
        ":one": 1,
        ":true": True,
        ":region": region(),
        ":now": iso_millis(now),
        ":expires": int(now.timestamp()) + TOMBSTONE_TTL_SECONDS,
    }
    if expected_version is not None:
        condition += " AND #version = :expected"
        values[":expected"] = expected_version
    tombstone = _conditional_update(item_id, update, condition, values, return_values="ALL_NEW")
    tombstone_version = tombstone[VERSION]
    _remove_tombstone(item_id, tombstone_version)


def _conditional_update(
    item_id: str, update: str, condition: str | None, values: dict[str, Any], return_values: str
) -> dict[str, Any]:
    """One UpdateItem; a failed condition becomes ConditionFailed, the returned image a plain dict."""
    request: dict[str, Any] = {"ConditionExpression": condition} if condition else {}
    try:
        response = aws.dynamodb().update_item(
            TableName=table_name(),
            Key=_key(item_id),
            UpdateExpression=update,
            ExpressionAttributeNames=_names(update + (condition or "")),
            ExpressionAttributeValues=_values(values),
            ReturnValues=return_values,
            **request,
        )
    except ClientError as exc:
        if is_conditional_failure(exc):
            raise ConditionFailed() from None
        raise
    return from_ddb(response.get("Attributes", {}))


def _remove_tombstone(item_id: str, version: Decimal) -> None:
    # Best effort: the tombstone already hides the item, and a write that slipped in after it
    # must win, hence the condition on the tombstone's own version.
    condition = "#version = :version AND #deleted = :true"
    try:
        aws.dynamodb().delete_item(
            TableName=table_name(),
            Key=_key(item_id),
            ConditionExpression=condition,
            ExpressionAttributeNames=_names(condition),
            ExpressionAttributeValues=_values({":version": version, ":true": True}),
        )
    except ClientError as exc:
        if is_conditional_failure(exc):
            logger.info("item rewritten after its tombstone; keeping the new write", extra={"item_id": item_id})
        else:
            logger.warning("tombstone left in place", extra={"item_id": item_id}, exc_info=True)
    except BotoCoreError:
        logger.warning("tombstone left in place", extra={"item_id": item_id}, exc_info=True)


def item_exists(item_id: str) -> bool:
    return get_item(item_id, consistent=True) is not None


def list_items(limit: int, after_id: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` live items after ``after_id`` in scan order, and the id to resume after."""
    items: list[dict[str, Any]] = []
    start = after_id
    pages = 0
    while True:
        request: dict[str, Any] = {"TableName": table_name(), "Limit": limit}
        if start is not None:
            request["ExclusiveStartKey"] = _key(start)
        response = aws.dynamodb().scan(**request)
        pages += 1
        for raw in response.get("Items", []):
            item = from_ddb(raw)
            if item.get(ID) == HEALTH_SENTINEL_ID or is_tombstone(item) or not is_valid_id(item.get(ID)):
                continue
            items.append(item)
            if len(items) == limit:
                # Resume right after the last item returned, even mid-page.
                last_key = response.get("LastEvaluatedKey")
                at_end = last_key is None and raw is response["Items"][-1]
                return items, None if at_end else item[ID]
        last = response.get("LastEvaluatedKey")
        if last is None:
            return items, None
        start = _deserializer.deserialize(last[ID])
        # The sentinel cannot be a cursor (it fails the id rule), so never stop on it.
        if pages >= MAX_SCAN_PAGES and is_valid_id(start):
            return items, start
