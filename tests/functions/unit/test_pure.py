"""Pure pieces: id rule, cursor codec, If-Match, number checks, dedup id, event-type derivation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api import codec
from api.errors import ApiError
from common.items import dumps, is_valid_id, iso_millis
from stream.notify import CREATED, DELETED_EVENT, UPDATED, MalformedRecord, deduplication_id, event_type

ID_ALPHABET = "ABCXYZabcxyz0189._~-"
valid_ids = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("Aa0z9"),
    st.text(alphabet=ID_ALPHABET, max_size=127),
)


@pytest.mark.parametrize("value", ["a", "A", "0", "a._~-", "x" * 128, "9-_"])
def test_valid_ids(value):
    assert is_valid_id(value)


@pytest.mark.parametrize("value", ["", "__health__", "_a", "-a", ".a", "~a", "x" * 129, "a/b", "a b", "é", "a\n", None, 5, "a%20"])
def test_invalid_ids(value):
    assert not is_valid_id(value)


@given(valid_ids)
def test_cursor_round_trip(item_id):
    cursor = codec.encode_cursor(item_id)
    assert codec.decode_cursor(cursor) == item_id
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor


@given(st.text(max_size=300))
def test_decode_cursor_only_raises_bad_cursor(text):
    try:
        codec.decode_cursor(text)
    except ApiError as error:
        assert (error.status, error.code) == (400, "bad_cursor")


@given(st.binary(max_size=300))
def test_decode_cursor_binary(raw):
    import base64

    try:
        item_id = codec.decode_cursor(base64.urlsafe_b64encode(raw).decode().rstrip("="))
    except ApiError as error:
        assert error.code == "bad_cursor"
    else:
        assert raw == ('{"v":1,"id":"%s"}' % item_id).encode()


@pytest.mark.parametrize("value, expected", [(None, None), ("3", 3), ('"3"', 3), (' "12" ', 12), ('W/"4"', 4), ("007", 7)])
def test_if_match(value, expected):
    assert codec.parse_if_match(value) == expected


@pytest.mark.parametrize("value", ["", "*", "abc", '"3', '3"', "1.0", "-1", "1" * 19, '"a"'])
def test_bad_if_match(value):
    with pytest.raises(ApiError) as raised:
        codec.parse_if_match(value)
    assert raised.value.code == "bad_request"


@pytest.mark.parametrize("value, expected", [(None, 25), ("1", 1), ("100", 100), ("025", 25)])
def test_limit(value, expected):
    assert codec.parse_limit(value) == expected


@pytest.mark.parametrize("value", ["0", "101", "", "abc", "1.5", "-3", "1000"])
def test_bad_limit(value):
    with pytest.raises(ApiError) as raised:
        codec.parse_limit(value)
    assert raised.value.code == "bad_limit"


@pytest.mark.parametrize(
    "number, ok",
    [
        ("1e125", True),
        ("9.9999999999999999999999999999999999999e125", True),
        ("1e126", False),
        ("1e-130", True),
        ("1e-131", False),
        ("12345678901234567890123456789012345678", True),
        ("123456789012345678901234567890123456789", False),
        ("1000000000000000000000000000000000000000000", True),  # trailing zeros are not significant
        ("0.000", True),
    ],
)
def test_number_limits(number, ok):
    body = '{"data": {"n": %s}}' % number
    if ok:
        assert codec.parse_put_body(body, False)["n"] == Decimal(number)
    else:
        with pytest.raises(ApiError) as raised:
            codec.parse_put_body(body, False)
        assert raised.value.status == 422


def test_dumps_keeps_ints_and_exact_decimals():
    assert dumps({"a": Decimal("1E+2"), "b": Decimal("0.1"), "c": [Decimal("-2.50")], "d": None}) == '{"a":100,"b":0.1,"c":[-2.50],"d":null}'


def test_iso_millis():
    from datetime import datetime, timezone

    assert iso_millis(datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)) == "2024-01-02T03:04:05.678Z"


def test_dedup_id():
    first = deduplication_id("a", 1, "2024-01-01T00:00:00.000Z")
    assert first == deduplication_id("a", 1, "2024-01-01T00:00:00.000Z")
    assert len(first) == 64 and int(first, 16) >= 0
    assert first != deduplication_id("a", 1, "2024-01-01T00:00:00.001Z")  # recreated item
    assert first != deduplication_id("a", 2, "2024-01-01T00:00:00.000Z")
    assert deduplication_id("a1", 2, "t") != deduplication_id("a", 12, "t")
    assert len(deduplication_id("x" * 128, 10**30, "2024-01-01T00:00:00.000Z")) <= 128


@pytest.mark.parametrize(
    "name, new, old, expected",
    [
        ("INSERT", {"id": "a"}, {}, CREATED),
        ("MODIFY", {"id": "a"}, {"id": "a"}, UPDATED),
        ("MODIFY", {"id": "a"}, {"id": "a", "deleted": True}, CREATED),
        ("MODIFY", {"id": "a", "deleted": True}, {"id": "a"}, DELETED_EVENT),
        ("REMOVE", {}, {"id": "a"}, None),
    ],
)
def test_event_type(name, new, old, expected):
    assert event_type(name, new, old) == expected


def test_unknown_event_name():
    with pytest.raises(MalformedRecord):
        event_type("TRUNCATE", {}, {})
