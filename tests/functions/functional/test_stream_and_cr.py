"""Stream processor against moto SNS (observed through an SQS FIFO queue) and the custom resource
against a loopback HTTP server standing in for CloudFormation's pre-signed URL."""

from __future__ import annotations

import copy
import http.server
import json
import threading

import pytest
from tests.functions.functional.conftest import load_event

from common import aws


def test_only_own_region_writes_are_published_once(stream, cloud):
    event = load_event("stream/mixed_two_regions.json")
    assert stream(event) == {"batchItemFailures": []}
    messages = cloud.messages()
    assert len(messages) == 2
    first = messages[0]
    assert first["body"] == {
        "event_type": "created",
        "id": "order-3001",
        "version": 1,
        "origin_region": "eu-west-1",
        "updated_at": "2024-11-23T10:20:00.001Z",
        "data": {"customer": "Ana", "total": 42.5, "paid": False},
    }
    assert first["attributes"] == {"item_id": "order-3001", "version": "1", "origin_region": "eu-west-1", "event_type": "created"}
    assert first["group"] == "order-3001"
    assert len(first["dedup"]) == 64


def test_dedup_ids(stream, cloud):
    event = load_event("stream/insert_local.json")
    stream(event)
    original = cloud.messages()
    stream(copy.deepcopy(event))
    replay = cloud.messages()
    recreated = copy.deepcopy(event)
    recreated["Records"][0]["dynamodb"]["NewImage"]["updated_at"]["S"] = "2024-11-23T10:19:00.000Z"
    stream(recreated)
    again = cloud.messages()
    assert len(original) == 1
    # A retried batch carries the same dedup id, so SNS FIFO drops it (moto may or may not).
    assert all(message["dedup"] == original[0]["dedup"] for message in replay)
    assert len(again) == 1 and again[0]["dedup"] != original[0]["dedup"]
    assert again[0]["body"]["version"] == 1


def test_tombstone_and_write_over_tombstone(stream, cloud):
    stream(load_event("stream/tombstone_local.json"))
    over = load_event("stream/modify_local.json")
    over["Records"][0]["dynamodb"]["OldImage"] = load_event("stream/tombstone_local.json")["Records"][0]["dynamodb"]["NewImage"]
    stream(over)
    deleted, created = cloud.messages()
    assert deleted["body"]["event_type"] == "deleted" and deleted["body"]["data"] is None
    assert deleted["attributes"]["event_type"] == "deleted"
    assert created["body"]["event_type"] == "created"


def test_publish_failure_reports_that_record_only(stream, cloud, monkeypatch):
    event = load_event("stream/mixed_two_regions.json")
    sns = aws.sns()
    real_publish = sns.publish

    def flaky(**kwargs):
        if kwargs["MessageGroupId"] == "order-3001":
            raise RuntimeError("SNS down for this one")
        return real_publish(**kwargs)

    monkeypatch.setattr(sns, "publish", flaky)
    result = stream(event)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["dynamodb"]["SequenceNumber"]}]}
    assert [m["body"]["id"] for m in cloud.messages()] == ["order-3002"]


def test_all_records_failing_is_reported_not_raised(stream, cloud, monkeypatch):
    def down(**kwargs):
        raise RuntimeError("SNS down")

    monkeypatch.setattr(aws.sns(), "publish", down)
    event = load_event("stream/insert_local.json")
    assert stream(event) == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["dynamodb"]["SequenceNumber"]}]}


def test_malformed_records_fail_alone(stream, cloud):
    event = load_event("stream/insert_local.json")
    good = event["Records"][0]
    records = [
        {"eventName": "INSERT", "eventID": "no-dynamodb-section"},
        dict(copy.deepcopy(good), dynamodb={"SequenceNumber": "7", "NewImage": "not a map"}),
        dict(copy.deepcopy(good), eventName="WHATEVER"),
        good,
    ]
    records[2]["dynamodb"]["SequenceNumber"] = "8"
    result = stream({"Records": records})
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["", "7", "8"]
    assert [m["body"]["id"] for m in cloud.messages()] == ["order-1001"]


def test_removes_are_skipped(stream, cloud):
    for case in ("ttl_remove", "remove_after_tombstone"):
        assert stream(load_event(f"stream/{case}.json")) == {"batchItemFailures": []}
    assert cloud.messages() == []


# --- custom resource ----------------------------------------------------------------------------


@pytest.fixture
def response_url():
    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):
            length = int(self.headers["content-length"])
            received.append({"body": json.loads(self.rfile.read(length)), "content_type": self.headers.get("content-type")})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/response?X-Amz-Signature=x", received
    server.shutdown()
    server.server_close()
    thread.join()


def _invoke_cr(event, context):
    from custom_resources.replica_stream import handler

    assert handler(event, context) is None


def test_create_returns_the_stream_arn(cloud, context, response_url):
    url, received = response_url
    event = load_event("custom_resources/create.json") | {"ResponseURL": url}
    _invoke_cr(event, context)
    arn = aws.client("dynamodb", max_attempts=1, connect_timeout=1, read_timeout=1).describe_table(TableName="global-items")["Table"]["LatestStreamArn"]
    (reply,) = received
    assert reply["content_type"] == ""
    assert reply["body"]["Status"] == "SUCCESS"
    assert reply["body"]["PhysicalResourceId"] == arn
    assert reply["body"]["Data"] == {"StreamArn": arn}
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        assert reply["body"][key] == event[key]


def test_create_fails_clearly_when_the_table_never_appears(cloud, context, response_url):
    url, received = response_url
    event = load_event("custom_resources/create.json") | {"ResponseURL": url}
    event["ResourceProperties"] = {"TableName": "not-there"}
    _invoke_cr(event, context)
    (reply,) = received
    assert reply["body"]["Status"] == "FAILED"
    assert "not-there" in reply["body"]["Reason"] and "does not exist" in reply["body"]["Reason"]


def test_create_fails_when_the_table_has_no_stream(cloud, context, response_url):
    import boto3

    boto3.client("dynamodb", region_name="eu-west-1").create_table(
        TableName="no-stream",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    url, received = response_url
    event = load_event("custom_resources/create.json") | {"ResponseURL": url, "ResourceProperties": {"TableName": "no-stream"}}
    _invoke_cr(event, context)
    assert received[0]["body"]["Status"] == "FAILED" and "no stream" in received[0]["body"]["Reason"]


def test_delete_is_a_noop_success(cloud, context, response_url):
    url, received = response_url
    event = load_event("custom_resources/delete.json") | {"ResponseURL": url}
    _invoke_cr(event, context)
    (reply,) = received
    assert reply["body"]["Status"] == "SUCCESS"
    assert reply["body"]["PhysicalResourceId"] == event["PhysicalResourceId"]


def test_unexpected_error_still_answers_failed(cloud, context, response_url, monkeypatch):
    from custom_resources import replica_stream

    def boom(*args):
        raise RuntimeError("bug")

    monkeypatch.setattr(replica_stream, "wait_for_stream", boom)
    url, received = response_url
    _invoke_cr(load_event("custom_resources/create.json") | {"ResponseURL": url}, context)
    assert received[0]["body"]["Status"] == "FAILED" and "RuntimeError" in received[0]["body"]["Reason"]


def test_missing_table_name_fails(cloud, context, response_url):
    url, received = response_url
    event = load_event("custom_resources/create.json") | {"ResponseURL": url, "ResourceProperties": {}}
    _invoke_cr(event, context)
    assert received[0]["body"]["Status"] == "FAILED" and "TableName" in received[0]["body"]["Reason"]
