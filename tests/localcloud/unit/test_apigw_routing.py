"""Route selection follows the documented HTTP API precedence (see localcloud.apigatewayv2.routing)."""

from __future__ import annotations

import pytest

from localcloud.apigatewayv2.model import Integration, Route
from localcloud.apigatewayv2.routing import RouteTable, match_route, split_route_key

INTEGRATION = Integration("int-1", integration_uri="arn:aws:lambda:eu-west-1:123456789012:function:api")

ROUTE_KEYS = [
    # The example of "Routing API requests" in the HTTP API developer guide.
    "GET /pets/dog/1",
    "GET /pets/dog/{id}",
    "GET /pets/{proxy+}",
    "ANY /{proxy+}",
    "$default",
    # More shapes: method vs ANY, nested variables, greedy prefixes, the root.
    "GET /",
    "GET /items",
    "GET /items/{id}",
    "PUT /items/{id}",
    "ANY /items/{id}",
    "ANY /items/special",
    "GET /items/{id}/tags/{tag}",
    "GET /files/{proxy+}",
    "GET /files/static/{proxy+}",
]
TABLE = RouteTable(Route(f"r{i}", key, INTEGRATION) for i, key in enumerate(ROUTE_KEYS))


@pytest.mark.parametrize(
    ("method", "path", "route_key", "params"),
    [
        # documented table
        ("GET", "/pets/dog/1", "GET /pets/dog/1", {}),
        ("GET", "/pets/dog/2", "GET /pets/dog/{id}", {"id": "2"}),
        ("GET", "/pets/cat/1", "GET /pets/{proxy+}", {"proxy": "cat/1"}),
        ("POST", "/test/5", "ANY /{proxy+}", {"proxy": "test/5"}),
        # exact beats variable beats greedy beats $default
        ("GET", "/items", "GET /items", {}),
        ("GET", "/items/7", "GET /items/{id}", {"id": "7"}),
        ("GET", "/items/7/tags/red", "GET /items/{id}/tags/{tag}", {"id": "7", "tag": "red"}),
        ("GET", "/items/7/other", "ANY /{proxy+}", {"proxy": "items/7/other"}),
        # a defined method beats ANY on the same resource; ANY takes the others
        ("PUT", "/items/7", "PUT /items/{id}", {"id": "7"}),
        ("PATCH", "/items/7", "ANY /items/{id}", {"id": "7"}),
        ("DELETE", "/items/7", "ANY /items/{id}", {"id": "7"}),
        # a static segment outranks the method
        ("GET", "/items/special", "ANY /items/special", {}),
        # the longest greedy prefix wins
        ("GET", "/files/static/css/site.css", "GET /files/static/{proxy+}", {"proxy": "css/site.css"}),
        ("GET", "/files/img/a.png", "GET /files/{proxy+}", {"proxy": "img/a.png"}),
        ("POST", "/files/img/a.png", "ANY /{proxy+}", {"proxy": "files/img/a.png"}),
        # greedy needs at least one segment after its prefix
        ("GET", "/pets", "ANY /{proxy+}", {"proxy": "pets"}),
        ("GET", "/", "GET /", {}),
        ("POST", "/", "$default", {}),
        # parameters are URL-decoded, matching works on decoded segments
        ("GET", "/items/a%20b", "GET /items/{id}", {"id": "a b"}),
        ("GET", "/items/a%2Fb", "GET /items/{id}", {"id": "a/b"}),
        ("GET", "/pets/%C3%A9t%C3%A9/x", "GET /pets/{proxy+}", {"proxy": "été/x"}),
        # methods are case-insensitive on input, paths are not
        ("get", "/items", "GET /items", {}),
        ("GET", "/Items", "ANY /{proxy+}", {"proxy": "Items"}),
    ],
)
def test_documented_precedence(method: str, path: str, route_key: str, params: dict[str, str]) -> None:
    match = TABLE.match(method, path)
    assert match is not None
    assert (match.route.route_key, match.path_parameters) == (route_key, params)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/items/"),  # a variable never matches an empty segment
        ("POST", "/items"),  # no ANY for /items and no catch-all
        ("GET", "/pets"),  # /pets/{proxy+} needs a child
        ("GET", "/"),
        ("GET", "/items/7/tags"),
    ],
)
def test_no_match_without_catch_all(method: str, path: str) -> None:
    routes = [Route("a", "GET /items/{id}", INTEGRATION), Route("b", "GET /pets/{proxy+}", INTEGRATION),
              Route("c", "GET /items/{id}/tags/{tag}", INTEGRATION)]
    assert match_route(routes, method, path) is None


def test_default_route_catches_everything_else() -> None:
    routes = [Route("a", "GET /health", INTEGRATION), Route("d", "$default", INTEGRATION)]
    assert match_route(routes, "GET", "/health").route.route_key == "GET /health"
    for method, path in [("POST", "/health"), ("GET", "/nope"), ("DELETE", "/"), ("GET", "/health/")]:
        match = match_route(routes, method, path)
        assert match is not None and match.route.route_key == "$default" and match.path_parameters == {}


def test_route_order_does_not_matter() -> None:
    keys = ["ANY /{proxy+}", "GET /pets/{proxy+}", "GET /pets/dog/{id}", "GET /pets/dog/1"]
    for ordering in (keys, list(reversed(keys))):
        table = RouteTable(Route(key, key, INTEGRATION) for key in ordering)
        assert table.match("GET", "/pets/dog/1").route.route_key == "GET /pets/dog/1"
        assert table.match("GET", "/pets/dog/9").route.route_key == "GET /pets/dog/{id}"
        assert table.match("GET", "/pets/cat").route.route_key == "GET /pets/{proxy+}"


def test_route_key_parsing() -> None:
    assert split_route_key("get /pets/{id}") == ("GET", "/pets/{id}")
    for bad in ("$default", "GET", "GET pets", ""):
        with pytest.raises(ValueError):
            split_route_key(bad)
    with pytest.raises(ValueError, match="greedy"):
        RouteTable([Route("x", "GET /a/{proxy+}/b", INTEGRATION)])


def test_integration_function_arn_normalises_both_uri_forms() -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:api"
    wrapped = f"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{arn}/invocations"
    assert Integration("a", integration_uri=wrapped).function_arn == arn
    assert Integration("b", integration_uri=arn).function_arn == arn
    alias = f"{arn}:live"
    assert Integration("c", integration_uri=wrapped.replace(arn, alias)).function_arn == alias
