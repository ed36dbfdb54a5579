"""Response shapes, used to document the API in its OpenAPI document."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel


class ErrorBody(BaseModel):
    error: str
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


def responses(spec: dict[int, tuple[str, Optional[type[BaseModel]]]]) -> dict[int, Any]:
    common = {
        404: ("No such route", ErrorBody),
        405: ("Method not allowed", ErrorBody),
        500: ("Internal error", ErrorBody),
        503: ("Throttled or unavailable, retry", ErrorBody),
    }
    result: dict[int, Any] = {}
    for status, (description, model) in {**common, **spec}.items():
        entry: dict[str, Any] = {"description": description}
        if model is not None:
            entry["content"] = {"application/json": {"model": model}}
        result[status] = entry
    return result
