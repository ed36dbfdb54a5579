"""localcloud.apigatewayv2.cors and the gateway's use of it: an HTTP API's CORS configuration.

"Configure CORS for HTTP APIs in API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
"""

from __future__ import annotations

import json

import pytest

from localcloud.apigatewayv2 import ApiGateway, CorsConfig, DeployedApi, HttpRequest, Integration, Route
from localcloud.apigatewayv2.cors import apply, from_wire, is_preflight
from localcloud.apigatewayv2.response import HttpResponse
from localcloud.invocation import InvokeOutcome

SITE = "https://site.example"
CONFIG = CorsConfig(allow_origins=(SITE, "http://localhost:8080"), allow_methods=("GET",),
                    expose_headers=("x-served-by-region", "etag"), max_age=600)
ARN = "arn:aws:lambda:eu-west-1:123456789012:function:api"
FN = Integration("int", integration_uri=ARN)


def request(method: str = "GET", path: str = "/items", **headers: str) -> HttpRequest:
    return HttpRequest(method, path, [(k.replace("_", "-"), v) for k, v in headers.items()])


def header(response: HttpResponse, name: str) -> str | None:
    return response.header(name)


def cors_headers(response: HttpResponse) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers if k.lower().startswith("access-control-")}


# --- the configuration as stored ---------------------------------------------------------------


def test_from_wire_reads_the_camel_case_shape_sam_writes():
    config = from_wire({"allowOrigins": [SITE], "allowMethods": ["get", "PUT"], "exposeHeaders": ["etag"],
                        "maxAge": 600, "allowCredentials": True})
    assert config == CorsConfig((SITE,), ("GET", "PUT"), (), ("etag",), 600, True)


def test_from_wire_takes_template_parameters_as_strings_and_survives_junk():
    assert from_wire({"allowOrigins": SITE, "maxAge": "600", "allowCredentials": "true"}) == CorsConfig(
        (SITE,), max_age=600, allow_credentials=True)
    assert from_wire({"allowOrigins": [SITE], "maxAge": "soon", "allowCredentials": "yes"}) == CorsConfig((SITE,))


@pytest.mark.parametrize("value", [None, {}, "not a dict", ["*"]])
def test_no_configuration_is_none(value):
    assert from_wire(value) is None


@pytest.mark.parametrize(("origins", "origin", "expected"), [
    ((SITE,), SITE, SITE),
    ((SITE,), "https://SITE.example", "https://SITE.example"),
    ((SITE,), "https://site.example.evil", None),
    ((SITE,), "http://site.example", None),
    ((SITE + "/",), SITE, None),  # a trailing slash is not the origin, as on AWS
    (("*",), "https://anything.example", "*"),
    (("https://*",), "https://anything.example", "https://anything.example"),
    (("https://*",), "http://anything.example", None),
    (("http://*",), "http://localhost:3000", "http://localhost:3000"),
    ((), SITE, None),
    ((SITE,), None, None),
    ((SITE,), "", None),
])
def test_allowed_origin(origins, origin, expected):
    assert CorsConfig(allow_origins=origins).allowed_origin(origin) == expected


def test_a_wildcard_with_credentials_echoes_the_origin():
    assert CorsConfig(("*",), allow_credentials=True).allowed_origin(SITE) == SITE


# --- the decision per request -------------------------------------------------------------------


def test_preflight_needs_options_origin_and_requested_method():
    assert is_preflight(request("OPTIONS", origin=SITE, access_control_request_method="GET"))
    assert not is_preflight(request("OPTIONS", origin=SITE))
    assert not is_preflight(request("OPTIONS", access_control_request_method="GET"))
    assert not is_preflight(request("GET", origin=SITE, access_control_request_method="GET"))


def test_allowed_origin_on_an_ordinary_response():
    upstream = HttpResponse(200, [("Content-Type", "application/json"), ("x-served-by-region", "eu-west-1")], b"{}")
    answered = apply(CONFIG, request(origin=SITE), upstream)
    assert cors_headers(answered) == {"access-control-allow-origin": SITE,
                                      "access-control-expose-headers": "x-served-by-region,etag"}
    assert header(answered, "Vary") == "Origin"
    assert (answered.status, answered.body, header(answered, "x-served-by-region")) == (200, b"{}", "eu-west-1")


def test_foreign_origin_gets_no_cors_headers():
    answered = apply(CONFIG, request(origin="https://evil.example"), HttpResponse(200, [], b"{}"))
    assert cors_headers(answered) == {}
    assert header(answered, "Vary") == "Origin"


def test_the_integrations_cors_headers_are_ignored():
    upstream = HttpResponse(200, [("Access-Control-Allow-Origin", "*"), ("access-control-allow-methods", "DELETE")])
    assert cors_headers(apply(CONFIG, request(origin="https://evil.example"), upstream)) == {}
    assert cors_headers(apply(CONFIG, request(), upstream)) == {}
    assert cors_headers(apply(CONFIG, request(origin=SITE), upstream))["access-control-allow-origin"] == SITE


def test_preflight_headers_and_credentials():
    config = CorsConfig((SITE,), ("GET", "PUT"), ("content-type", "if-match"), ("etag",), 0, True)
    answered = apply(config, request("OPTIONS", origin=SITE, access_control_request_method="PUT"), HttpResponse(204))
    assert cors_headers(answered) == {
        "access-control-allow-origin": SITE, "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET,PUT", "access-control-allow-headers": "content-type,if-match",
        "access-control-max-age": "0",
    }


def test_empty_lists_send_no_header_and_a_wildcard_varies_on_nothing():
    answered = apply(CorsConfig(("*",)), request("OPTIONS", origin=SITE, access_control_request_method="GET"),
                     HttpResponse(204))
    assert cors_headers(answered) == {"access-control-allow-origin": "*"}
    assert header(answered, "Vary") is None


def test_vary_joins_what_the_integration_said():
    upstream = HttpResponse(200, [("Vary", "Accept-Encoding")])
    assert apply(CONFIG, request(origin=SITE), upstream).header_values("Vary") == ["Accept-Encoding, Origin"]
    upstream = HttpResponse(200, [("vary", "origin")])
    assert apply(CONFIG, request(origin=SITE), upstream).header_values("Vary") == ["origin"]


# --- the gateway --------------------------------------------------------------------------------


class Catalog:
    def __init__(self, api: DeployedApi) -> None:
        self.api = api

    def lookup(self, region: str, host_header: str | None) -> DeployedApi | None:
        return self.api


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict] = []

    def invoke(self, function_arn: str, event: dict, timeout_s: float) -> InvokeOutcome:
        self.events.append(event)
        result = {"statusCode": 200, "headers": {"access-control-allow-origin": "*", "content-type": "application/json"},
                  "body": json.dumps({"route": event["routeKey"]})}
        return InvokeOutcome(json.dumps(result).encode())


def gateway(routes: list[Route], cors: CorsConfig | None) -> tuple[ApiGateway, Recorder]:
    recorder = Recorder()
    api = DeployedApi("a1b2c3", "api", "eu-west-1", tuple(routes), cors=cors)
    return ApiGateway("eu-west-1", Catalog(api), recorder), recorder


PREFLIGHT = {"origin": SITE, "access_control_request_method": "GET"}


def test_gateway_answers_a_preflight_no_route_takes_without_invoking():
    gw, fn = gateway([Route("r", "GET /items", FN)], CONFIG)
    answered = gw.handle(request("OPTIONS", **PREFLIGHT))
    assert answered is not None and answered.status == 204 and answered.body == b""
    assert cors_headers(answered) == {"access-control-allow-origin": SITE, "access-control-allow-methods": "GET",
                                      "access-control-max-age": "600"}
    assert fn.events == []


def test_gateway_preflight_from_a_foreign_origin_has_no_cors_headers():
    gw, fn = gateway([Route("r", "GET /items", FN)], CONFIG)
    answered = gw.handle(request("OPTIONS", origin="https://evil.example", access_control_request_method="GET"))
    assert answered is not None and answered.status == 204 and cors_headers(answered) == {}
    assert fn.events == []


@pytest.mark.parametrize("route_key", ["$default", "ANY /items", "OPTIONS /items"])
def test_a_route_that_takes_options_takes_the_preflight(route_key):
    gw, fn = gateway([Route("r", "GET /items", FN), Route("o", route_key, FN)], CONFIG)
    answered = gw.handle(request("OPTIONS", **PREFLIGHT))
    assert answered is not None and answered.status == 200
    assert [e["routeKey"] for e in fn.events] == [route_key]
    assert cors_headers(answered)["access-control-allow-origin"] == SITE  # the function's "*" is ignored


def test_gateway_decorates_the_functions_response_and_its_own_errors():
    gw, _ = gateway([Route("r", "GET /items", FN)], CONFIG)
    ok = gw.handle(request(origin=SITE))
    assert ok is not None and ok.status == 200
    assert cors_headers(ok) == {"access-control-allow-origin": SITE,
                                "access-control-expose-headers": "x-served-by-region,etag"}
    missing = gw.handle(request(path="/nowhere", origin=SITE))
    assert missing is not None and missing.status == 404
    assert cors_headers(missing)["access-control-allow-origin"] == SITE
    plain_options = gw.handle(request("OPTIONS", origin=SITE))  # no Access-Control-Request-Method
    assert plain_options is not None and plain_options.status == 404


def test_without_cors_nothing_changes():
    gw, fn = gateway([Route("r", "GET /items", FN), Route("d", "$default", FN)], None)
    preflight = gw.handle(request("OPTIONS", **PREFLIGHT))
    assert preflight is not None and preflight.status == 200
    assert [e["routeKey"] for e in fn.events] == ["$default"]
    assert cors_headers(preflight) == {"access-control-allow-origin": "*"}  # the function's own, untouched
    assert preflight.header("Vary") is None
    gw, fn = gateway([Route("r", "GET /items", FN)], None)
    unrouted = gw.handle(request("OPTIONS", **PREFLIGHT))
    assert unrouted is not None and unrouted.status == 404 and fn.events == []
