"""The Lambda event an HTTP API sends to a proxy integration, payload format 2.0 or 1.0.

Sources:
- Event shapes, header/query/cookie folding: "Create AWS Lambda proxy integrations for HTTP APIs",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
  (2.0: duplicate headers and query keys joined with commas, Cookie headers moved to `cookies`,
  header names lower-cased; 1.0: multiValueHeaders / multiValueQueryStringParameters).
- Which request bodies arrive as text: the docs only say binary bodies are base64-encoded; the
  split was measured against real HTTP APIs in ministackorg/ministack#766: text for `text/*`,
  `application/json`, `application/xml` and `application/javascript`, base64 for everything else,
  including a missing Content-Type and `application/x-www-form-urlencoded`.
- Header values API Gateway adds (x-forwarded-for/-port/-proto, x-amzn-trace-id): as seen in real
  events, e.g. the one quoted in floci-io/floci#2172.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from .model import DeployedApi
from .routing import RouteMatch

_TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class HttpRequest:
    """One request as it came off the wire, before API Gateway touches it."""

    method: str
    target: str  # the request-target: raw path plus ?query, still URL-encoded
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"
    scheme: str = "http"
    server_port: int = 80

    @property
    def raw_path(self) -> str:
        return self.target.split("?", 1)[0].split("#", 1)[0] or "/"

    @property
    def raw_query(self) -> str:
        _, _, query = self.target.partition("?")
        return query.split("#", 1)[0]

    def header(self, name: str) -> str | None:
        """The last value of a header, case-insensitively."""
        found = None
        for key, value in self.headers:
            if key.lower() == name.lower():
                found = value
        return found


@dataclass(frozen=True)
class RequestContextInfo:
    """What API Gateway knows about a request besides the request itself."""

    request_id: str
    time_epoch_ms: int


def new_request_id() -> str:
    # HTTP API ids look like "JKJaXmPLvHcESHA=": 11 random bytes, base64.
    return base64.b64encode(os.urandom(11)).decode("ascii")


def new_trace_id(now_s: float | None = None) -> str:
    epoch = int(time.time() if now_s is None else now_s)
    return f"Root=1-{epoch:08x}-{os.urandom(12).hex()}"


def format_request_time(epoch_ms: int) -> str:
    """`12/Mar/2020:19:03:58 +0000`, independent of the process locale."""
    t = time.gmtime(epoch_ms / 1000)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def is_text_media_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in _TEXT_MEDIA_TYPES


def encode_body(body: bytes, content_type: str | None) -> tuple[str | None, bool]:
    """(body, isBase64Encoded) the way HTTP APIs hand a request body to Lambda."""
    if not body:
        return None, False
    if is_text_media_type(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # not really text: fall through so no byte is lost
    return base64.b64encode(body).decode("ascii"), True


def domain_of(api: DeployedApi, host_header: str | None) -> tuple[str, str]:
    """(domainName, domainPrefix): the host the client called, or the API's execute-api host.

    A bare loopback address or localhost is not a name API Gateway could have been called by,
    so the API's own execute-api domain stands in for it.
    """
    host = (host_header or "").strip()
    if host.startswith("["):  # [::1]:port
        host = host[1 : host.find("]")] if "]" in host else host
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    host = host.lower()
    if not host or host == "localhost" or _is_ip_literal(host):
        host = api.default_domain_name
    return host, host.split(".", 1)[0]


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _gateway_headers(request: HttpRequest, now_ms: int) -> list[tuple[str, str]]:
    """The client's headers (lower-cased) plus the ones API Gateway adds on the way in."""
    headers = [(name.lower(), value) for name, value in request.headers]
    forwarded = [value for name, value in headers if name == "x-forwarded-for"]
    replaced = ("x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "transfer-encoding")
    headers = [(name, value) for name, value in headers if name not in replaced]
    chain = ", ".join([*forwarded, request.source_ip])
    headers.append(("x-forwarded-for", chain))
    headers.append(("x-forwarded-port", str(request.server_port)))
    headers.append(("x-forwarded-proto", request.scheme))
    if not any(name == "x-amzn-trace-id" for name, _ in headers):
        headers.append(("x-amzn-trace-id", new_trace_id(now_ms / 1000)))
    if request.body and not any(name == "content-length" for name, _ in headers):
        # A chunked upload reaches Lambda with its decoded length.
        headers.append(("content-length", str(len(request.body))))
    return headers


def build_event_v2(
    request: HttpRequest, api: DeployedApi, match: RouteMatch, context: RequestContextInfo
) -> dict:
    headers = _gateway_headers(request, context.time_epoch_ms)
    cookies: list[str] = []
    folded: dict[str, str] = {}
    for name, value in headers:
        if name == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        elif name in folded:
            folded[name] = f"{folded[name]},{value}"
        else:
            folded[name] = value

    query: dict[str, str] = {}
    for key, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value

    domain_name, domain_prefix = domain_of(api, request.header("host"))
    event: dict = {
        "version": "2.0",
        "routeKey": match.route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = folded
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": api.account_id,
        "apiId": api.api_id,
        "domainName": domain_name,
        "domainPrefix": domain_prefix,
        "http": {
            "method": request.method.upper(),
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": folded.get("user-agent", ""),
        },
        "requestId": context.request_id,
        "routeKey": match.route.route_key,
        "stage": api.stage.stage_name,
        "time": format_request_time(context.time_epoch_ms),
        "timeEpoch": context.time_epoch_ms,
    }
    body, is_base64 = encode_body(request.body, folded.get("content-type"))
    if body is not None:
        event["body"] = body
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    event["isBase64Encoded"] = is_base64
    if api.stage.stage_variables:
        event["stageVariables"] = dict(api.stage.stage_variables)
    return event


def build_event_v1(
    request: HttpRequest, api: DeployedApi, match: RouteMatch, context: RequestContextInfo
) -> dict:
    """Payload 1.0: single-value maps keep the last value, as REST API proxy events do."""
    headers = _gateway_headers(request, context.time_epoch_ms)
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value
        multi_headers.setdefault(name, []).append(value)

    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for key, value in parse_qsl(request.raw_query, keep_blank_values=True):
        single_query[key] = value
        multi_query.setdefault(key, []).append(value)

    resource = match.route.route_key.partition(" ")[2] or match.route.route_key
    domain_name, domain_prefix = domain_of(api, request.header("host"))
    user_agent = single_headers.get("user-agent", "")
    body, is_base64 = encode_body(request.body, single_headers.get("content-type"))
    return {
        "version": "1.0",
        "resource": resource,
        "path": request.raw_path,
        "httpMethod": request.method.upper(),
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "requestContext": {
            "accountId": api.account_id,
            "apiId": api.api_id,
            "authorizer": {"claims": None, "scopes": None},
            "domainName": domain_name,
            "domainPrefix": domain_prefix,
            "extendedRequestId": context.request_id,
            "httpMethod": request.method.upper(),
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": request.source_ip,
                "user": None,
                "userAgent": user_agent,
                "userArn": None,
            },
            "path": request.raw_path,
            "protocol": request.protocol,
            "requestId": context.request_id,
            "requestTime": format_request_time(context.time_epoch_ms),
            "requestTimeEpoch": context.time_epoch_ms,
            "resourceId": None,
            "resourcePath": resource,
            "stage": api.stage.stage_name,
        },
        "pathParameters": dict(match.path_parameters) or None,
        "stageVariables": dict(api.stage.stage_variables) or None,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def build_event(
    request: HttpRequest, api: DeployedApi, match: RouteMatch, context: RequestContextInfo
) -> dict:
    integration = match.route.integration
    if integration is not None and integration.payload_format_version == "1.0":
        return build_event_v1(request, api, match, context)
    return build_event_v2(request, api, match, context)
