"""From a Lambda result (or a gateway-side failure) to the HTTP response an HTTP API sends.

Sources:
- Response formats 1.0/2.0 and 2.0 "format inference" (valid JSON without statusCode -> 200,
  application/json, body is the function's response; `cookies` -> one Set-Cookie each):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
  (aws/aws-sam-cli#2334 implements inference the same way: body is the raw function output).
- Function error or malformed response -> 500 {"message":"Internal Server Error"}: "Troubleshooting
  issues with HTTP API Lambda integrations",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html
- Integration timeout -> 503 {"message":"Service Unavailable"}: HTTP APIs answer a request whose
  integration outlives its timeout with 503 (serverless/serverless#11222, anomalyco/sst#2232);
  REST APIs differ (504).
- Lambda throttling -> 500: "If the Lambda API rejects the invocation request, API Gateway returns
  a 500 error code", https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html
  (see RegionalApiServer's lambda_throttle_status to answer 429 instead).
- Stage/route throttling -> 429 {"message":"Too Many Requests"}; no route -> 404
  {"message":"Not Found"}: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
- Payload limit 10 MB: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
- 1.0 header merge: when headers and multiValueHeaders both carry a key-value pair only the
  multiValueHeaders copy is kept (REST proxy rule, "Set up Lambda proxy integrations",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from email.utils import formatdate

# Headers the gateway owns on the wire; a function cannot set them.
_GATEWAY_OWNED = frozenset({"content-length", "transfer-encoding", "connection", "date", "apigw-requestid"})


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


class InvalidLambdaResponse(ValueError):
    """The function's result does not fit the integration's payload format."""


def gateway_error(status: int, message: str) -> HttpResponse:
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return HttpResponse(status, [("Content-Type", "application/json")], body)


def not_found() -> HttpResponse:
    return gateway_error(404, "Not Found")


def internal_server_error() -> HttpResponse:
    return gateway_error(500, "Internal Server Error")


def service_unavailable() -> HttpResponse:
    return gateway_error(503, "Service Unavailable")


def too_many_requests() -> HttpResponse:
    return gateway_error(429, "Too Many Requests")


def request_entity_too_large() -> HttpResponse:
    return gateway_error(413, "Request Entity Too Large")


def bad_request() -> HttpResponse:
    return gateway_error(400, "Bad Request")


def _status(value: object) -> int:
    # bool is an int in Python but never a status code.
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidLambdaResponse(f"statusCode must be an integer, got {value!r}")
    try:
        status = int(value)
    except ValueError as exc:
        raise InvalidLambdaResponse(f"statusCode must be an integer, got {value!r}") from exc
    if not 100 <= status <= 599:
        raise InvalidLambdaResponse(f"statusCode out of range: {status}")
    return status


def _header_value(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise InvalidLambdaResponse(f"header {name!r} has a non-scalar value {value!r}")


def _headers(mapping: object) -> list[tuple[str, str]]:
    if mapping is None:
        return []
    if not isinstance(mapping, dict):
        raise InvalidLambdaResponse("headers must be an object")
    return [(str(name), _header_value(str(name), value)) for name, value in mapping.items() if value is not None]


def _multi_value_headers(mapping: object) -> list[tuple[str, str]]:
    if mapping is None:
        return []
    if not isinstance(mapping, dict):
        raise InvalidLambdaResponse("multiValueHeaders must be an object")
    pairs: list[tuple[str, str]] = []
    for name, values in mapping.items():
        if values is None:
            continue
        if not isinstance(values, list):
            raise InvalidLambdaResponse(f"multiValueHeaders[{name!r}] must be a list")
        pairs.extend((str(name), _header_value(str(name), value)) for value in values)
    return pairs


def _body(result: dict) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        # Lenient on purpose: a structure is sent as its JSON text rather than failing the call.
        body = json.dumps(body)
    if result.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidLambdaResponse("isBase64Encoded is true but body is not base64") from exc
    return body.encode("utf-8")


def _parse(payload: bytes) -> object:
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidLambdaResponse("function result is not valid JSON") from exc


def map_v2(payload: bytes) -> HttpResponse:
    result = _parse(payload)
    if not isinstance(result, dict) or "statusCode" not in result:
        # Format inference: whatever the function returned is the JSON body.
        return HttpResponse(200, [("Content-Type", "application/json")], payload)
    headers = _headers(result.get("headers"))
    cookies = result.get("cookies")
    if cookies is not None:
        if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
            raise InvalidLambdaResponse("cookies must be a list of strings")
        headers.extend(("Set-Cookie", cookie) for cookie in cookies)
    return HttpResponse(_status(result["statusCode"]), headers, _body(result))


def map_v1(payload: bytes) -> HttpResponse:
    result = _parse(payload)
    if not isinstance(result, dict) or "statusCode" not in result:
        raise InvalidLambdaResponse("payload format 1.0 needs an object with statusCode")
    multi = _multi_value_headers(result.get("multiValueHeaders"))
    present = {(name.lower(), value) for name, value in multi}
    single = [(name, value) for name, value in _headers(result.get("headers")) if (name.lower(), value) not in present]
    return HttpResponse(_status(result["statusCode"]), single + multi, _body(result))


def map_lambda_result(payload: bytes, payload_format_version: str) -> HttpResponse:
    """The client's response for a successful invocation; raises InvalidLambdaResponse."""
    if payload_format_version == "1.0":
        return map_v1(payload)
    return map_v2(payload)


def finalize(response: HttpResponse, request_id: str, now_s: float, head_request: bool = False) -> HttpResponse:
    """Add the headers every HTTP API response carries and drop the ones the gateway owns.

    Connection is left to the server, which alone knows whether it keeps the connection open.
    """
    headers = [(name, value) for name, value in response.headers if name.lower() not in _GATEWAY_OWNED]
    length = len(response.body)
    headers = [
        ("Date", formatdate(now_s, usegmt=True)),
        *headers,
        ("Content-Length", str(length)),
        ("apigw-requestid", request_id),
    ]
    return HttpResponse(response.status, headers, b"" if head_request else response.body)
