"""Item layout shared by the API, the stream processor and their tests.

The table is a DynamoDB global table (version 2019.11.21) keyed on ``id`` only. That version
adds no ``aws:rep:*`` attributes, so every write stamps ``origin_region`` itself: it is how
each region's stream processor recognises the writes it must announce (exactly once globally).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

ID = "id"
DATA = "data"
VERSION = "version"
CREATED_AT = "created_at"
UPDATED_AT = "updated_at"
ORIGIN_REGION = "origin_region"
DELETED = "deleted"
EXPIRES_AT = "expires_at"

# The deep health check reads this key; the id rule below makes it unreachable for users.
HEALTH_SENTINEL_ID = "__health__"

# Tombstones linger this long where TTL is enabled (eventual mode) if the physical delete fails.
TOMBSTONE_TTL_SECONDS = 24 * 60 * 60

ID_MAX_LENGTH = 128
ID_RULE = (
    "1-128 characters from A-Z a-z 0-9 . _ ~ -, the first one a letter or a digit "
    "(ids starting with '_' are reserved, e.g. the health sentinel)"
)
_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,127}")


def is_valid_id(value: object) -> bool:
    """True when ``value`` is a user item id.

    Rule: 1-128 characters from ``[A-Za-z0-9._~-]``, first character alphanumeric. Every
    character is URL-safe (no escaping in paths) and the reserved ``__health__`` key can
    never be addressed.
    """
    return isinstance(value, str) and _ID_PATTERN.fullmatch(value) is not None


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso_millis(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, e.g. 2024-05-01T12:00:00.123Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _number(value: Decimal) -> str:
    # DynamoDB hands numbers back as Decimal; integral ones go out as JSON integers and the
    # rest keep their exact digits instead of passing through a lossy float.
    if value == value.to_integral_value():
        return str(int(value))
    return str(value)


def dumps(value: Any) -> str:
    """Compact JSON for values that may hold Decimals (DynamoDB numbers), without floats."""
    parts: list[str] = []
    _emit(value, parts)
    return "".join(parts)


def _emit(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(json.dumps(str(key)))
            out.append(":")
            _emit(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _emit(item, out)
        out.append("]")
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("non-finite number")
        out.append(_number(value))
    elif isinstance(value, (set, frozenset)):
        # Sets cannot come from the API (JSON has none) but may exist if someone edits the table.
        _emit(sorted(value, key=str), out)
    elif isinstance(value, (bytes, bytearray)):
        raise ValueError("binary values are not JSON")
    else:
        out.append(json.dumps(value, allow_nan=False))


def public_item(item: dict[str, Any]) -> dict[str, Any]:
    """The API view of a live item (internal bookkeeping attributes left out)."""
    return {
        ID: item[ID],
        DATA: item.get(DATA, {}),
        VERSION: int(item[VERSION]),
        CREATED_AT: item.get(CREATED_AT),
        UPDATED_AT: item.get(UPDATED_AT),
        ORIGIN_REGION: item.get(ORIGIN_REGION),
    }


def is_tombstone(item: dict[str, Any]) -> bool:
    return bool(item.get(DELETED))
