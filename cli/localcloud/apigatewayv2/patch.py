"""API Gateway v2 (HTTP APIs) as CloudFormation and the SAM transform declare them.

moto 5.2.5 has the apigatewayv2 API but no CloudFormation models, so a stack silently creates no
API. These models create Api (with its OpenAPI Body imported into routes and Lambda proxy
integrations, and its x-amazon-apigateway-cors into the CORS configuration, as API Gateway imports
it), Stage, Integration, Route, DomainName and ApiMapping in
moto's apigatewayv2 backend; an update re-imports the Body, so a changed route appears.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from moto.apigatewayv2.models import ApiGatewayV2Backend, apigatewayv2_backends
from moto.core.common_models import CloudFormationModel

from ..cloudformation import EXTRA_MODELS

ANY_METHOD = "x-amazon-apigateway-any-method"
INTEGRATION = "x-amazon-apigateway-integration"
# The SAM transform writes an HttpApi's CorsConfiguration here, in the API's camelCase shape.
CORS = "x-amazon-apigateway-cors"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", ANY_METHOD}
# Route 53 alias hosted zone of API Gateway regional endpoints, per region (AWS General Reference,
# "Amazon API Gateway endpoints and quotas"); used for RegionalHostedZoneId of a custom domain.
REGIONAL_ZONE_IDS = {
    "us-east-1": "Z1UJRXOUMOOFQ8", "us-east-2": "ZOJJZC49E0EPZ", "us-west-1": "Z2MUQ32089INYE",
    "us-west-2": "Z2OJLYMUO9EFXC", "eu-west-1": "ZLY8HYME6SFDD", "eu-west-2": "ZJ5UAJN8Y3Z2Q",
    "eu-west-3": "Z3KY65QIEKYHQQ", "eu-central-1": "Z1U9ULNL0V5AJ3", "eu-north-1": "Z3UWIKFBOOGXPP",
    "ap-southeast-1": "ZL327KTPIQFUL", "ap-southeast-2": "Z2RPCDW04V8134", "ap-northeast-1": "Z1YSHQZHG15GKL",
    "ap-northeast-2": "Z20JF4UZKIW1U8", "ap-south-1": "Z3VO1THU9YC4UR", "ca-central-1": "Z19DQILCV0OWEC",
    "sa-east-1": "ZCMLWB8V5SYIT",
}


def regional_domain_name(region: str, domain_name: str) -> str:
    """The d-xxxx host API Gateway gives a regional custom domain (the alias target Route 53 points at)."""
    digest = hashlib.sha256(f"{region}/{domain_name}".encode()).hexdigest()[:10]
    return f"d-{digest}.execute-api.{region}.amazonaws.com"


def _backend(account_id: str, region: str) -> ApiGatewayV2Backend:
    return apigatewayv2_backends[account_id][region]


def _document(properties: dict[str, Any]) -> dict[str, Any] | None:
    body = properties.get("Body")
    if isinstance(body, str):
        body = json.loads(body)
    return body


def cors_configuration(properties: dict[str, Any], document: dict[str, Any] | None) -> Any:
    """The API's CORS configuration: the CorsConfiguration property over the Body's extension, as
    CloudFormation imports the Body and then applies the other properties."""
    if properties.get("CorsConfiguration") is not None:
        return camel(properties["CorsConfiguration"])
    return camel((document or {}).get(CORS)) or None


def import_routes(backend: ApiGatewayV2Backend, api_id: str, document: dict[str, Any]) -> None:
    """Routes and integrations from an OpenAPI document, replacing what the API had."""
    api = backend.get_api(api_id)
    api.routes.clear()
    api.integrations.clear()
    for path, methods in (document.get("paths") or {}).items():
        for method, operation in (methods or {}).items():
            if method.lower() not in HTTP_METHODS or not isinstance(operation, dict):
                continue
            verb = "ANY" if method.lower() == ANY_METHOD else method.upper()
            route_key = "$default" if path == "$default" else f"{verb} {path}"
            spec = operation.get(INTEGRATION)
            target = None
            if spec:
                integration = backend.create_integration(
                    api_id=api_id, connection_id=None, connection_type=spec.get("connectionType", "INTERNET"),
                    content_handling_strategy=None, credentials_arn=spec.get("credentials"),
                    description="imported from the OpenAPI body", integration_method=spec.get("httpMethod", "POST"),
                    integration_subtype=None, integration_type=str(spec.get("type", "aws_proxy")).upper(),
                    integration_uri=spec.get("uri"), passthrough_behavior=None,
                    payload_format_version=str(spec.get("payloadFormatVersion", "2.0")),
                    request_parameters=None, request_templates=None, response_parameters=None,
                    template_selection_expression=None,
                    timeout_in_millis=str(spec.get("timeoutInMillis", 30000)), tls_config=None,
                )
                target = f"integrations/{integration.id}"
            backend.create_route(
                api_id=api_id, api_key_required=False, authorization_scopes=[], authorization_type="NONE",
                authorizer_id=None, model_selection_expression=None, operation_name=operation.get("operationId"),
                request_models=None, request_parameters=None, route_key=route_key,
                route_response_selection_expression=None, target=target,
            )


class _Model(CloudFormationModel):
    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> Any:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)


class HttpApi(_Model):
    def __init__(self, account_id: str, region: str, api_id: str):
        self.account_id, self.region, self.api_id = account_id, region, api_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Api"

    @property
    def physical_resource_id(self) -> str:
        return self.api_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("ApiEndpoint", "ApiId")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "ApiId":
            return self.api_id
        if attribute_name == "ApiEndpoint":
            return f"https://{self.api_id}.execute-api.{self.region}.amazonaws.com"
        raise NotImplementedError(attribute_name)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> HttpApi:
        properties = cloudformation_json["Properties"]
        document = _document(properties)
        name = properties.get("Name") or ((document or {}).get("info") or {}).get("title") or resource_name
        backend = _backend(account_id, region_name)
        api = backend.create_api(
            api_key_selection_expression=None, cors_configuration=cors_configuration(properties, document),
            description=properties.get("Description"), disable_schema_validation=None,
            disable_execute_api_endpoint=properties.get("DisableExecuteApiEndpoint", False), name=name,
            protocol_type=properties.get("ProtocolType", "HTTP"), route_selection_expression=None,
            tags=properties.get("Tags") or {}, version=None,
        )
        if document:
            import_routes(backend, api.api_id, document)
        return cls(account_id, region_name, api.api_id)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: HttpApi, new_resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> HttpApi:
        # In place: the API keeps its id (and so its endpoint), only routes and settings change.
        properties = cloudformation_json["Properties"]
        backend = _backend(account_id, region_name)
        document = _document(properties)
        api = backend.get_api(original_resource.api_id)
        api.cors_configuration = cors_configuration(properties, document)
        api.description = properties.get("Description")
        if document:
            import_routes(backend, api.api_id, document)
        return original_resource

    def delete(self, account_id: str, region: str) -> None:
        _backend(account_id, region).delete_api(self.api_id)


def camel(value: Any) -> Any:
    """CloudFormation's PascalCase property shape as the API's camelCase wire shape, which moto stores."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def _stage_config(properties: dict[str, Any]) -> dict[str, Any]:
    config = {"stageName": properties["StageName"], "autoDeploy": properties.get("AutoDeploy", False)}
    for prop in ("DefaultRouteSettings", "AccessLogSettings", "Description"):
        if prop in properties:
            config[prop[:1].lower() + prop[1:]] = camel(properties[prop])
    if "RouteSettings" in properties:  # keys are route keys, values are settings
        config["routeSettings"] = {k: camel(v) for k, v in properties["RouteSettings"].items()}
    if "StageVariables" in properties:
        config["stageVariables"] = dict(properties["StageVariables"])
    return config


class HttpStage(_Model):
    def __init__(self, account_id: str, region: str, api_id: str, name: str):
        self.account_id, self.region, self.api_id, self.name = account_id, region, api_id, name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Stage"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> HttpStage:
        properties = cloudformation_json["Properties"]
        _backend(account_id, region_name).create_stage(properties["ApiId"], _stage_config(properties))
        return cls(account_id, region_name, properties["ApiId"], properties["StageName"])

    def delete(self, account_id: str, region: str) -> None:
        backend = _backend(account_id, region)
        if self.api_id in backend.apis:
            backend.delete_stage(self.api_id, self.name)


class HttpIntegration(_Model):
    def __init__(self, account_id: str, region: str, api_id: str, integration_id: str):
        self.account_id, self.region, self.api_id, self.integration_id = account_id, region, api_id, integration_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Integration"

    @property
    def physical_resource_id(self) -> str:
        return self.integration_id

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> HttpIntegration:
        p = cloudformation_json["Properties"]
        integration = _backend(account_id, region_name).create_integration(
            api_id=p["ApiId"], connection_id=p.get("ConnectionId"), connection_type=p.get("ConnectionType"),
            content_handling_strategy=p.get("ContentHandlingStrategy"), credentials_arn=p.get("CredentialsArn"),
            description=p.get("Description"), integration_method=p.get("IntegrationMethod"),
            integration_subtype=p.get("IntegrationSubtype"), integration_type=p["IntegrationType"],
            integration_uri=p.get("IntegrationUri"), passthrough_behavior=p.get("PassthroughBehavior"),
            payload_format_version=p.get("PayloadFormatVersion", "2.0"),
            request_parameters=p.get("RequestParameters"), request_templates=p.get("RequestTemplates"),
            response_parameters=p.get("ResponseParameters"),
            template_selection_expression=p.get("TemplateSelectionExpression"),
            timeout_in_millis=str(p.get("TimeoutInMillis", 30000)), tls_config=p.get("TlsConfig"),
        )
        return cls(account_id, region_name, p["ApiId"], integration.id)

    def delete(self, account_id: str, region: str) -> None:
        backend = _backend(account_id, region)
        if self.api_id in backend.apis:
            backend.delete_integration(self.api_id, self.integration_id)


class HttpRoute(_Model):
    def __init__(self, account_id: str, region: str, api_id: str, route_id: str):
        self.account_id, self.region, self.api_id, self.route_id = account_id, region, api_id, route_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Route"

    @property
    def physical_resource_id(self) -> str:
        return self.route_id

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> HttpRoute:
        p = cloudformation_json["Properties"]
        route = _backend(account_id, region_name).create_route(
            api_id=p["ApiId"], api_key_required=p.get("ApiKeyRequired", False),
            authorization_scopes=p.get("AuthorizationScopes", []), authorization_type=p.get("AuthorizationType", "NONE"),
            authorizer_id=p.get("AuthorizerId"), model_selection_expression=p.get("ModelSelectionExpression"),
            operation_name=p.get("OperationName"), request_models=p.get("RequestModels"),
            request_parameters=p.get("RequestParameters"), route_key=p["RouteKey"],
            route_response_selection_expression=p.get("RouteResponseSelectionExpression"), target=p.get("Target"),
        )
        return cls(account_id, region_name, p["ApiId"], route.route_id)

    def delete(self, account_id: str, region: str) -> None:
        backend = _backend(account_id, region)
        if self.api_id in backend.apis:
            backend.delete_route(self.api_id, self.route_id)


class HttpDomainName(_Model):
    def __init__(self, account_id: str, region: str, name: str):
        self.account_id, self.region, self.name = account_id, region, name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::DomainName"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("RegionalDomainName", "RegionalHostedZoneId", "DomainNameArn")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "RegionalDomainName":
            return regional_domain_name(self.region, self.name)
        if attribute_name == "RegionalHostedZoneId":
            return REGIONAL_ZONE_IDS.get(self.region, "Z0000000000000")
        if attribute_name == "DomainNameArn":
            return f"arn:aws:apigateway:{self.region}::/domainnames/{self.name}"
        raise NotImplementedError(attribute_name)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> HttpDomainName:
        p = cloudformation_json["Properties"]
        _backend(account_id, region_name).create_domain_name(
            domain_name=p["DomainName"], domain_name_configurations=camel(p.get("DomainNameConfigurations", [])),
            mutual_tls_authentication=camel(p.get("MutualTlsAuthentication")), tags=p.get("Tags") or {},
        )
        return cls(account_id, region_name, p["DomainName"])

    def delete(self, account_id: str, region: str) -> None:
        _backend(account_id, region).delete_domain_name(self.name)


class HttpApiMapping(_Model):
    def __init__(self, account_id: str, region: str, domain: str, mapping_id: str):
        self.account_id, self.region, self.domain, self.mapping_id = account_id, region, domain, mapping_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::ApiMapping"

    @property
    def physical_resource_id(self) -> str:
        return self.mapping_id

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> HttpApiMapping:
        p = cloudformation_json["Properties"]
        mapping = _backend(account_id, region_name).create_api_mapping(
            api_id=p["ApiId"], api_mapping_key=p.get("ApiMappingKey", ""), domain_name=p["DomainName"],
            stage=p["Stage"],
        )
        return cls(account_id, region_name, p["DomainName"], mapping.api_mapping_id)

    def delete(self, account_id: str, region: str) -> None:
        backend = _backend(account_id, region)
        if self.domain in backend.domain_names:
            backend.delete_api_mapping(self.mapping_id, self.domain)


def install() -> None:
    for model in (HttpApi, HttpStage, HttpIntegration, HttpRoute, HttpDomainName, HttpApiMapping):
        EXTRA_MODELS[model.cloudformation_type()] = model
