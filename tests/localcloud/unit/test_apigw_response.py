"""Lambda results map to HTTP responses the way HTTP APIs map them."""

from __future__ import annotations

import base64
import json
from email.utils import parsedate_to_datetime

import pytest

from localcloud.apigatewayv2.response import (
    HttpResponse,
    InvalidLambdaResponse,
    finalize,
    map_lambda_result,
    not_found,
    service_unavailable,
    too_many_requests,
)


def payload(value: object) -> bytes:
    return json.dumps(value).encode()


def test_v2_structured_response_with_headers_and_cookies() -> None:
    response = map_lambda_result(
        payload({
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "ETag": '"3"', "x-count": 3, "x-flag": True},
            "cookies": ["session=abc; HttpOnly", "theme=dark"],
            "body": '{"id":"a"}',
        }),
        "2.0",
    )
    assert response.status == 201
    assert response.body == b'{"id":"a"}'
    assert response.header("content-type") == "application/json"
    assert response.header("etag") == '"3"'
    assert response.header("x-count") == "3" and response.header("x-flag") == "true"
    assert response.header_values("Set-Cookie") == ["session=abc; HttpOnly", "theme=dark"]


def test_v2_base64_body_is_decoded() -> None:
    raw = bytes(range(256))
    response = map_lambda_result(
        payload({"statusCode": 200, "isBase64Encoded": True, "body": base64.b64encode(raw).decode(),
                 "headers": {"content-type": "application/octet-stream"}}),
        "2.0",
    )
    assert response.body == raw


@pytest.mark.parametrize(
    "result",
    [{"message": "Hello from Lambda!"}, "Hello from Lambda!", 42, [1, 2], None, {"body": "x", "headers": {}}],
)
def test_v2_format_inference_without_status_code(result: object) -> None:
    raw = payload(result)
    response = map_lambda_result(raw, "2.0")
    assert response.status == 200
    assert response.header("Content-Type") == "application/json"
    # The body is the function's response itself, untouched.
    assert response.body == raw
    assert response.header_values("Set-Cookie") == []


def test_v2_missing_body_is_empty() -> None:
    response = map_lambda_result(payload({"statusCode": 204}), "2.0")
    assert (response.status, response.body) == (204, b"")


def test_v2_ignores_multi_value_headers() -> None:
    response = map_lambda_result(payload({"statusCode": 200, "multiValueHeaders": {"x-a": ["1", "2"]}}), "2.0")
    assert response.header_values("x-a") == []


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        payload({"statusCode": "abc"}),
        payload({"statusCode": True}),
        payload({"statusCode": 99}),
        payload({"statusCode": 600}),
        payload({"statusCode": 200, "headers": ["x"]}),
        payload({"statusCode": 200, "headers": {"x": {"nested": 1}}}),
        payload({"statusCode": 200, "cookies": "a=1"}),
        payload({"statusCode": 200, "cookies": [1]}),
        payload({"statusCode": 200, "isBase64Encoded": True, "body": "***not base64***"}),
    ],
)
def test_v2_invalid_results(raw: bytes) -> None:
    with pytest.raises(InvalidLambdaResponse):
        map_lambda_result(raw, "2.0")


def test_v1_multi_value_headers_merge_with_headers() -> None:
    response = map_lambda_result(
        payload({
            "statusCode": 200,
            "headers": {"X-Single": "s", "Set-Cookie": "a=1", "Vary": "Origin"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "Vary": ["Accept"]},
            "body": "ok",
        }),
        "1.0",
    )
    assert response.status == 200 and response.body == b"ok"
    assert response.header_values("x-single") == ["s"]
    # The same pair in both maps appears once (from multiValueHeaders); distinct values are merged.
    assert response.header_values("set-cookie") == ["a=1", "b=2"]
    assert sorted(response.header_values("vary")) == ["Accept", "Origin"]


@pytest.mark.parametrize("result", [{"body": "x"}, "hello", [1], None])
def test_v1_requires_status_code(result: object) -> None:
    with pytest.raises(InvalidLambdaResponse):
        map_lambda_result(payload(result), "1.0")


def test_gateway_errors_are_api_gateway_json() -> None:
    for response, status, message in [
        (not_found(), 404, "Not Found"),
        (too_many_requests(), 429, "Too Many Requests"),
        (service_unavailable(), 503, "Service Unavailable"),
    ]:
        assert response.status == status
        assert response.body == json.dumps({"message": message}, separators=(",", ":")).encode()
        assert response.header("content-type") == "application/json"


def test_finalize_adds_gateway_headers_and_owns_framing() -> None:
    lambda_response = HttpResponse(200, [("Content-Length", "999"), ("Connection", "close"),
                                         ("apigw-requestid", "spoofed"), ("x-app", "1")], b"hello")
    final = finalize(lambda_response, "REQ-ID=", 1583348638.0)
    assert final.header("content-length") == "5"
    assert final.header_values("Content-Length") == ["5"]
    assert final.header("apigw-requestid") == "REQ-ID="
    assert final.header("connection") is None  # the server decides keep-alive
    assert final.header("x-app") == "1"
    assert parsedate_to_datetime(final.header("date")).timestamp() == 1583348638.0
    head = finalize(lambda_response, "REQ-ID=", 0.0, head_request=True)
    assert head.body == b"" and head.header("content-length") == "5"
