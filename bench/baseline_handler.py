"""The bare baseline for bench/handlers.py: the API's DynamoDB work with nothing around it.

A hand-written Lambda handler someone would write with boto3 alone: dispatch on the HTTP API
``routeKey``, make exactly the DynamoDB requests the real route makes (same operations, same
expressions, same item), and build the API Gateway proxy response by hand with ``json.dumps``.
The client is created at init, as the Lambda best practices advise ("Initialize SDK clients ...
outside of the function handler", https://docs.aws.amazon.com/lambda/latest/dg/best-practices.html).

What it omits, and so what the ratios in bench/handlers.py price: request validation (the id
rule, the Powertools/pydantic parameter models, the PUT body's size, depth and number checks),
the 4xx/5xx error mapping, structured logging with the Lambda context, the EMF metrics flushed
on every invocation, X-Ray tracing (handler and AWS SDK subsegments), the service switch read
from SSM on /health, the cursor encoding of GET /items, and the response headers (request id,
region, release, ETag).

``stream_handler`` is the same idea for the stream processor: one SNS Publish per local write with
the same group and deduplication id (a smaller message: id, version, data), and no batch-failure
accounting, logging, metrics or tracing. Its SNS client is created on first use so that this
module's init stays the API baseline's.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

TABLE = os.environ.get("TABLE_NAME", "")  # the stream function has none
REGION = os.environ.get("AWS_REGION", "unknown")
dynamodb = boto3.client("dynamodb")
_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize
_sns: list[Any] = []


def _response(status: int, body: Any = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": "" if body is None else json.dumps(body, default=_number),
        "isBase64Encoded": False,
    }


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(type(value).__name__)


def _plain(image: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserialize(value) for name, value in image.items()}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    route = event["routeKey"]
    item_id = (event.get("pathParameters") or {}).get("id", "")
    key = {"id": {"S": item_id}}
    if route == "GET /health":
        dynamodb.get_item(TableName=TABLE, Key={"id": {"S": "__health__"}})
        return _response(200, {"status": "ok", "region": REGION})
    if route == "GET /items/{id}":
        item = dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=False).get("Item")
        if item is None or "deleted" in item:
            return _response(404, {"error": "item_not_found"})
        return _response(200, _plain(item))
    if route == "PUT /items/{id}":
        data = json.loads(event["body"], parse_float=Decimal)["data"]
        now = _now()
        old = dynamodb.update_item(
            TableName=TABLE,
            Key=key,
            UpdateExpression="SET #data = :data, #version = if_not_exists(#version, :zero) + :one, "
            "#created = if_not_exists(#created, :now), #updated = :now, #origin = :region REMOVE #deleted, #expires",
            ExpressionAttributeNames={"#data": "data", "#version": "version", "#created": "created_at",
                                      "#updated": "updated_at", "#origin": "origin_region", "#deleted": "deleted",
                                      "#expires": "expires_at"},
            ExpressionAttributeValues={":data": _serialize(data), ":zero": {"N": "0"}, ":one": {"N": "1"},
                                       ":now": {"S": now}, ":region": {"S": REGION}},
            ReturnValues="ALL_OLD",
        ).get("Attributes", {})
        version = int(old.get("version", {}).get("N", "0")) + 1
        return _response(201 if not old else 200, {"id": item_id, "data": data, "version": version})
    if route == "DELETE /items/{id}":
        now = _now()
        tombstone = dynamodb.update_item(
            TableName=TABLE,
            Key=key,
            UpdateExpression="SET #version = #version + :one, #deleted = :true, #origin = :region, "
            "#updated = :now REMOVE #data, #created",
            ConditionExpression="attribute_exists(#id) AND attribute_not_exists(#deleted)",
            ExpressionAttributeNames={"#id": "id", "#version": "version", "#deleted": "deleted",
                                      "#origin": "origin_region", "#updated": "updated_at", "#data": "data",
                                      "#created": "created_at"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":true": {"BOOL": True}, ":region": {"S": REGION},
                                       ":now": {"S": now}},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        dynamodb.delete_item(
            TableName=TABLE,
            Key=key,
            ConditionExpression="#version = :version AND #deleted = :true",
            ExpressionAttributeNames={"#version": "version", "#deleted": "deleted"},
            ExpressionAttributeValues={":version": tombstone["version"], ":true": {"BOOL": True}},
        )
        return _response(204)
    if route == "GET /items":
        limit = int((event.get("queryStringParameters") or {}).get("limit", "25"))
        page = dynamodb.scan(TableName=TABLE, Limit=limit)
        items = [_plain(raw) for raw in page.get("Items", []) if raw["id"]["S"] != "__health__"]
        return _response(200, {"items": items})
    return _response(404, {"error": "not_found"})


def stream_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if not _sns:
        _sns.append(boto3.client("sns"))
    for record in event["Records"]:
        image = record["dynamodb"].get("NewImage") or {}
        if record["eventName"] == "REMOVE" or image.get("origin_region", {}).get("S") != REGION:
            continue
        item = _plain(image)
        identity = f"{item['id']}\n{item['version']}\n{item['updated_at']}\n{record.get('eventID', '')}"
        _sns[0].publish(
            TopicArn=os.environ["TOPIC_ARN"],
            Message=json.dumps({"id": item["id"], "version": item["version"], "data": item.get("data")},
                               default=_number),
            MessageGroupId=item["id"],
            MessageDeduplicationId=hashlib.sha256(identity.encode()).hexdigest(),
            MessageAttributes={"item_id": {"DataType": "String", "StringValue": item["id"]},
                               "version": {"DataType": "Number", "StringValue": str(item["version"])},
                               "origin_region": {"DataType": "String", "StringValue": REGION}},
        )
    return {"batchItemFailures": []}
