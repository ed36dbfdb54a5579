"""Lambda-backed custom resources: Create, Update (with OldResourceProperties) and Delete requests
go to the function, and CloudFormation waits for the response PUT to the request's ResponseURL
(served by the control plane under /_localcloud/cfn-response/)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.core.common_models import CloudFormationModel

from ..hooks import hooks


class _Responses:
    """Custom resource responses, keyed by the token in each request's ResponseURL."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._bodies: dict[str, dict[str, Any]] = {}

    def put(self, token: str, body: dict[str, Any]) -> bool:
        with self._lock:
            if token not in self._bodies:
                return False
            self._bodies[token] = body
            self._lock.notify_all()
            return True

    def expect(self, token: str) -> None:
        with self._lock:
            self._bodies[token] = {}

    def take(self, token: str, timeout: float) -> dict[str, Any] | None:
        with self._lock:
            self._lock.wait_for(lambda: self._bodies.get(token), timeout=timeout)
            return self._bodies.pop(token, None) or None


responses = _Responses()
# CloudFormation waits up to an hour for a custom resource; locally the invoke itself is bounded
# by the function timeout, so the response must be there once the invocation has returned.
RESPONSE_GRACE_SECONDS = 5.0


class CustomResource(CloudFormationModel):
    def __init__(self, logical_id: str, physical_id: str, data: dict[str, Any], properties: dict[str, Any],
                 stack_id: str, resource_type: str, region: str):
        self.logical_id = logical_id
        self.physical_id = physical_id
        self.data = data
        self.properties = properties
        self.stack_id = stack_id
        self.resource_type = resource_type
        self.region = region

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFormation::CustomResource"

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in self.data:
            return self.data[attribute_name]
        raise ValidationError(message=f"CustomResource attribute error: Vendor response doesn't contain "
                                      f"{attribute_name} key in object {self.stack_id}|{self.logical_id}")

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict, account_id: str,
                                        region_name: str, **kwargs: Any) -> CustomResource:
        properties = cloudformation_json["Properties"]
        request = {"RequestType": "Create", "StackId": kwargs["StackId"], "LogicalResourceId": kwargs["LogicalId"],
                   "ResourceType": kwargs["ResourceType"], "ResourceProperties": properties}
        answer = _call(request, region_name)
        physical = answer.get("PhysicalResourceId") or f"{kwargs['LogicalId']}-{uuid.uuid4().hex[:12]}"
        return cls(kwargs["LogicalId"], physical, answer.get("Data") or {}, properties, kwargs["StackId"],
                   kwargs["ResourceType"], region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: CustomResource, new_resource_name: str,
                                        cloudformation_json: dict, account_id: str,
                                        region_name: str) -> CustomResource:
        properties = cloudformation_json["Properties"]
        request = {"RequestType": "Update", "StackId": original_resource.stack_id,
                   "LogicalResourceId": original_resource.logical_id,
                   "ResourceType": original_resource.resource_type, "ResourceProperties": properties,
                   "OldResourceProperties": original_resource.properties,
                   "PhysicalResourceId": original_resource.physical_id}
        answer = _call(request, region_name)
        original_resource.physical_id = answer.get("PhysicalResourceId") or original_resource.physical_id
        original_resource.data = answer.get("Data") or {}
        original_resource.properties = properties
        return original_resource

    def delete(self, account_id: str, region: str) -> None:
        request = {"RequestType": "Delete", "StackId": self.stack_id, "LogicalResourceId": self.logical_id,
                   "ResourceType": self.resource_type, "ResourceProperties": self.properties,
                   "PhysicalResourceId": self.physical_id}
        _call(request, region)


def _call(request: dict[str, Any], region: str) -> dict[str, Any]:
    token = uuid.uuid4().hex
    service_token = request["ResourceProperties"].get("ServiceToken")
    if not service_token:
        raise ValidationError(message="ServiceToken is required for a custom resource")
    if not service_token.startswith("arn:aws:lambda:"):
        raise ValidationError(message=f"Only Lambda-backed custom resources run locally: {service_token}")
    if hooks.invoke is None:
        raise ValidationError(message="no local Lambda runtime is attached to this control plane")
    request = {**request, "ServiceToken": service_token, "RequestId": str(uuid.uuid4()),
               "ResponseURL": f"{hooks.endpoint_url}/_localcloud/cfn-response/{token}"}
    responses.expect(token)
    outcome = hooks.invoke(service_token, request)
    answer = responses.take(token, RESPONSE_GRACE_SECONDS)
    if answer is None:
        detail = outcome.payload.decode("utf-8", "replace")[:300] if outcome.function_error else "no response was sent"
        raise ValidationError(message=f"Custom resource {request['LogicalResourceId']} failed: {detail}")
    if answer.get("Status") != "SUCCESS":
        raise ValidationError(message=answer.get("Reason") or "custom resource reported FAILED")
    return answer
