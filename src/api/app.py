"""HTTP API (payload format 2.0) for the items table.

Item ids: 1-128 characters from ``[A-Za-z0-9._~-]``, the first one a letter or digit, so the
reserved health sentinel ``__health__`` can never be read or written through the API.
"""

import os
from typing import Annotated, Any, Optional, Union

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from common.events import require_http_api
from common.items import ID_RULE, dumps, public_item
from common.observability import logger, metrics, tracer

from . import codec, health, openapi, site, store
from .errors import ApiError, bad_request, is_unavailable, unavailable
from .models import ITEM_VERSION_HEADERS, ErrorBody, GatewayError, HealthBody, ItemBody, ItemPage, responses

JSON = "application/json"
KNOWN_ROUTES = frozenset(
    {
        "GET /",
        "GET /site/{asset}",
        "GET /health",
        "GET /openapi.json",
        "GET /items",
        "PUT /items/{id}",
        "GET /items/{id}",
        "DELETE /items/{id}",
    }
)

app = APIGatewayHttpResolver(enable_validation=True, serializer=dumps)

IdParam = Annotated[str, Path(description=f"Item id: {ID_RULE}.")]
IfMatch = Annotated[
    Optional[str],
    Header(alias="if-match", description='Expected current version, e.g. 3 or "3" (optimistic concurrency).'),
]


def release() -> str:
    return os.environ.get("RELEASE", "unknown")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=JSON, body=dumps(body), headers=headers or {})


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, {"error": code, "message": message}, headers)


def version_headers(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"', "x-item-version": str(version)}


# --- routes -----------------------------------------------------------------------------------


@app.get(
    "/health",
    operation_id="getHealth",
    summary="Deep health check of this region",
    description="Reads the health sentinel from the local replica (short timeout) and the SSM service switch.",
    responses=responses(
        {
            200: ("Region healthy", HealthBody),
            503: (
                "Region unavailable (or no answer from the function: API Gateway's body)",
                Union[HealthBody, GatewayError],
            ),
        }
    ),
)
def get_health():
    reason = health.check(store.table_name())
    body: dict[str, Any] = {"status": "ok" if reason is None else "unavailable", "region": store.region(), "release": release()}
    if reason is not None:
        body["reason"] = reason
    return json_response(200 if reason is None else 503, body, {"Cache-Control": "no-store"})


# The site's responses are never cached: each load of the page must show the region that served it.
SITE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


@app.get("/", include_in_schema=False)
def get_site():
    body = site.page(store.region(), release())
    headers = {**SITE_HEADERS, "Content-Security-Policy": site.content_security_policy(site.directory())}
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=body, headers=headers)


@app.get("/site/<asset>", include_in_schema=False)
def get_site_asset(asset: str):
    if asset == "config.json":
        return Response(status_code=200, content_type=JSON, body=site.config(store.region(), release()),
                        headers=SITE_HEADERS)
    found = site.asset(asset)
    if found is None:
        raise ApiError(404, "not_found", "no such site asset")
    body, content_type = found
    return Response(status_code=200, content_type=content_type, body=body, headers=SITE_HEADERS)


_openapi_cache: dict[str, str] = {}


@app.get(
    "/openapi.json",
    operation_id="getOpenApi",
    summary="This OpenAPI document",
    responses=responses({200: ("This OpenAPI document", dict[str, Any])}),
)
def get_openapi():
    if "document" not in _openapi_cache:
        _openapi_cache["document"] = _openapi_document()
    return Response(status_code=200, content_type=JSON, body=_openapi_cache["document"])


def _openapi_document() -> str:
    return openapi.document(
        app,
        title="Global items API",
        version=release(),
        description=f"Multi-region active-active item store. Item ids: {ID_RULE}.",
    )


@app.get(
    "/items",
    operation_id="listItems",
    summary="List items (paginated scan)",
    responses=responses({200: ("A page of items", ItemPage), 400: ("Bad limit or cursor", ErrorBody)}),
)
def list_items(
    limit: Annotated[Optional[str], Query(description="Page size, 1-100 (default 25).")] = None,
    cursor: Annotated[Optional[str], Query(description="Opaque cursor from the previous page.")] = None,
):
    page_size = codec.parse_limit(limit)
    after = codec.decode_cursor(cursor) if cursor is not None else None
    items, last_id = store.list_items(page_size, after)
    next_cursor = codec.encode_cursor(last_id) if last_id is not None else None
    return json_response(200, {"items": [public_item(item) for item in items], "cursor": next_cursor})


@app.get(
    "/items/<id>",
    operation_id="getItem",
    summary="Read an item",
    responses=responses(
        {
            200: ("The item", ItemBody, ITEM_VERSION_HEADERS),
            400: ("Bad id or consistent flag", ErrorBody),
            404: ("No such item", ErrorBody),
        }
    ),
)
def get_item(
    id: IdParam,  # noqa: A002 - the path parameter is called id
    consistent: Annotated[Optional[str], Query(description="true for a strongly consistent read.")] = None,
):
    item_id = codec.check_id(id)
    item = store.get_item(item_id, codec.parse_consistent(consistent))
    if item is None:
        raise ApiError(404, "item_not_found", "no such item")
    return json_response(200, public_item(item), version_headers(int(item["version"])))


@app.put(
    "/items/<id>",
    operation_id="putItem",
    summary="Create or replace an item",
    responses=responses(
        {
            200: ("Replaced", ItemBody, ITEM_VERSION_HEADERS),
            201: ("Created", ItemBody, ITEM_VERSION_HEADERS),
            400: ("Bad id, bad If-Match or malformed JSON", ErrorBody),
            412: ("If-Match does not match the current version", ErrorBody),
            # Over API Gateway's 10 MB payload quota the gateway answers itself, with its own body.
            413: ("Body too large", Union[ErrorBody, GatewayError]),
            422: ("Body rejected", ErrorBody),
        }
    ),
)
def put_item(id: IdParam, if_match: IfMatch = None):  # noqa: A002
    item_id = codec.check_id(id)
    expected = codec.parse_if_match(if_match)
    event = app.current_event
    data = codec.parse_put_body(event.get("body"), bool(event.get("isBase64Encoded")))
    try:
        item, created = store.put_item(item_id, data, expected)
    except store.ConditionFailed:
        raise ApiError(412, "version_conflict", "the item is missing or not at the If-Match version") from None
    except ClientError as exc:
        if store_rejected(exc):
            raise codec.validation_error("DynamoDB rejected the item (too large or too deeply nested)") from None
        raise
    return json_response(201 if created else 200, public_item(item), version_headers(item["version"]))


def store_rejected(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ValidationException"


@app.delete(
    "/items/<id>",
    operation_id="deleteItem",
    summary="Delete an item",
    responses=responses(
        {
            204: ("Deleted", None),
            400: ("Bad id or bad If-Match", ErrorBody),
            404: ("No such item", ErrorBody),
            412: ("Version conflict", ErrorBody),
        }
    ),
)
def delete_item(id: IdParam, if_match: IfMatch = None):  # noqa: A002
    item_id = codec.check_id(id)
    expected = codec.parse_if_match(if_match)
    try:
        store.delete_item(item_id, expected)
    except store.ConditionFailed:
        if expected is not None and store.item_exists(item_id):
            raise ApiError(412, "version_conflict", "the item is not at the If-Match version") from None
        raise ApiError(404, "item_not_found", "no such item") from None
    return Response(status_code=204, content_type=None, body="")


# --- errors -----------------------------------------------------------------------------------


@app.not_found
def not_found(_: NotFoundError) -> Response:
    event = app.current_event
    # Powertools has no 405: a path some route serves under another method gets one here.
    allowed = sorted(
        {route.method for route in app._static_routes + app._dynamic_routes if route.rule.match(event.path)}
    )
    if allowed and event.http_method == "OPTIONS":
        # A CORS preflight reaches the function through the $default route (API Gateway forwards
        # OPTIONS to a route that takes it, then adds its CORS headers to this answer).
        return Response(status_code=204, content_type=None, body="", headers={"Allow": ", ".join(allowed)})
    if allowed:
        return error_response(
            405,
            "method_not_allowed",
            f"{event.http_method} is not allowed here",
            {"Allow": ", ".join(allowed)},
        )
    return error_response(404, "not_found", "no such route")


@app.exception_handler(ApiError)
def api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.headers)


@app.exception_handler(RequestValidationError)
def request_validation_error(exc: RequestValidationError) -> Response:
    locations = {str(error.get("loc", ("",))[0]) for error in exc.errors()}
    if "path" in locations:
        return error_response(400, "bad_id", f"invalid item id: {ID_RULE}")
    if "body" in locations:
        return error_response(422, "validation_error", "the request body does not match the schema")
    return error_response(400, "bad_request", "invalid query string or headers")


@app.exception_handler([ClientError, BotoCoreError])
def aws_error(exc: Exception) -> Response:
    if is_unavailable(exc):
        logger.warning("DynamoDB throttled or unavailable", exc_info=True)
        error = unavailable()
        return error_response(error.status, error.code, error.message, error.headers)
    return internal_error(exc)


@app.exception_handler(Exception)
def internal_error(exc: Exception) -> Response:
    logger.exception("unhandled error")
    return error_response(500, "internal_error", "internal error")


# --- Lambda entry point -----------------------------------------------------------------------


def _request_id(event: dict[str, Any], context: Any) -> str:
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    request_id = request_context.get("requestId") if isinstance(request_context, dict) else None
    return str(request_id or getattr(context, "aws_request_id", "") or "")


def _route_label(event: dict[str, Any]) -> str:
    route_key = event.get("routeKey") if isinstance(event, dict) else None
    return route_key if route_key in KNOWN_ROUTES else "other"


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
# No response capture: a response holds item data (which does not belong in X-Ray) and a PUT near
# the 64 KiB limit made the segment too large to send, so its trace was lost. The status and route
# are still traced by the botocore patch and the handler subsegment.
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    require_http_api(event)  # another kind of event is not a request: Lambda's error payload, not a 500
    try:
        response = app.resolve(event, context)
    except Exception:  # resolve() itself failed: still answer JSON
        logger.exception("could not resolve the request")
        response = {
            "statusCode": 500,
            "body": dumps({"error": "internal_error", "message": "internal error"}),
            "isBase64Encoded": False,
            "headers": {"Content-Type": JSON},
        }
    headers = response.setdefault("headers", {})
    headers["x-served-by-region"] = store.region()
    headers["x-request-id"] = _request_id(event, context)
    headers["x-release"] = release()

    status = int(response.get("statusCode", 500))
    metrics.add_dimension(name="route", value=_route_label(event))
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=int(400 <= status < 500))
    metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=int(status >= 500))
    return response
