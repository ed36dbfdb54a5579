"""Fixtures: moto's in-process AWS (DynamoDB with a stream, SSM, SNS FIFO -> SQS FIFO) and helpers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from common import aws
from tests.support import ROOT


EVENTS = ROOT / "events"
REGION = "eu-west-1"
TABLE = "global-items"
SWITCH = "/global-items/service-state"


class LambdaContext:
    function_name = "global-items-fn"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:global-items-fn"
    aws_request_id = "ctx-request-id"
    log_stream_name = "2024/11/23/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@dataclass
class Cloud:
    ddb: Any
    ssm: Any
    sqs: Any
    queue_url: str
    topic_arn: str

    def item(self, item_id: str) -> dict[str, Any] | None:
        item = self.ddb.Table(TABLE).get_item(Key={"id": item_id}, ConsistentRead=True).get("Item")
        return item

    def put_raw(self, item: dict[str, Any]) -> None:
        self.ddb.Table(TABLE).put_item(Item=item)

    def set_switch(self, value: str) -> None:
        self.ssm.put_parameter(Name=SWITCH, Value=value, Type="String", Overwrite=True)

    def messages(self) -> list[dict[str, Any]]:
        """Everything SNS delivered so far (raw delivery), in order, removed from the queue."""
        received = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                return received
            for message in batch:
                received.append(
                    {
                        "body": json.loads(message["Body"]),
                        "attributes": {
                            name: value.get("StringValue") for name, value in message.get("MessageAttributes", {}).items()
                        },
                        "group": message.get("Attributes", {}).get("MessageGroupId"),
                        "dedup": message.get("Attributes", {}).get("MessageDeduplicationId"),
                    }
                )
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch):
    for name, value in {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "TABLE_NAME": TABLE,
        "RELEASE": "r-test-1",
        "SERVICE_STATE_PARAMETER": SWITCH,
        "POWERTOOLS_SERVICE_NAME": "global-items",
        "POWERTOOLS_METRICS_NAMESPACE": "GlobalItemsTest",
        "REPLICA_STREAM_WAIT_SECONDS": "0.3",
        "REPLICA_STREAM_POLL_SECONDS": "0.1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        aws.reset()
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        ssm = boto3.client("ssm", region_name=REGION)
        ssm.put_parameter(Name=SWITCH, Value="in-service", Type="String")
        sns = boto3.client("sns", region_name=REGION)
        topic_arn = sns.create_topic(
            Name="item-changes.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "false"}
        )["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="observer.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
        )
        monkeypatch.setenv("TOPIC_ARN", topic_arn)
        yield Cloud(boto3.resource("dynamodb", region_name=REGION), ssm, sqs, queue_url, topic_arn)
    aws.reset()


def load_event(relative: str) -> dict[str, Any]:
    return json.loads((EVENTS / relative).read_text())


def http_event(
    method: str,
    path: str,
    *,
    body: str | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    route: str | None = None,
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """A payload format 2.0 event shaped like events/api/*.json."""
    from urllib.parse import urlencode

    route_key = route or "$default"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {"host": "abc123defg.execute-api.eu-west-1.amazonaws.com", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123defg",
            "domainName": "abc123defg.execute-api.eu-west-1.amazonaws.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "pytest"},
            "requestId": "req-under-test",
            "routeKey": route_key,
            "stage": "$default",
            "time": "23/Nov/2024:10:15:30 +0000",
            "timeEpoch": 1732356930000,
        },
        "isBase64Encoded": base64_encoded,
    }
    if query:
        event["queryStringParameters"] = query
    if body is not None:
        event["body"] = body
    return event


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw_body: str
    json: Any


@pytest.fixture
def api(cloud: Cloud, context: LambdaContext):
    """Call the API handler with an event; returns a Reply with lower-cased header names."""
    from api.app import handler

    def call(event: dict[str, Any]) -> Reply:
        response = handler(event, context)
        headers = {name.lower(): value for name, value in response.get("headers", {}).items()}
        raw = response.get("body") or ""
        is_json = headers.get("content-type", "application/json").startswith("application/json")
        return Reply(response["statusCode"], headers, raw, json.loads(raw) if raw and is_json else None)

    return call


@pytest.fixture
def stream(cloud: Cloud, context: LambdaContext):
    from stream.app import handler

    return lambda event: handler(event, context)
