"""Every file in events/ goes through its handler; each API case has an expected status here,
so a new event file without an expectation fails."""

from __future__ import annotations

import json

import pytest
from tests.functions.functional.conftest import EVENTS, load_event

# case -> (expected status, expected error code or None, seed order-1001 at version 1 first?)
API_CASES = {
    "health": (200, None, False),
    "openapi": (200, None, False),
    "put_item_create": (201, None, False),
    "put_item_if_match": (200, None, True),
    "put_item_if_match_bad": (400, "bad_request", True),
    "put_item_malformed_json": (400, "malformed_json", False),
    "put_item_schema_violation": (422, "validation_error", False),
    "put_item_data_not_object": (422, "validation_error", False),
    "put_item_nan": (400, "malformed_json", False),
    "put_item_too_deep": (422, "validation_error", False),
    "put_item_too_large": (413, "payload_too_large", False),
    "put_item_bad_id": (400, "bad_id", False),
    "get_item": (200, None, True),
    "get_item_consistent": (200, None, True),
    "get_item_bad_consistent": (400, "bad_request", True),
    "get_item_bad_id": (400, "bad_id", False),
    "get_item_missing": (404, "item_not_found", False),
    "delete_item": (204, None, True),
    "delete_item_if_match": (204, None, True),
    "delete_item_missing": (404, "item_not_found", False),
    "list_items": (200, None, True),
    "list_items_cursor": (200, None, True),
    "list_items_bad_cursor": (400, "bad_cursor", True),
    "list_items_bad_limit": (400, "bad_limit", False),
    "unknown_route": (404, "not_found", False),
    "wrong_method": (405, "method_not_allowed", True),
    "site_page": (200, None, False),
    "site_config": (200, None, False),
    "site_asset_missing": (404, "not_found", False),
}

API_FILES = sorted(path.stem for path in (EVENTS / "api").glob("*.json"))


def test_every_api_event_has_an_expectation():
    assert set(API_FILES) == set(API_CASES)


@pytest.mark.parametrize("case", API_FILES)
def test_api_event(case, api, cloud):
    status, code, seed = API_CASES[case]
    if seed:
        assert api(load_event("api/put_item_create.json")).status == 201
    event = load_event(f"api/{case}.json")
    reply = api(event)

    assert reply.status == status, reply.raw_body
    assert reply.headers["x-served-by-region"] == "eu-west-1"
    assert reply.headers["x-request-id"] == event["requestContext"]["requestId"]
    if status == 204:
        assert reply.raw_body == ""
    elif case == "site_page":
        assert reply.headers["content-type"] == "text/html; charset=utf-8"
        assert '<strong id="served-region">eu-west-1</strong>' in reply.raw_body
    else:
        assert reply.headers["content-type"] == "application/json"
    if code is not None:
        assert reply.json == {"error": code, "message": reply.json["message"]}
        assert code != "internal_error"
    if case == "put_item_create":
        stored = cloud.item("order-1001")
        assert stored["version"] == 1 and stored["origin_region"] == "eu-west-1"
        assert stored["data"]["customer"] == "Ana"
    if case in ("delete_item", "delete_item_if_match"):
        assert cloud.item("order-1001") is None
    if case == "put_item_if_match":
        assert cloud.item("order-1001")["version"] == 2


STREAM_FILES = sorted(path.stem for path in (EVENTS / "stream").glob("*.json"))

# case -> (ids and event types published, in order; number of failed records)
STREAM_CASES = {
    "insert_local": ([("order-1001", 1, "created")], 0),
    "modify_local": ([("order-1001", 2, "updated")], 0),
    "tombstone_local": ([("order-1001", 3, "deleted")], 0),
    "remove_after_tombstone": ([], 0),
    "insert_replicated": ([], 0),
    "mixed_two_regions": ([("order-3001", 1, "created"), ("order-3002", 2, "updated")], 0),
    "ttl_remove": ([], 0),
    "poison": ([("order-5001", 1, "created"), ("order-5004", 1, "created")], 2),
}


def test_every_stream_event_has_an_expectation():
    assert set(STREAM_FILES) == set(STREAM_CASES)


@pytest.mark.parametrize("case", STREAM_FILES)
def test_stream_event(case, stream, cloud):
    published, failed = STREAM_CASES[case]
    event = load_event(f"stream/{case}.json")
    result = stream(event)
    messages = cloud.messages()
    assert [(m["body"]["id"], m["body"]["version"], m["body"]["event_type"]) for m in messages] == published
    assert len(result["batchItemFailures"]) == failed
    for message in messages:
        assert message["attributes"]["origin_region"] == "eu-west-1"
        assert message["group"] == message["body"]["id"]


def test_custom_resource_event_files_exist():
    names = sorted(path.name for path in (EVENTS / "custom_resources").glob("*.json"))
    assert names == ["create.json", "delete.json"]
    for name in names:
        assert json.loads((EVENTS / "custom_resources" / name).read_text())["ResourceProperties"]["TableName"]


@pytest.mark.parametrize(("handler", "event", "error"), [
    ("api", "stream/insert_local.json", "NotAnHttpApiEvent"),
    ("api", "custom_resources/create.json", "NotAnHttpApiEvent"),
    ("api", None, "NotAnHttpApiEvent"),
    ("stream", "api/health.json", "NotADynamoDBStreamEvent"),
    ("stream", None, "NotADynamoDBStreamEvent"),
])
def test_an_event_of_another_kind_fails_the_invocation_naming_what_was_expected(handler, event, error, request):
    """Not a request answered 500, nor an empty batch: Lambda's error payload (errorType, errorMessage)."""
    from common import events

    call = request.getfixturevalue(handler)
    with pytest.raises(events.WrongEvent) as raised:
        call(load_event(event) if event else {})
    assert type(raised.value).__name__ == error
    assert str(raised.value).startswith("expected an API Gateway HTTP API event" if handler == "api"
                                        else "expected a DynamoDB stream event")


def test_a_batch_of_another_source_is_another_kind_of_event(stream):
    from common import events

    sqs = {"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": "{}"}]}
    with pytest.raises(events.NotADynamoDBStreamEvent):
        stream(sqs)
