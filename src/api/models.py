"""Response shapes, and the responses each route lists in the OpenAPI document.

Each operation lists only what a request to it can get back (a 405 belongs to no operation: it
answers a method the document does not have; a 500 is a bug, never a documented answer).
"""

from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import BaseModel


class ErrorBody(BaseModel):
    error: str
    message: str


class GatewayError(BaseModel):
    """API Gateway's own error body, sent without the function's answer, e.g. {"message": "Too Many Requests"}."""

    message: str


class HealthBody(BaseModel):
    status: str
    region: str
    release: str
    reason: Optional[str] = None


class ItemBody(BaseModel):
    id: str
    data: dict[str, Any]
    version: int
    created_at: str
    updated_at: str
    origin_region: str


class ItemPage(BaseModel):
    items: list[ItemBody]
    cursor: Optional[str]


# (description, body model or None for no body[, response headers])
ResponseSpec = Union[tuple[str, Any], tuple[str, Any, dict[str, Any]]]

# API Gateway answers these itself on every route: 429 when the stage's token bucket is empty
# ("Throttling requests to your HTTP API", token bucket per route,
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html), 503 when
# it gets no answer from the integration (a timeout). The function answers 503 too, with its own
# body, when DynamoDB throttles or cannot be reached.
GATEWAY_RESPONSES: dict[int, ResponseSpec] = {
    429: ("Throttled by the API stage (API Gateway's body); retry with backoff", GatewayError),
    503: (
        "Unavailable, retry shortly: DynamoDB throttled or unreachable (with Retry-After), "
        "or no answer from the function (API Gateway's body)",
        Union[ErrorBody, GatewayError],
    ),
}

ITEM_VERSION_HEADERS: dict[str, Any] = {
    "ETag": {
        "description": 'The item\'s version as a strong entity tag, e.g. "3" (send it back in If-Match).',
        "required": True,
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    },
    "x-item-version": {
        "description": "The item's version.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
}


def responses(spec: dict[int, ResponseSpec]) -> dict[int, Any]:
    """Powertools ``responses=`` for a route: its own answers, then API Gateway's (unless overridden)."""
    result: dict[int, Any] = {}
    for status, entry in {**spec, **{s: e for s, e in GATEWAY_RESPONSES.items() if s not in spec}}.items():
        description, model, *headers = entry
        # An empty content map says "no body" (a 204); Powertools would otherwise document one.
        response: dict[str, Any] = {"description": description, "content": {}}
        if model is not None:
            response["content"] = {"application/json": {"model": model}}
        if headers:
            response["headers"] = headers[0]
        result[status] = response
    return result
