"""Random requests never produce a 500 and always answer with the JSON error shape."""

from __future__ import annotations

import json

from tests.functions.functional.conftest import http_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
bodies = st.one_of(
    st.none(),
    st.text(max_size=200),
    json_values.map(lambda value: json.dumps({"data": value})),
    st.dictionaries(st.text(max_size=8), json_values, max_size=3).map(json.dumps),
    st.dictionaries(st.text(max_size=8), json_values, max_size=3).map(lambda d: json.dumps({"data": d})),
)
paths = st.one_of(
    st.text(alphabet="abcAZ09._~-_!%/ é", min_size=1, max_size=140).map(lambda s: "/items/" + s),
    st.sampled_from(["/items", "/health", "/openapi.json", "/", "/items/", "/nope"]),
)
methods = st.sampled_from(["GET", "PUT", "DELETE", "POST", "PATCH", "HEAD", "OPTIONS"])
queries = st.dictionaries(st.sampled_from(["limit", "cursor", "consistent", "x"]), st.text(max_size=40), max_size=3)
headers = st.dictionaries(st.sampled_from(["if-match", "content-type", "x-other"]), st.text(max_size=30), max_size=2)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(method=methods, path=paths, body=bodies, query=queries, header=headers, b64=st.booleans())
def test_no_input_produces_a_500(api, method, path, body, query, header, b64):
    reply = api(http_event(method, path, body=body, query=query, headers=header, base64_encoded=b64))
    assert reply.status < 500 or reply.status == 503, reply.raw_body
    assert reply.status != 503  # moto never throttles: a 503 here would be a misclassified bug
    assert reply.headers["x-served-by-region"] == "eu-west-1"
    if reply.status >= 400:
        assert set(reply.json) == {"error", "message"}
        assert reply.headers["content-type"] == "application/json"
