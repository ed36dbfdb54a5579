"""API behaviour against moto: assertions on the table's contents, not just on statuses."""

from __future__ import annotations

import base64
import json

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from tests.functions.functional.conftest import http_event

from common import aws


def put(item_id, data, **kwargs):
    return http_event("PUT", f"/items/{item_id}", body=json.dumps({"data": data}), route="PUT /items/{id}", **kwargs)


def get(item_id, **kwargs):
    return http_event("GET", f"/items/{item_id}", route="GET /items/{id}", **kwargs)


def delete(item_id, **kwargs):
    return http_event("DELETE", f"/items/{item_id}", route="DELETE /items/{id}", **kwargs)


def listing(**query):
    return http_event("GET", "/items", query=query or None, route="GET /items")


def test_create_then_replace_and_if_match(api, cloud):
    created = api(put("a1", {"n": 1}))
    assert created.status == 201
    assert created.headers["etag"] == '"1"' and created.headers["x-item-version"] == "1"
    replaced = api(put("a1", {"n": 2}))
    assert replaced.status == 200 and replaced.json["version"] == 2
    assert replaced.json["created_at"] == created.json["created_at"]

    conflict = api(put("a1", {"n": 3}, headers={"if-match": '"1"'}))
    assert conflict.status == 412 and conflict.json["error"] == "version_conflict"
    assert cloud.item("a1")["data"] == {"n": 2}

    matched = api(put("a1", {"n": 3}, headers={"if-match": "2"}))
    assert matched.status == 200 and matched.json["version"] == 3
    assert cloud.item("a1")["data"] == {"n": 3}


def test_if_match_on_missing_item_is_412_and_writes_nothing(api, cloud):
    reply = api(put("ghost", {"n": 1}, headers={"if-match": "1"}))
    assert reply.status == 412
    assert cloud.item("ghost") is None


@pytest.mark.parametrize("value", ["abc", "1.5", "", "*", '"1', "-1", "1 2"])
def test_non_integer_if_match_is_400(api, cloud, value):
    api(put("a1", {"n": 1}))
    reply = api(put("a1", {"n": 2}, headers={"if-match": value}))
    assert (reply.status, reply.json["error"]) == (400, "bad_request")
    assert cloud.item("a1")["version"] == 1


def test_numbers_round_trip_exactly(api, cloud):
    data = {"i": 7, "f": 0.1, "big": 12345678901234567890123456789012345678, "neg": -2.5e-10, "z": 0, "s": "é", "b": True, "nul": None}
    reply = api(put("n1", data))
    assert reply.status == 201
    body = api(get("n1")).raw_body
    assert '"i":7' in body and '"f":0.1' in body and '"big":12345678901234567890123456789012345678' in body
    assert json.loads(body)["data"] == data
    assert str(cloud.item("n1")["data"]["f"]) == "0.1"


@pytest.mark.parametrize(
    "body, status, code",
    [
        ('{"data": {"x": Infinity}}', 400, "malformed_json"),
        ('{"data": {"x": -Infinity}}', 400, "malformed_json"),
        ('{"data": {"x": 1e400}}', 422, "validation_error"),
        ('{"data": {"x": 1e-200}}', 422, "validation_error"),
        ('{"data": {"x": 1.23456789012345678901234567890123456789}}', 422, "validation_error"),
        ('{"data": {"x": "\\ud800"}}', 422, "validation_error"),
        ("[" * 30000 + "]" * 30000, 422, "validation_error"),
        ('{"data": ' + "[" * 40 + "]" * 40 + "}", 422, "validation_error"),
        ('{"data": {}, "data": []}', 422, "validation_error"),
        ('"just a string"', 422, "validation_error"),
        ("", 400, "malformed_json"),
        ("{}", 422, "validation_error"),
        ('{"data": null}', 422, "validation_error"),
    ],
)
def test_rejected_bodies_never_reach_the_table(api, cloud, body, status, code):
    reply = api(http_event("PUT", "/items/x1", body=body, route="PUT /items/{id}"))
    assert (reply.status, reply.json["error"]) == (status, code)
    assert cloud.item("x1") is None


def test_body_size_limit(api, cloud):
    overhead = len('{"data":{"s":""}}')
    at_limit = json.dumps({"data": {"s": "x" * (65536 - overhead)}}, separators=(",", ":"))
    assert len(at_limit) == 65536
    assert api(http_event("PUT", "/items/big", body=at_limit, route="PUT /items/{id}")).status == 201
    over = at_limit[:-2] + 'x"}}'
    reply = api(http_event("PUT", "/items/big2", body=over, route="PUT /items/{id}"))
    assert (reply.status, reply.json["error"]) == (413, "payload_too_large")
    multibyte = json.dumps({"data": {"s": "é" * 40000}}, ensure_ascii=False)  # 80 KB of UTF-8
    assert api(http_event("PUT", "/items/big3", body=multibyte, route="PUT /items/{id}")).status == 413
    assert cloud.item("big2") is None and cloud.item("big3") is None


def test_base64_body(api, cloud):
    raw = base64.b64encode(json.dumps({"data": {"k": "v"}}).encode()).decode()
    assert api(http_event("PUT", "/items/b64", body=raw, route="PUT /items/{id}", base64_encoded=True)).status == 201
    assert cloud.item("b64")["data"] == {"k": "v"}
    junk = api(http_event("PUT", "/items/b64", body="!!notbase64", route="PUT /items/{id}", base64_encoded=True))
    assert (junk.status, junk.json["error"]) == (400, "malformed_json")


def test_get_and_consistent_flag(api):
    api(put("g1", {"a": [1, {"b": None}]}))
    for query in (None, {"consistent": "true"}, {"consistent": "false"}):
        reply = api(get("g1", query=query))
        assert reply.status == 200
        assert set(reply.json) == {"id", "data", "version", "created_at", "updated_at", "origin_region"}
        assert reply.json["data"] == {"a": [1, {"b": None}]}
        assert reply.json["origin_region"] == "eu-west-1"
        assert reply.json["updated_at"].endswith("Z") and len(reply.json["updated_at"]) == 24
    for bad in ("TRUE", "1", "", "yes"):
        assert api(get("g1", query={"consistent": bad})).json["error"] == "bad_request"


def test_delete_writes_tombstone_then_removes_and_recreate_is_201(api, cloud):
    api(put("d1", {"v": 1}))
    api(put("d1", {"v": 2}))
    reply = api(delete("d1"))
    assert reply.status == 204 and reply.raw_body == ""
    assert cloud.item("d1") is None
    assert api(get("d1")).status == 404
    assert api(delete("d1")).status == 404
    again = api(put("d1", {"v": 3}))
    assert again.status == 201 and again.json["version"] == 1


def test_tombstone_left_behind_is_invisible_and_recreate_is_201(api, cloud):
    api(put("t1", {"v": 1}))
    # Step 1 (the tombstone) goes to moto for real; only the physical delete (step 2) fails.
    client = aws.dynamodb()
    original = client.delete_item

    def failing_delete(**kwargs):
        raise EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")

    client.delete_item = failing_delete
    try:
        assert api(delete("t1")).status == 204
    finally:
        client.delete_item = original
    tombstone = cloud.item("t1")
    assert tombstone["deleted"] is True and tombstone["version"] == 2
    assert tombstone["origin_region"] == "eu-west-1" and "data" not in tombstone
    assert int(tombstone["expires_at"]) > 0
    assert api(get("t1")).status == 404
    assert api(listing()).json["items"] == []
    assert api(delete("t1")).status == 404
    assert api(put("t1", {"v": 9}, headers={"if-match": "2"})).status == 412
    recreated = api(put("t1", {"v": 9}))
    assert recreated.status == 201 and recreated.json["version"] == 3
    assert "deleted" not in cloud.item("t1") and "expires_at" not in cloud.item("t1")


def test_delete_if_match(api, cloud):
    api(put("m1", {"v": 1}))
    assert api(delete("m1", headers={"if-match": "5"})).status == 412
    assert cloud.item("m1")["version"] == 1
    assert api(delete("ghost", headers={"if-match": "1"})).status == 404
    assert api(delete("m1", headers={"if-match": '"1"'})).status == 204
    assert cloud.item("m1") is None


def test_pagination_returns_every_item_exactly_once(api, cloud):
    ids = {f"item-{n:03d}" for n in range(53)}
    for item_id in ids:
        api(put(item_id, {"n": item_id}))
    cloud.put_raw({"id": "__health__", "note": "sentinel"})
    for n in range(5):  # tombstones must be skipped too
        api(put(f"gone-{n}", {}))
        cloud.put_raw({"id": f"gone-{n}", "version": 2, "deleted": True, "origin_region": "eu-west-1"})
    seen: list[str] = []
    cursor = None
    for _ in range(30):
        query = {"limit": "7"}
        if cursor:
            query["cursor"] = cursor
        reply = api(listing(**query))
        assert reply.status == 200
        assert len(reply.json["items"]) <= 7
        seen += [item["id"] for item in reply.json["items"]]
        cursor = reply.json["cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)


def test_default_and_max_limit(api):
    for n in range(30):
        api(put(f"l{n}", {}))
    assert len(api(listing()).json["items"]) == 25
    assert len(api(listing(limit="100")).json["items"]) == 30


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "1.0", "", " 5", "1e1", "0x10"])
def test_bad_limit(api, limit):
    reply = api(listing(limit=limit))
    assert (reply.status, reply.json["error"]) == (400, "bad_limit")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        _b64(b'{"v":1,"id":"a","TableName":"other-table"}'),
        _b64(b'{"v":1,"id":"a","ExclusiveStartKey":{"id":{"S":"b"}}}'),
        _b64(b'{"v":2,"id":"a"}'),
        _b64(b'{"v":true,"id":"a"}'),
        _b64(b'{"v":1,"id":{"S":"a"}}'),
        _b64(b'{"v":1,"id":"__health__"}'),
        _b64(b'{"v":1}'),
        _b64(b'[1,"a"]'),
        _b64(b"\x00\xff\xfe binary junk"),
        _b64(b'{"v":1,"id":"' + b"a" * 5000 + b'"}'),
        "A" * 100000,
        "not base64 at all!",
        "%%%",
        _b64(b'{"v":1,"id":"a"}') + "=",
        _b64(b'{"id":"a","v":1}'),
        _b64(b'{"v":1, "id":"a"}'),
    ],
)
def test_forged_cursors_are_400(api, cursor):
    reply = api(listing(cursor=cursor))
    assert (reply.status, reply.json["error"]) == (400, "bad_cursor")


@pytest.mark.parametrize("item_id", ["__health__", "_x", "-x", ".x", "a" * 129, "a%2Fb", "a b", "ü", "a!"])
def test_bad_ids(api, cloud, item_id):
    for event in (get(item_id), put(item_id, {}), delete(item_id)):
        reply = api(event)
        assert (reply.status, reply.json["error"]) == (400, "bad_id")
    assert cloud.item("__health__") is None


def test_longest_valid_id(api, cloud):
    item_id = "A" + "z9._~-" * 21 + "b"
    assert len(item_id) == 128
    assert api(put(item_id, {})).status == 201
    assert cloud.item(item_id)["version"] == 1


def test_unknown_route_and_405(api):
    for method, path in [("GET", "/nope"), ("GET", "/items/a/b"), ("GET", "/site/a/b"), ("GET", "/items/")]:
        reply = api(http_event(method, path))
        assert (reply.status, reply.json["error"]) == (404, "not_found")
    for method, path, allow in [
        ("POST", "/items", "GET"),
        ("PATCH", "/items/a1", "DELETE, GET, PUT"),
        ("POST", "/health", "GET"),
        ("DELETE", "/openapi.json", "GET"),
        ("POST", "/", "GET"),  # the demo site's page
        ("PUT", "/site/site.js", "GET"),
    ]:
        reply = api(http_event(method, path))
        assert (reply.status, reply.json["error"]) == (405, "method_not_allowed")
        assert reply.headers["allow"] == allow
        assert reply.headers["x-served-by-region"] == "eu-west-1"


def test_request_id_falls_back_to_lambda_context(api):
    event = http_event("GET", "/nope")
    del event["requestContext"]["requestId"]
    assert api(event).headers["x-request-id"] == "ctx-request-id"


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable"])
def test_throttling_is_503_with_retry_after(api, cloud, code):
    client = aws.dynamodb()
    with Stubber(client) as stubber:
        stubber.add_client_error("update_item", service_error_code=code, http_status_code=400)
        stubber.add_client_error("get_item", service_error_code=code, http_status_code=400)
        stubber.add_client_error("scan", service_error_code=code, http_status_code=400)
        for event in (put("a1", {}), get("a1"), listing()):
            reply = api(event)
            assert (reply.status, reply.json["error"]) == (503, "unavailable")
            assert reply.headers["retry-after"] == "1"
    assert cloud.item("a1") is None


@pytest.mark.parametrize(
    "error",
    [
        ConnectTimeoutError(endpoint_url="https://dynamodb"),
        ReadTimeoutError(endpoint_url="https://dynamodb"),
        EndpointConnectionError(endpoint_url="https://dynamodb"),
    ],
)
def test_timeouts_are_503(api, monkeypatch, error):
    class Broken:
        def __getattr__(self, name):
            def fail(**kwargs):
                raise error

            return fail

    monkeypatch.setattr(aws, "dynamodb", lambda: Broken())
    reply = api(get("a1"))
    assert (reply.status, reply.json["error"]) == (503, "unavailable")
    assert reply.headers["retry-after"] == "1"


def test_unexpected_error_is_500_without_stack(api, monkeypatch):
    from api import store

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals /var/task/api/store.py")

    monkeypatch.setattr(store, "get_item", boom)
    reply = api(get("a1"))
    assert reply.status == 500
    assert reply.json == {"error": "internal_error", "message": "internal error"}
    assert "Traceback" not in reply.raw_body and "secret" not in reply.raw_body


def test_dynamodb_validation_error_on_put_is_422(api):
    client = aws.dynamodb()
    with Stubber(client) as stubber:
        stubber.add_client_error("update_item", service_error_code="ValidationException", http_status_code=400)
        reply = api(put("a1", {"x": 1}))
    assert (reply.status, reply.json["error"]) == (422, "validation_error")


def test_health_ok_and_switch(api, cloud):
    event = http_event("GET", "/health", route="GET /health")
    reply = api(event)
    assert reply.status == 200
    assert reply.json == {"status": "ok", "region": "eu-west-1", "release": "r-test-1"}
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["x-release"] == "r-test-1"

    cloud.set_switch("out-of-service")
    aws.reset()  # drops the 10 s parameter cache along with the clients
    reply = api(event)
    assert reply.status == 503
    assert reply.json["status"] == "unavailable" and "out of service" in reply.json["reason"]
    assert reply.headers["cache-control"] == "no-store"

    cloud.ssm.delete_parameter(Name="/global-items/service-state")
    aws.reset()
    assert api(event).status == 200


def test_health_503_when_replica_read_fails(api, monkeypatch):
    class Unreachable:
        def get_item(self, **kwargs):
            raise ConnectTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")

    monkeypatch.setattr(aws, "dynamodb_health", lambda: Unreachable())
    reply = api(http_event("GET", "/health", route="GET /health"))
    assert reply.status == 503
    assert reply.json["status"] == "unavailable" and "ConnectTimeoutError" in reply.json["reason"]
    assert reply.json["region"] == "eu-west-1" and reply.json["release"] == "r-test-1"


def test_health_client_is_short_and_single_attempt(cloud, monkeypatch):
    monkeypatch.setenv("HEALTH_TIMEOUT_SECONDS", "0.5")
    config = aws.dynamodb_health().meta.config
    assert config.connect_timeout == 0.5 and config.read_timeout == 0.5
    assert config.retries["total_max_attempts"] == 1
    assert aws.dynamodb() is aws.dynamodb()


def test_openapi_lists_every_route(api):
    reply = api(http_event("GET", "/openapi.json", route="GET /openapi.json"))
    assert reply.status == 200
    paths = reply.json["paths"]
    assert set(paths) == {"/health", "/openapi.json", "/items", "/items/{id}"}
    assert set(paths["/items/{id}"]) == {"get", "put", "delete"}
    assert "requestBody" in paths["/items/{id}"]["put"]
    assert "first one a letter or a digit" in reply.json["info"]["description"]


def test_a_cors_preflight_reaching_the_function_gets_a_204_naming_the_methods(api):
    # Through the $default route API Gateway forwards OPTIONS to the function, then adds CORS headers.
    reply = api(http_event("OPTIONS", "/items/a1", headers={"origin": "https://api.example.com",
                                                             "access-control-request-method": "GET"}))
    assert (reply.status, reply.raw_body, reply.headers["allow"]) == (204, "", "DELETE, GET, PUT")
    assert api(http_event("OPTIONS", "/nope")).status == 404  # no such path: still the JSON 404
