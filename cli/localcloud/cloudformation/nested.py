"""Nested stacks: a TemplateURL on the local S3 (path-style on 127.0.0.1, which moto reads as a
bucket name), `Fn::GetAtt Child.Outputs.Name`, and updates in place (moto deletes and recreates
the child, which gives its HTTP API a new id, and so a new endpoint, on every deploy)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from moto.cloudformation import models as cfn_models
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import Stack, cloudformation_backends

from .stacks import NESTED

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def template_from_url(template_url: str, account_id: str, partition: str) -> str:
    """Read a TemplateURL from the local S3, path-style on loopback or any S3 URL form."""
    from moto.s3.models import s3_backends

    parts = urlparse(template_url)
    host = (parts.hostname or "").lower()
    if host in LOOPBACK or (host.startswith("s3") and host.endswith("amazonaws.com")):
        bucket, key = parts.path.lstrip("/").split("/", 1)
    elif host.endswith("amazonaws.com"):  # virtual-hosted style: <bucket>.s3.<region>.amazonaws.com
        bucket, key = host.split(".s3", 1)[0], parts.path.lstrip("/")
    else:
        raise ValidationError(message=f"TemplateURL must be an Amazon S3 URL: {template_url}")
    obj = s3_backends[account_id][partition].get_object(bucket, key)
    return obj.value.decode("utf-8")  # type: ignore[union-attr]


def _patch_nested_stacks() -> None:
    cfn_models.get_stack_from_s3_url = template_from_url
    cfn_responses.get_stack_from_s3_url = template_from_url

    def get_cfn_attribute(self: Stack, attribute_name: str) -> Any:
        if attribute_name.startswith("Outputs."):
            wanted = attribute_name.split(".", 1)[1]
            for output in self.outputs or []:
                if output["OutputKey"] == wanted:
                    return output["OutputValue"]
            raise ValidationError(message=f"Stack {self.name} has no output {wanted}")
        raise ValidationError(message=f"Attribute {attribute_name} is not supported on a nested stack")

    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict, account_id: str,
                                        region_name: str, **kwargs: Any) -> Stack:
        backend = cloudformation_backends[account_id][region_name]
        properties = cloudformation_json["Properties"]
        body = template_from_url(properties["TemplateURL"], account_id, "aws")
        parameters = {k: _as_parameter(v) for k, v in properties.get("Parameters", {}).items()}
        child = backend.create_stack(name=resource_name, template=body, parameters=parameters)
        if child.status not in ("CREATE_COMPLETE",):
            reason = next((e.resource_status_reason for e in reversed(child.events)
                           if e.resource_status.endswith("FAILED")), child.status)
            raise ValidationError(message=f"Embedded stack {child.stack_id} was not successfully created: {reason}")
        return child

    def update_from_cloudformation_json(cls, original_resource: Stack, new_resource_name: str,
                                        cloudformation_json: dict, account_id: str, region_name: str) -> Stack:
        backend = cloudformation_backends[account_id][region_name]
        properties = cloudformation_json["Properties"]
        body = template_from_url(properties["TemplateURL"], account_id, "aws")
        parameters = [{"ParameterKey": k, "ParameterValue": _as_parameter(v)}
                      for k, v in properties.get("Parameters", {}).items()]
        previous, NESTED.active = NESTED.active, True
        try:
            child = backend.update_stack(original_resource.name, body, None, parameters, None)
        finally:
            NESTED.active = previous
        if child.status != "UPDATE_COMPLETE":
            raise ValidationError(message=f"Embedded stack {child.stack_id} was not successfully updated")
        return child

    Stack.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]
    Stack.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[assignment]
    Stack.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)  # type: ignore[assignment]


def _as_parameter(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def install() -> None:
    _patch_nested_stacks()
