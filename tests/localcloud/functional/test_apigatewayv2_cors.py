"""An HTTP API's CORS configuration, from the template (or CreateApi / UpdateApi) to the browser.

The SAM transform writes an HttpApi's CorsConfiguration into the Body as x-amazon-apigateway-cors;
the patch imports it, the wiring reads it back, and a real regional API server on a free loopback
port answers as "Configure CORS for HTTP APIs in API Gateway" says
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html). The function is a
recorder in-process: these tests are about what API Gateway does around it.
"""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any, Iterator

import pytest

from localcloud.apigatewayv2 import RegionalApiServer
from localcloud.apigatewayv2.wiring import ApiCatalog
from localcloud.invocation import InvokeOutcome

from tests.support.cors import cors_of

from .conftest import ACCOUNT, unique

REGION = "eu-west-1"
SITE = "http://localhost:8080"
FOREIGN = "https://evil.example"
EXPOSED = ["x-served-by-region", "x-release", "etag", "x-item-version", "x-request-id"]


class Recorder:
    """The function: records each event, answers 200 and claims a CORS header API Gateway must drop."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def invoke(self, function_arn: str, event: dict, timeout_s: float) -> InvokeOutcome:
        with self._lock:
            self.events.append(event)
        result = {"statusCode": 200, "headers": {"content-type": "application/json", "x-release": "v1",
                                                  "access-control-allow-origin": "*"},
                  "body": json.dumps({"route": event["routeKey"]})}
        return InvokeOutcome(json.dumps(result).encode())


@pytest.fixture
def api_server(aws_endpoint) -> Iterator[tuple[RegionalApiServer, Recorder]]:
    recorder = Recorder()
    server = RegionalApiServer(REGION, catalog=ApiCatalog(ACCOUNT), invoker=recorder)
    server.start()
    try:
        yield server, recorder
    finally:
        server.stop()


def call(server: RegionalApiServer, api_id: str, method: str, path: str,
         **headers: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        # The execute-api host picks this API among the many the session's tests deploy.
        conn.request(method, path, headers={"Host": f"{api_id}.execute-api.{REGION}.amazonaws.com", **headers})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def sam_template(cors: dict[str, Any] | None) -> dict[str, Any]:
    api_properties = {"CorsConfiguration": cors} if cors else {}
    return {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "HttpApi": {"Type": "AWS::Serverless::HttpApi", "Properties": api_properties},
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": {
                "Runtime": "python3.13", "Handler": "index.handler",
                "InlineCode": "def handler(event, context):\n    return {}\n",
                "Events": {"List": {"Type": "HttpApi", "Properties": {
                    "ApiId": {"Ref": "HttpApi"}, "Method": "GET", "Path": "/items"}}}}},
        },
        "Outputs": {"ApiId": {"Value": {"Ref": "HttpApi"}}},
    }


CORS = {"AllowOrigins": [SITE, "http://127.0.0.1:8080"], "AllowMethods": ["GET"], "AllowHeaders": [],
        "ExposeHeaders": EXPOSED, "MaxAge": 600}


def test_sam_cors_configuration_reaches_the_api(aws, stacks):
    name = unique("cors")
    stacks(REGION).create(name, sam_template(CORS))
    api_id = stacks(REGION).outputs(name)["ApiId"]
    described = aws("apigatewayv2", REGION).get_api(ApiId=api_id)["CorsConfiguration"]
    assert described == {"AllowOrigins": [SITE, "http://127.0.0.1:8080"], "AllowMethods": ["GET"],
                         "ExposeHeaders": EXPOSED, "MaxAge": 600}


def test_cors_chosen_by_a_condition_from_a_list_parameter(aws, stacks):
    """The shape regional/api.yaml uses: CorsConfiguration under !If, origins from a CommaDelimitedList."""
    template = sam_template(None)
    template["Parameters"] = {"SiteOrigins": {"Type": "CommaDelimitedList"}}
    template["Conditions"] = {"HasCors": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "SiteOrigins"}]}, ""]}]}}
    template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"] = {"Fn::If": [
        "HasCors", {"AllowOrigins": {"Ref": "SiteOrigins"}, "AllowMethods": ["GET"], "MaxAge": 600},
        {"Ref": "AWS::NoValue"}]}
    apigw = aws("apigatewayv2", REGION)

    name = unique("corsif")
    stacks(REGION).create(name, template, SiteOrigins=f"{SITE},http://127.0.0.1:8080")
    api = apigw.get_api(ApiId=stacks(REGION).outputs(name)["ApiId"])
    assert api["CorsConfiguration"] == {"AllowOrigins": [SITE, "http://127.0.0.1:8080"], "AllowMethods": ["GET"],
                                        "MaxAge": 600}

    name = unique("corsif")
    stacks(REGION).create(name, template, SiteOrigins="")
    assert "CorsConfiguration" not in apigw.get_api(ApiId=stacks(REGION).outputs(name)["ApiId"])


def test_browser_calls_through_a_regional_api(stacks, api_server):
    server, fn = api_server
    name = unique("cors")
    stacks(REGION).create(name, sam_template(CORS))
    api_id = stacks(REGION).outputs(name)["ApiId"]

    status, headers, body = call(server, api_id, "GET", "/items", Origin=SITE)
    assert (status, json.loads(body)) == (200, {"route": "GET /items"})
    assert cors_of(headers) == {"access-control-allow-origin": SITE,
                                "access-control-expose-headers": ",".join(EXPOSED)}
    assert headers["vary"] == "Origin" and headers["x-release"] == "v1"

    status, headers, _ = call(server, api_id, "GET", "/items", Origin=FOREIGN)
    assert status == 200 and cors_of(headers) == {}  # the function's "*" is not passed on

    status, headers, _ = call(server, api_id, "GET", "/items")  # curl, boto3: no Origin, no CORS
    assert status == 200 and cors_of(headers) == {}

    fn.events.clear()
    status, headers, body = call(server, api_id, "OPTIONS", "/items", Origin=SITE,
                                 **{"Access-Control-Request-Method": "GET"})
    assert (status, body) == (204, b"")
    assert cors_of(headers) == {"access-control-allow-origin": SITE, "access-control-allow-methods": "GET",
                                "access-control-max-age": "600"}
    status, headers, _ = call(server, api_id, "OPTIONS", "/items", Origin=FOREIGN,
                              **{"Access-Control-Request-Method": "GET"})
    assert status == 204 and cors_of(headers) == {}
    assert fn.events == []  # API Gateway answered both preflights itself


def test_without_cors_configuration_nothing_changes(stacks, api_server):
    server, fn = api_server
    name = unique("nocors")
    stacks(REGION).create(name, sam_template(None))
    api_id = stacks(REGION).outputs(name)["ApiId"]

    status, headers, _ = call(server, api_id, "GET", "/items", Origin=SITE)
    assert status == 200 and cors_of(headers) == {"access-control-allow-origin": "*"}  # the function's own
    assert "vary" not in headers
    status, headers, body = call(server, api_id, "OPTIONS", "/items", Origin=SITE,
                                 **{"Access-Control-Request-Method": "GET"})
    assert (status, json.loads(body)) == (404, {"message": "Not Found"}) and cors_of(headers) == {}


def test_create_update_and_delete_cors_configuration_through_the_api(aws, api_server):
    server, fn = api_server
    apigw = aws("apigatewayv2", REGION)
    api_id = apigw.create_api(Name=unique("corsapi"), ProtocolType="HTTP",
                              CorsConfiguration={"AllowOrigins": ["https://*"], "AllowCredentials": True})["ApiId"]
    target = apigw.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", PayloadFormatVersion="2.0",
        IntegrationUri=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f")["IntegrationId"]
    apigw.create_route(ApiId=api_id, RouteKey="$default", Target=f"integrations/{target}")
    apigw.create_stage(ApiId=api_id, StageName="$default")

    status, headers, _ = call(server, api_id, "GET", "/anything", Origin="https://app.example")
    assert status == 200 and cors_of(headers) == {"access-control-allow-origin": "https://app.example",
                                                  "access-control-allow-credentials": "true"}
    # $default takes every method, OPTIONS too: the preflight reaches the function (as on AWS).
    status, headers, _ = call(server, api_id, "OPTIONS", "/anything", Origin="https://app.example",
                              **{"Access-Control-Request-Method": "GET"})
    assert status == 200 and [e["routeKey"] for e in fn.events][-1] == "$default"
    assert headers["access-control-allow-origin"] == "https://app.example"

    apigw.update_api(ApiId=api_id, CorsConfiguration={"AllowOrigins": [SITE]})
    status, headers, _ = call(server, api_id, "GET", "/anything", Origin="https://app.example")
    assert status == 200 and cors_of(headers) == {}
    assert call(server, api_id, "GET", "/anything", Origin=SITE)[1]["access-control-allow-origin"] == SITE

    apigw.delete_cors_configuration(ApiId=api_id)
    status, headers, _ = call(server, api_id, "GET", "/anything", Origin=SITE)
    assert status == 200 and cors_of(headers) == {"access-control-allow-origin": "*"}
