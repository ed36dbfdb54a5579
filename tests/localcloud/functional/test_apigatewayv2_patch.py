"""localcloud.apigatewayv2.patch: HTTP APIs declared in templates become real API Gateway v2 state.

Plain moto 5.2.5 has no CloudFormation model for AWS::ApiGatewayV2::* and silently creates nothing
(../shared/design.md, "measured gaps"), so get_routes / get_stages would find no API at all.
Body import follows "Working with OpenAPI definitions for HTTP APIs" (API Gateway Developer Guide):
x-amazon-apigateway-integration and x-amazon-apigateway-any-method; "$default" is the catch-all route.
"""

from __future__ import annotations

import copy
from typing import Any

from localcloud.apigatewayv2.patch import REGIONAL_ZONE_IDS

from .conftest import ACCOUNT, unique

REGION = "eu-west-1"
FUNCTION_URI = (f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f/invocations")
INTEGRATION = {"type": "aws_proxy", "httpMethod": "POST", "uri": FUNCTION_URI, "payloadFormatVersion": "2.0"}
BODY = {
    "openapi": "3.0.1",
    "info": {"title": "items", "version": "1"},
    "paths": {
        "/items/{id}": {"get": {"x-amazon-apigateway-integration": INTEGRATION}},
        "$default": {"x-amazon-apigateway-any-method": {"x-amazon-apigateway-integration": INTEGRATION}},
    },
}


def api_template(body: dict[str, Any], domain: str) -> dict[str, Any]:
    return {
        "Resources": {
            "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {
                "Body": body, "CorsConfiguration": {"AllowOrigins": ["https://app.example.com"],
                                                    "AllowMethods": ["GET"], "MaxAge": 600}}},
            "Stage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {
                "ApiId": {"Ref": "Api"}, "StageName": "$default", "AutoDeploy": True,
                "DefaultRouteSettings": {"ThrottlingBurstLimit": 20, "ThrottlingRateLimit": 10}}},
            "Domain": {"Type": "AWS::ApiGatewayV2::DomainName", "Properties": {
                "DomainName": domain,
                "DomainNameConfigurations": [{
                    "CertificateArn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/abc",
                    "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}]}},
            "Mapping": {"Type": "AWS::ApiGatewayV2::ApiMapping", "DependsOn": "Stage", "Properties": {
                "ApiId": {"Ref": "Api"}, "DomainName": {"Ref": "Domain"}, "Stage": "$default"}},
        },
        "Outputs": {
            "ApiId": {"Value": {"Ref": "Api"}},
            "ApiEndpoint": {"Value": {"Fn::GetAtt": ["Api", "ApiEndpoint"]}},
            "RegionalDomainName": {"Value": {"Fn::GetAtt": ["Domain", "RegionalDomainName"]}},
            "RegionalHostedZoneId": {"Value": {"Fn::GetAtt": ["Domain", "RegionalHostedZoneId"]}},
        },
    }


def routes_by_key(apigw: Any, api_id: str) -> dict[str, dict[str, Any]]:
    return {route["RouteKey"]: route for route in apigw.get_routes(ApiId=api_id)["Items"]}


def integration_of(apigw: Any, api_id: str, route: dict[str, Any]) -> dict[str, Any]:
    assert route["Target"].startswith("integrations/")
    return apigw.get_integration(ApiId=api_id, IntegrationId=route["Target"].split("/", 1)[1])


def test_api_body_becomes_routes_integrations_and_stage(aws, stacks):
    name, domain = unique("httpapi"), f"{unique('api')}.example.com"
    assert stacks(REGION).create(name, api_template(BODY, domain))["StackStatus"] == "CREATE_COMPLETE"
    outputs = stacks(REGION).outputs(name)
    api_id = outputs["ApiId"]
    apigw = aws("apigatewayv2", REGION)

    api = apigw.get_api(ApiId=api_id)
    assert api["Name"] == "items"  # the Body's info.title
    assert api["CorsConfiguration"] == {"AllowOrigins": ["https://app.example.com"], "AllowMethods": ["GET"],
                                        "MaxAge": 600}
    assert outputs["ApiEndpoint"] == f"https://{api_id}.execute-api.{REGION}.amazonaws.com"

    routes = routes_by_key(apigw, api_id)
    assert set(routes) == {"GET /items/{id}", "$default"}
    for route in routes.values():
        integration = integration_of(apigw, api_id, route)
        assert integration["IntegrationUri"] == FUNCTION_URI
        assert integration["PayloadFormatVersion"] == "2.0"
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert integration["IntegrationMethod"] == "POST"

    stages = {s["StageName"]: s for s in apigw.get_stages(ApiId=api_id)["Items"]}
    assert set(stages) == {"$default"}
    settings = stages["$default"]["DefaultRouteSettings"]
    assert settings["ThrottlingBurstLimit"] == 20
    assert settings["ThrottlingRateLimit"] == 10


def test_domain_name_and_api_mapping(aws, stacks):
    name, domain = unique("domain"), f"{unique('api')}.example.com"
    stacks(REGION).create(name, api_template(BODY, domain))
    outputs = stacks(REGION).outputs(name)
    apigw = aws("apigatewayv2", REGION)

    described = apigw.get_domain_name(DomainName=domain)
    assert described["DomainName"] == domain
    assert described["DomainNameConfigurations"][0]["EndpointType"] == "REGIONAL"
    mappings = apigw.get_api_mappings(DomainName=domain)["Items"]
    assert [(m["ApiId"], m["Stage"]) for m in mappings] == [(outputs["ApiId"], "$default")]
    assert outputs["RegionalDomainName"].endswith(f".execute-api.{REGION}.amazonaws.com")
    assert outputs["RegionalHostedZoneId"] == REGIONAL_ZONE_IDS[REGION] == "ZLY8HYME6SFDD"


def test_body_update_keeps_the_api_and_adds_the_route(aws, stacks):
    name, domain = unique("apiupd"), f"{unique('api')}.example.com"
    stacks(REGION).create(name, api_template(BODY, domain))
    api_id = stacks(REGION).outputs(name)["ApiId"]

    body = copy.deepcopy(BODY)
    body["paths"]["/items"] = {"post": {"x-amazon-apigateway-integration": INTEGRATION}}
    assert stacks(REGION).update(name, api_template(body, domain))["StackStatus"] == "UPDATE_COMPLETE"

    assert stacks(REGION).outputs(name)["ApiId"] == api_id
    assert stacks(REGION).physical_id(name, "Api") == api_id
    apigw = aws("apigatewayv2", REGION)
    routes = routes_by_key(apigw, api_id)
    assert set(routes) == {"GET /items/{id}", "$default", "POST /items"}
    assert integration_of(apigw, api_id, routes["POST /items"])["IntegrationUri"] == FUNCTION_URI


def test_deleting_the_stack_deletes_the_api(aws, stacks):
    name, domain = unique("apidel"), f"{unique('api')}.example.com"
    stacks(REGION).create(name, api_template(BODY, domain))
    api_id = stacks(REGION).outputs(name)["ApiId"]
    assert stacks(REGION).delete(name) == "DELETE_COMPLETE"
    apigw = aws("apigatewayv2", REGION)
    assert api_id not in {api["ApiId"] for api in apigw.get_apis()["Items"]}
    assert domain not in {d["DomainName"] for d in apigw.get_domain_names()["Items"]}


def test_sam_http_api_events_become_routes_to_the_function(aws, stacks):
    """The shape regional/api.yaml uses: AWS::Serverless::HttpApi plus HttpApi events on a function."""
    name = unique("samapi")
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "HttpApi": {"Type": "AWS::Serverless::HttpApi", "Properties": {
                "DefaultRouteSettings": {"ThrottlingBurstLimit": 7, "ThrottlingRateLimit": 3}}},
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": {
                "Runtime": "python3.13", "Handler": "index.handler",
                "InlineCode": "def handler(event, context):\n    return {}\n",
                "Events": {
                    "GetItem": {"Type": "HttpApi", "Properties": {
                        "ApiId": {"Ref": "HttpApi"}, "Method": "GET", "Path": "/items/{id}"}},
                    "CatchAll": {"Type": "HttpApi", "Properties": {
                        "ApiId": {"Ref": "HttpApi"}, "Method": "ANY", "Path": "$default"}}}}},
        },
        "Outputs": {"ApiId": {"Value": {"Ref": "HttpApi"}}, "FnArn": {"Value": {"Fn::GetAtt": ["Fn", "Arn"]}}},
    }
    assert stacks(REGION).create(name, template)["StackStatus"] == "CREATE_COMPLETE"
    outputs = stacks(REGION).outputs(name)
    apigw = aws("apigatewayv2", REGION)
    routes = routes_by_key(apigw, outputs["ApiId"])
    assert set(routes) == {"GET /items/{id}", "$default"}
    for route in routes.values():
        uri = integration_of(apigw, outputs["ApiId"], route)["IntegrationUri"]
        assert outputs["FnArn"] in uri
    stage = apigw.get_stages(ApiId=outputs["ApiId"])["Items"][0]
    assert stage["StageName"] == "$default"
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 7
