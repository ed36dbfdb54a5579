"""Payload 2.0 / 1.0 events match the documented shape field by field."""

from __future__ import annotations

import base64

import pytest

from localcloud.apigatewayv2.event import (
    HttpRequest,
    RequestContextInfo,
    build_event,
    build_event_v1,
    build_event_v2,
    encode_body,
    format_request_time,
    new_request_id,
)
from localcloud.apigatewayv2.model import DeployedApi, Integration, Route, Stage
from localcloud.apigatewayv2.routing import RouteMatch

TRACE = "Root=1-5e6a8b2e-0123456789abcdef01234567"
EPOCH_MS = 1583348638390  # 2020-03-04T19:03:58.390Z
CONTEXT = RequestContextInfo(request_id="JKJaXmPLvHcESHA=", time_epoch_ms=EPOCH_MS)
V2 = Integration("i2", integration_uri="arn:aws:lambda:us-east-1:123456789012:function:f")
V1 = Integration("i1", integration_uri="arn:aws:lambda:us-east-1:123456789012:function:f", payload_format_version="1.0")


def api(stage: Stage | None = None) -> DeployedApi:
    return DeployedApi("abc123", "api", "us-east-1", [], stage or Stage(), account_id="111122223333")


def request(**overrides) -> HttpRequest:
    fields = dict(
        method="POST",
        target="/my/path?parameter1=value1&parameter1=value2&parameter2=value",
        headers=[
            ("Host", "abc123.execute-api.us-east-1.amazonaws.com"),
            ("User-Agent", "agent"),
            ("Header1", "value1"),
            ("Header2", "value1"),
            ("header2", "value2"),
            ("Cookie", "cookie1=a; cookie2=b"),
            ("Cookie", "cookie3=c"),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", "17"),
            ("X-Amzn-Trace-Id", TRACE),
            ("X-Forwarded-For", "203.0.113.9"),
        ],
        body=b"Hello from Lambda",
        source_ip="127.0.0.1",
        server_port=4510,
    )
    fields.update(overrides)
    return HttpRequest(**fields)


def test_v2_event_matches_the_documented_shape() -> None:
    stage = Stage(stage_variables={"stageVariable1": "value1"})
    match = RouteMatch(Route("r", "$default", V2), {})
    event = build_event_v2(request(), api(stage), match, CONTEXT)
    assert event == {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/my/path",
        "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
        "cookies": ["cookie1=a", "cookie2=b", "cookie3=c"],
        "headers": {
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "agent",
            "header1": "value1",
            "header2": "value1,value2",
            "content-type": "text/plain; charset=utf-8",
            "content-length": "17",
            "x-amzn-trace-id": TRACE,
            "x-forwarded-for": "203.0.113.9, 127.0.0.1",
            "x-forwarded-port": "4510",
            "x-forwarded-proto": "http",
        },
        "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
        "requestContext": {
            "accountId": "111122223333",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": "POST",
                "path": "/my/path",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "agent",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "04/Mar/2020:19:03:58 +0000",
            "timeEpoch": EPOCH_MS,
        },
        "body": "Hello from Lambda",
        "isBase64Encoded": False,
        "stageVariables": {"stageVariable1": "value1"},
    }


def test_v2_event_omits_what_the_request_lacks() -> None:
    bare = HttpRequest(method="GET", target="/items/42", headers=[("Host", "127.0.0.1:4510")], server_port=4510)
    match = RouteMatch(Route("r", "GET /items/{id}", V2), {"id": "42"})
    event = build_event_v2(bare, api(), match, CONTEXT)
    for absent in ("cookies", "queryStringParameters", "body", "stageVariables"):
        assert absent not in event
    assert event["rawQueryString"] == ""
    assert event["isBase64Encoded"] is False
    assert event["pathParameters"] == {"id": "42"}
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "GET /items/{id}"
    assert "cookie" not in event["headers"]
    # A loopback Host is not a name API Gateway answers to: the execute-api domain stands in.
    assert event["requestContext"]["domainName"] == "abc123.execute-api.us-east-1.amazonaws.com"
    assert event["requestContext"]["http"]["userAgent"] == ""
    trace = event["headers"]["x-amzn-trace-id"]
    assert trace.startswith("Root=1-") and len(trace.split("-")[2]) == 24


def test_custom_domain_host_becomes_domain_name_and_prefix() -> None:
    req = HttpRequest(method="GET", target="/", headers=[("Host", "API.Example.com:8443")])
    event = build_event_v2(req, api(), RouteMatch(Route("r", "$default", V2), {}), CONTEXT)
    assert event["requestContext"]["domainName"] == "api.example.com"
    assert event["requestContext"]["domainPrefix"] == "api"


@pytest.mark.parametrize(
    ("content_type", "is_text"),
    [
        ("text/plain", True),
        ("text/csv; charset=utf-8", True),
        ("application/json", True),
        ("Application/JSON; charset=UTF-8", True),
        ("application/xml", True),
        ("application/javascript", True),
        ("application/octet-stream", False),
        ("image/png", False),
        ("application/x-www-form-urlencoded", False),
        (None, False),
    ],
)
def test_body_encoding_rule(content_type: str | None, is_text: bool) -> None:
    body = b'{"a": "caf\xc3\xa9"}'
    encoded, is_base64 = encode_body(body, content_type)
    assert is_base64 is (not is_text)
    assert (encoded == body.decode()) if is_text else (base64.b64decode(encoded) == body)


def test_binary_body_is_base64_and_text_body_is_plain_in_the_event() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\xff\xfe"
    match = RouteMatch(Route("r", "PUT /blobs/{id}", V2), {"id": "b"})
    binary = build_event_v2(request(method="PUT", target="/blobs/b", body=png,
                                    headers=[("Content-Type", "image/png")]), api(), match, CONTEXT)
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == png
    # Text that is not valid UTF-8 is sent as base64 rather than mangled.
    broken = build_event_v2(request(body=b"\xff\xfe", headers=[("Content-Type", "text/plain")]), api(), match, CONTEXT)
    assert broken["isBase64Encoded"] is True and base64.b64decode(broken["body"]) == b"\xff\xfe"
    text = build_event_v2(request(body='{"name":"café"}'.encode(), headers=[("Content-Type", "application/json")]),
                          api(), match, CONTEXT)
    assert text["isBase64Encoded"] is False and text["body"] == '{"name":"café"}'


def test_query_values_are_decoded_and_blank_values_kept() -> None:
    req = HttpRequest(method="GET", target="/s?q=a%20b&q=c+d&empty=&x=%2F")
    event = build_event_v2(req, api(), RouteMatch(Route("r", "$default", V2), {}), CONTEXT)
    assert event["rawQueryString"] == "q=a%20b&q=c+d&empty=&x=%2F"
    assert event["queryStringParameters"] == {"q": "a b,c d", "empty": "", "x": "/"}


def test_v1_event_shape() -> None:
    match = RouteMatch(Route("r", "POST /my/{name}", V1), {"name": "path"})
    event = build_event_v1(request(), api(), match, CONTEXT)
    assert event["version"] == "1.0"
    assert event["resource"] == "/my/{name}"
    assert event["path"] == "/my/path"
    assert event["httpMethod"] == "POST"
    assert event["headers"]["header2"] == "value2"
    assert event["multiValueHeaders"]["header2"] == ["value1", "value2"]
    # 1.0 has no cookies field: the Cookie headers stay headers.
    assert event["multiValueHeaders"]["cookie"] == ["cookie1=a; cookie2=b", "cookie3=c"]
    assert "cookies" not in event
    assert event["queryStringParameters"] == {"parameter1": "value2", "parameter2": "value"}
    assert event["multiValueQueryStringParameters"] == {"parameter1": ["value1", "value2"], "parameter2": ["value"]}
    assert event["pathParameters"] == {"name": "path"}
    assert event["stageVariables"] is None
    assert event["body"] == "Hello from Lambda" and event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["requestId"] == ctx["extendedRequestId"] == "JKJaXmPLvHcESHA="
    assert ctx["requestTime"] == "04/Mar/2020:19:03:58 +0000" and ctx["requestTimeEpoch"] == EPOCH_MS
    assert ctx["identity"]["sourceIp"] == "127.0.0.1" and ctx["identity"]["userAgent"] == "agent"
    assert ctx["resourcePath"] == "/my/{name}" and ctx["stage"] == "$default" and ctx["httpMethod"] == "POST"
    assert ctx["accountId"] == "111122223333" and ctx["apiId"] == "abc123"


def test_v1_event_nulls_for_missing_parts() -> None:
    bare = HttpRequest(method="GET", target="/")
    event = build_event_v1(bare, api(), RouteMatch(Route("r", "$default", V1), {}), CONTEXT)
    assert event["resource"] == "$default"
    for key in ("queryStringParameters", "multiValueQueryStringParameters", "pathParameters", "stageVariables", "body"):
        assert event[key] is None


def test_build_event_follows_the_integration_payload_version() -> None:
    req = HttpRequest(method="GET", target="/")
    assert build_event(req, api(), RouteMatch(Route("r", "$default", V1), {}), CONTEXT)["version"] == "1.0"
    assert build_event(req, api(), RouteMatch(Route("r", "$default", V2), {}), CONTEXT)["version"] == "2.0"


def test_chunked_upload_reaches_lambda_with_its_length() -> None:
    req = HttpRequest(method="PUT", target="/x", body=b"abc", headers=[("Transfer-Encoding", "chunked"),
                                                                     ("Content-Type", "text/plain")])
    event = build_event_v2(req, api(), RouteMatch(Route("r", "$default", V2), {}), CONTEXT)
    assert event["headers"]["content-length"] == "3"
    assert "transfer-encoding" not in event["headers"]


def test_time_and_request_id_formats() -> None:
    assert format_request_time(0) == "01/Jan/1970:00:00:00 +0000"
    assert format_request_time(1702684799000) == "15/Dec/2023:23:59:59 +0000"
    ids = {new_request_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 16 and i.endswith("=") and len(base64.b64decode(i)) == 11 for i in ids)
