"""The global entry honours the console's client-location cookie like X-Client-Location: the header
wins, and a cookie that names no AWS region is ignored (the home region serves)."""

from __future__ import annotations

import http.client
import json
from typing import Iterator

import pytest

from localcloud.route53.entry import LOCATION_COOKIE, GlobalEntry, cookie_location

HOME = "eu-west-1"


@pytest.mark.parametrize("headers, expected", [
    ([f"{LOCATION_COOKIE}=eu-west-2"], "eu-west-2"),
    ([f"a=1; {LOCATION_COOKIE}=ap-northeast-1; b=2"], "ap-northeast-1"),
    ([f'{LOCATION_COOKIE}="us-east-2"'], "us-east-2"),
    ([f"  {LOCATION_COOKIE} = sa-east-1 "], "sa-east-1"),
    (["other=1", f"{LOCATION_COOKIE}=us-west-2"], "us-west-2"),
    ([f"{LOCATION_COOKIE}=eu-west-3; {LOCATION_COOKIE}=us-east-1"], "eu-west-3"),  # the most specific path first
    ([f"x{LOCATION_COOKIE}=eu-west-2", f"{LOCATION_COOKIE}x=eu-west-2"], None),
    ([f"{LOCATION_COOKIE}=mars-north-1"], None),
    ([f"{LOCATION_COOKIE}=eu-west-2%00"], None),
    ([f"{LOCATION_COOKIE}"], None),
    ([f"{LOCATION_COOKIE}="], None),
    (['bad"cookie; =; ;;', f"{LOCATION_COOKIE}=ca-central-1"], "ca-central-1"),
    ([], None),
])
def test_cookie_location(headers: list[str], expected: str | None):
    assert cookie_location(headers) == expected


@pytest.fixture
def entry() -> Iterator[tuple[GlobalEntry, list[str]]]:
    """An entry whose Route 53 has no answer: its 503 names the location the request was routed from."""
    asked: list[str] = []

    def resolve(host: str, location: str) -> None:
        asked.append(location)
        return None

    proxy = GlobalEntry(resolve=resolve, upstream=lambda value: None, default_location=HOME)
    proxy.start()
    yield proxy, asked
    proxy.stop()


def get(proxy: GlobalEntry, headers: dict[str, str]) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
    try:
        conn.request("GET", "/health", headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.parametrize("headers, location", [
    ({}, HOME),
    ({"Cookie": f"{LOCATION_COOKIE}=ap-southeast-2"}, "ap-southeast-2"),
    ({"Cookie": f"{LOCATION_COOKIE}=ap-southeast-2", "X-Client-Location": "us-west-1"}, "us-west-1"),
    ({"Cookie": f"{LOCATION_COOKIE}=nowhere-1"}, HOME),
])
def test_the_entry_routes_from_the_cookie_unless_the_header_says_otherwise(entry, headers, location):
    proxy, asked = entry

    status, body = get(proxy, headers)

    assert status == 503 and body["message"].endswith(f"from {location}")
    assert asked == [location]


def test_an_invalid_header_is_refused_even_with_a_valid_cookie(entry):
    proxy, asked = entry

    status, body = get(proxy, {"Cookie": f"{LOCATION_COOKIE}=eu-west-2", "X-Client-Location": "nowhere-1"})

    assert status == 400 and "'nowhere-1' is not an AWS region code" in body["message"]
    assert asked == []
