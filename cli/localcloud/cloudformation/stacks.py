"""Stack operations that end in a status, as CloudFormation's do: a resource failure rolls a
create back to ROLLBACK_COMPLETE and an update back to UPDATE_ROLLBACK_COMPLETE (the previous
template restored), a failed delete is DELETE_FAILED; a stack made or changed through a change
set gets its Outputs, template and parameters; UsePreviousValue of an SSM-typed parameter keeps
the parameter's name; executing a change set deletes the stack's change sets."""

from __future__ import annotations

import copy
import threading
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack

from .common import ResourceFailed, log, reason_of
from .transform import prepare


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
    _event(stack, "ROLLBACK_IN_PROGRESS", f"The following resource(s) failed to create: {reason_of(error)}")
    try:
        stack.resource_map.delete()
    except Exception as cleanup:  # noqa: BLE001 - a failed rollback is a status, as in AWS
        stack.status = "ROLLBACK_FAILED"
        _event(stack, "ROLLBACK_FAILED", reason_of(cleanup))
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
    _event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", f"The following resource(s) failed to update: {reason_of(error)}")
    template, template_dict, parameters = previous
    try:
        stack.resource_map.update(copy.deepcopy(template_dict), dict(parameters))
    except Exception as again:  # noqa: BLE001
        stack.status = "UPDATE_ROLLBACK_FAILED"
        _event(stack, "UPDATE_ROLLBACK_FAILED", reason_of(again))
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
        template = prepare(template, self.region_name, parameters)
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
        template = prepare(template, self.region_name, parameters)
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
        # "After you execute a change set, CloudFormation deletes all change sets that are associated
        # with the stack" (CloudFormation User Guide, executing a change set).
        for change_set_id in [cs_id for cs_id, cs in self.change_sets.items() if cs.stack_id == stack.stack_id]:
            del self.change_sets[change_set_id]

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
        template = prepare(template, self.region_name, values)
        previous = _snapshot(stack)
        try:
            return original_update_stack(self, name, template, role_arn, parameters, tags)
        except ResourceFailed as error:
            stack.status = "UPDATE_FAILED"
            _rollback_update(stack, error, previous)
            if NESTED.active:
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
            _event(stack, "DELETE_FAILED", reason_of(error))
            if NESTED.active:
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


NESTED = _Nested()



def _patch_previous_values() -> None:
    """Parameters read back as CloudFormation reports them: a list parameter as its comma-separated
    input, an AWS::SSM::Parameter::Value parameter as the parameter's *name* (its value under
    ResolvedValue), so UsePreviousValue and a recorded-parameters restore resolve it again (moto
    hands back the resolved value, which then fails to resolve as a name on the next update)."""

    def stack_parameters(self: Stack) -> dict[str, Any]:
        values = {}
        declared = (self.template_dict or {}).get("Parameters", {})
        for name, value in self.resource_map.resolved_parameters.items():
            kind = str(declared.get(name, {}).get("Type", ""))
            if kind.startswith("AWS::SSM::Parameter::Value"):
                value = self.resource_map.input_parameters.get(name, declared[name].get("Default"))
            elif isinstance(value, list):
                value = ",".join(str(v) for v in value)
            values[name] = value if isinstance(value, str) else str(value)
        return values

    def parameter_list(self: Stack) -> list[dict[str, Any]]:
        declared = (self.template_dict or {}).get("Parameters", {})
        hidden = set(getattr(self.resource_map, "no_echo_parameter_keys", []))
        listed = []
        for name, value in stack_parameters(self).items():
            entry = {"ParameterKey": name, "ParameterValue": "****" if name in hidden else value}
            if str(declared.get(name, {}).get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
                entry["ResolvedValue"] = self.resource_map.resolved_parameters[name]
            listed.append(entry)
        return listed

    Stack.stack_parameters = property(stack_parameters)  # type: ignore[assignment]
    Stack.parameter_list = property(parameter_list)  # type: ignore[assignment]


def install() -> None:
    _patch_previous_values()
    _patch_backend()
