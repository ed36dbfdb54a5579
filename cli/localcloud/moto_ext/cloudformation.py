"""CloudFormation as `sam deploy` needs it, on top of moto 5.2.5's stack engine.

Each patch below is one AWS behaviour moto lacks (measured in shared/design.md):
- the AWS::Serverless-2016-10-31 transform is expanded with aws-sam-translator, as CloudFormation
  does on its side (moto only logs it);
- a stack made or changed through a change set has its Outputs, template and parameters;
- a path-style TemplateURL on 127.0.0.1 names bucket and key (moto only knows "localhost");
- `Fn::GetAtt Child.Outputs.Name` on a nested stack, and nested stacks update in place (moto
  deletes and recreates the child, which gives its API a new id on every deploy);
- `AWS::NoValue` in a list drops the element (moto leaves a null);
- UsePreviousValue on an SSM-typed parameter re-resolves the parameter name;
- updates honour Conditions and resolved values (cloudformation_updates.py); a resource type without
  an update handler is replaced instead of dropped from the stack;
- a resource that fails fails the stack: CREATE rolls back to ROLLBACK_COMPLETE, UPDATE restores
  the previous template to UPDATE_ROLLBACK_COMPLETE, as `sam deploy` expects to observe;
- unknown resource types are refused when the change set is made ("Unrecognized resource types");
- Lambda-backed custom resources get Create/Update/Delete requests and CloudFormation waits for
  the response PUT to the ResponseURL.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import uuid
from typing import Any
from urllib.parse import urlparse

import boto3
from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack, cloudformation_backends
from moto.core.common_models import CloudFormationModel
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from . import cloudformation_updates
from .hooks import hooks

log = logging.getLogger("localcloud.cloudformation")

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Types a template may name that create nothing in the local cloud yet are valid in AWS.
EXTRA_MODELS: dict[str, type[CloudFormationModel]] = {}


class ResourceFailed(Exception):
    """One resource could not be created, updated or deleted; the stack operation fails."""

    def __init__(self, logical_id: str, resource_type: str, reason: str):
        super().__init__(f"{logical_id} ({resource_type}): {reason}")
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason


# --- the SAM transform -------------------------------------------------------------------------

def _transforms(template: dict[str, Any]) -> list[str]:
    declared = template.get("Transform") or []
    return [declared] if isinstance(declared, str) else list(declared)


def expand_transform(body: str | dict[str, Any], region: str, parameters: dict[str, Any]) -> str | dict:
    """The template as CloudFormation runs it: SAM resources replaced by what they stand for."""
    if not body:
        return body
    template = Stack.parse_template(body) if isinstance(body, str) else copy.deepcopy(body)
    if not isinstance(template, dict) or SAM_TRANSFORM not in _transforms(template):
        return body
    others = [name for name in _transforms(template) if name != SAM_TRANSFORM]
    if others:
        raise ValidationError(message=f"Transform(s) not supported locally: {', '.join(others)}")
    values = {k: v for k, v in parameters.items() if isinstance(v, str)}
    values.update({"AWS::Region": region, "AWS::Partition": "aws"})
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    try:
        expanded = translator.translate(template, parameter_values=values, get_managed_policy_map=dict)
    except Exception as error:  # the translator's own InvalidDocumentException and friends
        raise ValidationError(message=f"Transform {SAM_TRANSFORM} failed with: {error}") from error
    return json.dumps(expanded)


def _unknown_types(body: str | dict) -> list[str]:
    template = Stack.parse_template(body) if isinstance(body, str) else body
    known = parsing.get_model_map()
    unknown = set()
    for resource in (template or {}).get("Resources", {}).values():
        kind = resource.get("Type", "")
        if kind.startswith("Custom::") or kind in known or kind in EXTRA_MODELS:
            continue
        if kind in parsing.NULL_MODELS or kind == "AWS::CloudFormation::CustomResource":
            continue
        unknown.add(kind)
    return sorted(unknown)


def _prepare(body: Any, region: str, parameters: dict[str, Any]) -> Any:
    expanded = expand_transform(body, region, parameters)
    unknown = _unknown_types(expanded) if expanded else []
    if unknown:
        raise ValidationError(message=f"Template format error: Unrecognized resource types: [{', '.join(unknown)}]")
    return expanded


# --- stack operations that end in a status, not an exception ----------------------------------

def _event(stack: Stack, status: str, reason: str | None = None, logical_id: str | None = None,
           resource_type: str | None = None) -> None:
    event = cfn_models.Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id or stack.name,
        physical_resource_id=stack.stack_id if logical_id is None else "",
        resource_type=resource_type or "AWS::CloudFormation::Stack",
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=None,
    )
    stack.events.append(event)


def _reason(error: Exception) -> str:
    if isinstance(error, ResourceFailed):
        return error.reason
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return str(message)


def _record_resource_failure(stack: Stack, error: Exception, phase: str) -> None:
    if isinstance(error, ResourceFailed):
        _event(stack, f"{phase}_FAILED", error.reason, error.logical_id, error.resource_type)


def _refresh(stack: Stack, template: str, template_dict: dict, parameters: dict, tags: dict | None) -> None:
    stack.template = template
    stack.template_dict = template_dict
    stack.parameters = parameters
    stack.description = template_dict.get("Description")
    if tags:
        stack.tags = tags
    stack.output_map = stack._create_output_map()


def _rollback_create(stack: Stack, error: Exception) -> None:
    _record_resource_failure(stack, error, "CREATE")
    stack.status = "ROLLBACK_IN_PROGRESS"
    _event(stack, "ROLLBACK_IN_PROGRESS", f"The following resource(s) failed to create: {_reason(error)}")
    try:
        stack.resource_map.delete()
    except Exception as cleanup:  # noqa: BLE001 - a failed rollback is a status, as in AWS
        stack.status = "ROLLBACK_FAILED"
        _event(stack, "ROLLBACK_FAILED", _reason(cleanup))
        return
    # moto's maps create resources lazily when read: a rolled-back stack holds no resources and has
    # no outputs, so describing it (or its outputs) must not bring the deleted resources back.
    stack.resource_map._resource_json_map = {}
    stack.output_map = cfn_models.OutputMap(stack.resource_map, {"Outputs": {}}, stack.stack_id)
    stack.status = "ROLLBACK_COMPLETE"
    _event(stack, "ROLLBACK_COMPLETE")


def _rollback_update(stack: Stack, error: Exception, previous: tuple[Any, dict, dict]) -> None:
    _record_resource_failure(stack, error, "UPDATE")
    stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    _event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", f"The following resource(s) failed to update: {_reason(error)}")
    template, template_dict, parameters = previous
    try:
        stack.resource_map.update(copy.deepcopy(template_dict), dict(parameters))
    except Exception as again:  # noqa: BLE001
        stack.status = "UPDATE_ROLLBACK_FAILED"
        _event(stack, "UPDATE_ROLLBACK_FAILED", _reason(again))
        return
    _refresh(stack, template, template_dict, parameters, None)
    stack.status = "UPDATE_ROLLBACK_COMPLETE"
    _event(stack, "UPDATE_ROLLBACK_COMPLETE")


def _snapshot(stack: Stack) -> tuple[Any, dict, dict]:
    return stack.template, copy.deepcopy(stack.template_dict), dict(stack.resource_map.input_parameters)


def _patch_backend() -> None:
    original_create_stack = CloudFormationBackend.create_stack
    original_create_change_set = CloudFormationBackend.create_change_set
    original_execute = CloudFormationBackend.execute_change_set
    original_update_stack = CloudFormationBackend.update_stack
    original_delete_stack = CloudFormationBackend.delete_stack

    def create_stack(self: CloudFormationBackend, name: str, template: str, parameters: dict, **kwargs: Any) -> Stack:
        template = _prepare(template, self.region_name, parameters)
        # moto builds and creates in one call; a resource failure must leave a failed stack
        # behind (as CloudFormation does), not turn CreateStack into an API error.
        try:
            return original_create_stack(self, name, template, parameters, **kwargs)
        except ResourceFailed as error:
            stack = next((s for s in self.stacks.values() if s.name == name), None)
            if stack is None:
                raise
            stack.status = "CREATE_FAILED"
            _rollback_create(stack, error)
            return stack

    def create_change_set(self: CloudFormationBackend, stack_name: str, change_set_name: str, template: str,
                          parameters: dict, description: str, change_set_type: str, **kwargs: Any):
        template = _prepare(template, self.region_name, parameters)
        return original_create_change_set(self, stack_name, change_set_name, template, parameters,
                                          description, change_set_type, **kwargs)

    def execute_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.describe_change_set(change_set_name)
        if change_set.execution_status != "AVAILABLE":
            raise ValidationError(message=f"ChangeSet [{change_set.change_set_id}] cannot be executed in its "
                                          f"current status of [{change_set.status}]")
        stack = self.stacks[change_set.stack_id]
        previous = _snapshot(stack)
        try:
            original_execute(self, change_set_name, stack_name)
        except Exception as error:  # noqa: BLE001 - any resource failure is a stack failure
            log.info("change set %s failed: %s", change_set.change_set_name, error)
            change_set.execution_status = "EXECUTE_FAILED"
            if change_set.change_set_type == "CREATE":
                stack.status = "CREATE_FAILED"
                _rollback_create(stack, error)
            else:
                stack.status = "UPDATE_FAILED"
                _rollback_update(stack, error, previous)
            return
        _refresh(stack, change_set.template, change_set.template_dict, dict(change_set.parameters),
                 change_set.tags)

    def update_stack(self: CloudFormationBackend, name: str, template: str, role_arn: str | None,
                     parameters: list, tags: dict | None) -> Stack:
        stack = self.get_stack(name)
        # UsePreviousValue takes the previous input as the change-set path does (moto's UpdateStack
        # reads only explicitly given inputs: a defaulted parameter raises KeyError there).
        previous_inputs = stack.stack_parameters
        parameters = [{"ParameterKey": p["ParameterKey"], "ParameterValue": previous_inputs[p["ParameterKey"]]}
                      if p.get("UsePreviousValue") and p["ParameterKey"] in previous_inputs else p
                      for p in parameters or []]
        values = {p["ParameterKey"]: p.get("ParameterValue") for p in parameters if "ParameterValue" in p}
        template = _prepare(template, self.region_name, values)
        previous = _snapshot(stack)
        try:
            return original_update_stack(self, name, template, role_arn, parameters, tags)
        except ResourceFailed as error:
            stack.status = "UPDATE_FAILED"
            _rollback_update(stack, error, previous)
            if _NESTED.active:
                raise
            return stack

    def delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
        stack = next((s for s in self.stacks.values() if name_or_stack_id in (s.name, s.stack_id)), None)
        try:
            original_delete_stack(self, name_or_stack_id)
        except Exception as error:  # noqa: BLE001
            if stack is None:
                raise
            # moto takes the stack out of its list before deleting the resources; a stack whose
            # deletion failed stays listed (DELETE_FAILED), as in CloudFormation.
            self.stacks[stack.stack_id] = stack
            stack.status = "DELETE_FAILED"
            _event(stack, "DELETE_FAILED", _reason(error))
            if _NESTED.active:
                raise

    CloudFormationBackend.create_stack = create_stack  # type: ignore[method-assign]
    CloudFormationBackend.create_change_set = create_change_set  # type: ignore[method-assign]
    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]
    CloudFormationBackend.update_stack = update_stack  # type: ignore[method-assign]
    CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]


class _Nested(threading.local):
    # A class attribute, so every request thread starts outside a nested update (an attribute set
    # on a plain threading.local at import exists only in the importing thread).
    active = False


_NESTED = _Nested()


# --- resources: failures carry their logical id; missing updates become replacements ------------

def _patch_resources() -> None:
    original_create = parsing.parse_and_create_resource
    original_update = parsing.parse_and_update_resource
    original_class_from_type = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str):
        if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
            return CustomResource
        if resource_type in EXTRA_MODELS:
            return EXTRA_MODELS[resource_type]
        return original_class_from_type(resource_type)

    def parse_and_create_resource(logical_id: str, resource_json: dict, resources_map: Any,
                                  account_id: str, region_name: str):
        try:
            created = original_create(logical_id, resource_json, resources_map, account_id, region_name)
            if created is not None:
                cloudformation_updates.remember(resources_map, logical_id, resource_json)
            return created
        except ResourceFailed:
            raise
        except Exception as error:  # noqa: BLE001
            log.info("creating %s failed", logical_id, exc_info=True)
            raise ResourceFailed(logical_id, resource_json.get("Type", "?"), _reason(error)) from error

    def parse_and_update_resource(logical_id: str, resource_json: dict, resources_map: Any,
                                  account_id: str, region_name: str):
        resource_class = resource_class_from_type(resource_json["Type"])
        try:
            if resource_class is not None and hasattr(
                    resource_class.update_from_cloudformation_json, "__isabstractmethod__"):
                return _replace(logical_id, resource_json, resources_map, account_id, region_name)
            return original_update(logical_id, resource_json, resources_map, account_id, region_name)
        except ResourceFailed:
            raise
        except Exception as error:  # noqa: BLE001
            log.info("updating %s failed", logical_id, exc_info=True)
            raise ResourceFailed(logical_id, resource_json.get("Type", "?"), _reason(error)) from error

    parsing.resource_class_from_type = resource_class_from_type
    parsing.parse_and_create_resource = parse_and_create_resource
    parsing.parse_and_update_resource = parse_and_update_resource


def _replace(logical_id: str, resource_json: dict, resources_map: Any, account_id: str, region_name: str):
    """Replacement, as CloudFormation does for properties that cannot change in place."""
    old = resources_map._parsed_resources.pop(logical_id, None)
    if old is not None and not isinstance(old, str):
        try:
            resources_map._delete_resource(old, resources_map._template["Resources"].get(logical_id, resource_json))
        except Exception as error:  # noqa: BLE001 - the old one may already be gone
            log.info("replacing %s: delete of the old resource failed: %s", logical_id, error)
    return parsing.parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name)


# --- nested stacks -----------------------------------------------------------------------------

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
        previous, _NESTED.active = _NESTED.active, True
        try:
            child = backend.update_stack(original_resource.name, body, None, parameters, None)
        finally:
            _NESTED.active = previous
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


# --- custom resources --------------------------------------------------------------------------

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
    payload, function_error = hooks.invoke(service_token, request)
    answer = responses.take(token, RESPONSE_GRACE_SECONDS)
    if answer is None:
        detail = payload.decode("utf-8", "replace")[:300] if function_error else "no response was sent"
        raise ValidationError(message=f"Custom resource {request['LogicalResourceId']} failed: {detail}")
    if answer.get("Status") != "SUCCESS":
        raise ValidationError(message=answer.get("Reason") or "custom resource reported FAILED")
    return answer


def _patch_no_value_in_lists() -> None:
    """`!If [Cond, X, !Ref AWS::NoValue]` inside a list removes the element, as in CloudFormation
    (moto keeps a None there); a dotted GetAtt attribute stays whole."""
    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and isinstance(resource_json.get("Fn::GetAtt"), list) \
                and len(resource_json["Fn::GetAtt"]) > 2:
            # `!GetAtt Child.Outputs.Name` reaches moto as three parts; the attribute is "Outputs.Name".
            logical_id, *attribute = resource_json["Fn::GetAtt"]
            resource_json = {**resource_json, "Fn::GetAtt": [logical_id, ".".join(attribute)]}
        cleaned = original(resource_json, resources_map)
        if isinstance(resource_json, list) and isinstance(cleaned, list):
            return [value for value in cleaned if value is not None]
        return cleaned

    parsing.clean_json = clean_json


def _patch_previous_values() -> None:
    """UsePreviousValue of an AWS::SSM::Parameter::Value parameter reuses the parameter *name* and
    resolves it again, as CloudFormation does (moto reuses the resolved value, which then fails
    to resolve as a name on the next update)."""

    def stack_parameters(self: Stack) -> dict[str, Any]:
        values = dict(self.resource_map.resolved_parameters)
        declared = (self.template_dict or {}).get("Parameters", {})
        for name, slot in declared.items():
            if str(slot.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
                values[name] = self.resource_map.input_parameters.get(name, slot.get("Default"))
        return values

    Stack.stack_parameters = property(stack_parameters)  # type: ignore[assignment]


def install() -> None:
    cloudformation_updates.install()
    _patch_previous_values()
    _patch_no_value_in_lists()
    _patch_backend()
    _patch_resources()
    _patch_nested_stacks()
    parsing.get_model_map.cache_clear()
