"""Parsing of everything a client sends: ids, cursors, If-Match, limits and PUT bodies.

Each parser raises :class:`ApiError` with a 4xx status, never anything else, so no input can
reach DynamoDB in a shape it would reject with a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from common.items import ID_RULE, is_valid_id

from .errors import ApiError, bad_request

MAX_BODY_BYTES = 65536
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
# DynamoDB limits: 32 levels of nesting (the ``data`` map itself is level 1), numbers with at
# most 38 significant digits and a magnitude between 1E-130 and 9.99E+125.
MAX_DEPTH = 32
MAX_DIGITS = 38
MIN_EXPONENT = -130
MAX_EXPONENT = 125

# Public: the OpenAPI document states these same rules (api/openapi.py).
MAX_CURSOR_CHARS = 512
CURSOR_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
IF_MATCH_PATTERN = re.compile(r'(?:W/)?(?:"([0-9]{1,18})"|([0-9]{1,18}))')


class PutItemBody(BaseModel):
    """Body of ``PUT /items/{id}``: exactly one key, ``data``, holding any JSON object (no empty keys)."""

    model_config = ConfigDict(extra="forbid")

    data: dict[Annotated[str, StringConstraints(min_length=1)], Any]


def check_id(item_id: str) -> str:
    if not is_valid_id(item_id):
        raise bad_request("bad_id", f"invalid item id: {ID_RULE}")
    return item_id


# --- cursor -----------------------------------------------------------------------------------


def encode_cursor(last_id: str) -> str:
    raw = json.dumps({"v": 1, "id": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def decode_cursor(cursor: str) -> str:
    """The last id of the previous page, from a cursor this API issued, or 400 bad_cursor.

    Only ``{"v":1,"id":<valid id>}`` is accepted, and only in the exact encoding
    :func:`encode_cursor` produces, so a cursor can name nothing but an item key.
    """
    error = bad_request("bad_cursor", "cursor is not one this API issued")
    if not cursor or len(cursor) > MAX_CURSOR_CHARS or not CURSOR_PATTERN.fullmatch(cursor):
        raise error
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise error from None
    if not isinstance(payload, dict) or set(payload) != {"v", "id"}:
        raise error
    version, last_id = payload["v"], payload["id"]
    if type(version) is not int or version != 1 or not is_valid_id(last_id):
        raise error
    if encode_cursor(last_id) != cursor:
        raise error
    return last_id


# --- query and header values ------------------------------------------------------------------


def parse_limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]{1,3}", value) or not 1 <= int(value) <= MAX_LIMIT:
        raise bad_request("bad_limit", f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(value)


def parse_consistent(value: str | None) -> bool:
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise bad_request("bad_request", "consistent must be true or false")


def parse_if_match(value: str | None) -> int | None:
    """The expected version from ``If-Match: 3`` or ``If-Match: "3"`` (ETag style)."""
    if value is None:
        return None
    match = IF_MATCH_PATTERN.fullmatch(value.strip())
    if match is None:
        raise bad_request("bad_request", "If-Match must be an item version (an integer, optionally quoted)")
    return int(match.group(1) or match.group(2))


# --- PUT body ---------------------------------------------------------------------------------


class _NonFiniteNumber(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonFiniteNumber(f"{name} is not a JSON number")


def raw_body(body: str | None, is_base64: bool) -> bytes:
    if body is None:
        return b""
    # Base64 grows a payload by 4/3: anything longer is over the limit before decoding.
    if len(body) > (MAX_BODY_BYTES * 4) // 3 + 4 or (not is_base64 and len(body) > MAX_BODY_BYTES):
        raise ApiError(413, "payload_too_large", f"the body must be at most {MAX_BODY_BYTES} bytes")
    try:
        raw = base64.b64decode(body, validate=True) if is_base64 else body.encode("utf-8")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise bad_request("malformed_json", "the body is not valid JSON") from None
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "payload_too_large", f"the body must be at most {MAX_BODY_BYTES} bytes")
    return raw


def parse_put_body(body: str | None, is_base64: bool) -> dict[str, Any]:
    """The ``data`` object of a PUT body, numbers as Decimal, checked against DynamoDB's limits."""
    raw = raw_body(body, is_base64)
    try:
        document = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_int=Decimal, parse_constant=_reject_constant)
    except _NonFiniteNumber as exc:
        raise bad_request("malformed_json", str(exc)) from None
    except (ValueError, UnicodeDecodeError):
        raise bad_request("malformed_json", "the body is not valid JSON") from None
    except RecursionError:
        raise validation_error(f"data is nested deeper than {MAX_DEPTH} levels") from None
    try:
        data = PutItemBody.model_validate(document).data
    except ValidationError as exc:
        raise validation_error(describe_validation_error(exc)) from None
    return _checked(data, 1)


def validation_error(message: str) -> ApiError:
    return ApiError(422, "validation_error", message)


def describe_validation_error(exc: ValidationError) -> str:
    # Input values are left out on purpose: they may be large and are the client's own data.
    problems = []
    for error in exc.errors(include_input=False, include_url=False)[:5]:
        where = ".".join(str(part) for part in error.get("loc", ())) or "body"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(problems) or "invalid body"


def _checked(value: Any, depth: int) -> Any:
    if isinstance(value, dict):
        if depth > MAX_DEPTH:
            raise validation_error(f"data is nested deeper than {MAX_DEPTH} levels")
        return {_checked_key(key): _checked(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        if depth > MAX_DEPTH:
            raise validation_error(f"data is nested deeper than {MAX_DEPTH} levels")
        return [_checked(item, depth + 1) for item in value]
    if isinstance(value, Decimal):
        return _checked_number(value)
    if isinstance(value, str):
        return _checked_string(value)
    return value  # bool or None


def _checked_key(key: str) -> str:
    # A map key is a DynamoDB attribute name: "at least one character long" (DynamoDB developer
    # guide, "Supported data types and naming rules"). moto 5.2.5 even merges an empty key's value
    # into the parent map, leaving an item no later read or Scan can parse.
    if not key:
        raise validation_error("object keys must be at least one character long")
    return _checked_string(key)


def _checked_string(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates such as "\ud800" are valid JSON, not UTF-8
        raise validation_error("strings must be valid Unicode (no lone surrogates)") from None
    return value


def _checked_number(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise bad_request("malformed_json", "numbers must be finite")
    if value.is_zero():
        return Decimal(0)
    # Exact normalisation by hand: Decimal.normalize() would round to the context's precision.
    sign, digits, exponent = value.as_tuple()
    significant = "".join(map(str, digits)).lstrip("0")
    stripped = significant.rstrip("0")
    exponent = int(exponent) + len(significant) - len(stripped)
    if len(stripped) > MAX_DIGITS:
        raise validation_error(f"numbers may have at most {MAX_DIGITS} significant digits")
    normal = Decimal((sign, tuple(int(d) for d in stripped), exponent))
    if not MIN_EXPONENT <= normal.adjusted() <= MAX_EXPONENT:
        raise validation_error("number magnitude out of range (1E-130 to 9.99E+125)")
    return normal
