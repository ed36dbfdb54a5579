"""CloudFormation stack updates with conditions, as CloudFormation runs them.

moto's ResourceMap.update diffs the raw resource JSON, ignores Conditions (a resource whose
condition turns false is "modified" and crashes, one turning true is never created) and misses
changes that arrive through a parameter inside Fn::If or a condition. Here an update:

1. loads the new parameters and conditions;
2. creates the resources that exist only now (new, or condition turned true);
3. updates, in dependency order, every kept resource whose *resolved* properties changed;
4. deletes, in reverse dependency order, the resources that no longer exist (removed, or
   condition turned false), last, as CloudFormation's cleanup phase does.

A change set describes the same plan (moto lists every resource of an UPDATE as Add, or nothing
when only parameters change), with Replacement for the resources that are replaced.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable

from moto.cloudformation import parsing

from .common import log, replace

RESOLVED = "_localcloud_resolved"


def remember(resources_map: Any, logical_id: str, resource_json: dict[str, Any]) -> None:
    """Keep a resource's resolved properties, to tell a real change from an unchanged one later."""
    store = resources_map.__dict__.setdefault(RESOLVED, {})
    store[logical_id] = _resolved(resource_json, resources_map)


def _resolved(resource_json: dict[str, Any], resources_map: Any) -> Any:
    body = {k: v for k, v in resource_json.items() if k in ("Properties", "Type")}
    return parsing.clean_json(copy.deepcopy(body), resources_map)


def references(node: Any) -> set[str]:
    """Logical ids a JSON fragment refers to (Ref, GetAtt, ${} in Sub)."""
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("Ref"), str):
            found.add(node["Ref"])
        if "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            found.add(target[0] if isinstance(target, list) else str(target).split(".")[0])
        if "Fn::Sub" in node:
            text = node["Fn::Sub"][0] if isinstance(node["Fn::Sub"], list) else node["Fn::Sub"]
            if isinstance(text, str):
                for part in text.split("${")[1:]:
                    name = part.split("}")[0]
                    if not name.startswith("!"):
                        found.add(name.split(".")[0])
        for value in node.values():
            found |= references(value)
    elif isinstance(node, list):
        for value in node:
            found |= references(value)
    return found


def dependency_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids so that every resource comes after what it refers to or DependsOn."""
    ordered: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:  # a cycle: CloudFormation refuses it; keep going in file order
            return
        state[name] = 1
        body = resources[name]
        depends = body.get("DependsOn", [])
        for other in ([depends] if isinstance(depends, str) else list(depends)) + sorted(references(body)):
            if other in resources and other != name:
                visit(other)
        state[name] = 2
        ordered.append(name)

    for name in resources:
        visit(name)
    return ordered


def _exists(resources_map: Any, name: str) -> bool:
    resource = resources_map._parsed_resources.get(name)
    return resource is not None and not isinstance(resource, (str, int, float, list, dict))


def update(resources_map: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
    old_json = dict(resources_map._resource_json_map)
    existing = {name for name in old_json if _exists(resources_map, name)}

    resources_map._template = template
    if parameters:
        resources_map.input_parameters = parameters
    resources_map.load_mapping()
    resources_map.load_parameters()
    resources_map.load_conditions()
    new_json = template["Resources"]

    def active(name: str) -> bool:
        condition = new_json[name].get("Condition")
        return not condition or bool(resources_map.lazy_condition_map[condition])

    wanted = {name for name in new_json if active(name)}
    order = dependency_order(new_json)
    resources_map._resource_json_map = new_json

    for name in order:  # created lazily: __getitem__ builds what it refers to first
        if name in wanted and name not in existing:
            _ = resources_map[name]

    resolved = resources_map.__dict__.setdefault(RESOLVED, {})
    for name in order:
        if name not in wanted or name not in existing:
            continue
        now = _resolved(new_json[name], resources_map)
        before = resolved.get(name)
        if before is None:  # made before this engine ran: fall back to the raw template
            changed = old_json.get(name) != new_json[name]
        else:
            changed = before != now
        if new_json[name].get("Type") != old_json.get(name, {}).get("Type"):
            changed = True
        if not changed:
            continue
        before_properties = (before or old_json.get(name, {})).get("Properties", {})
        if needs_replacement(new_json[name].get("Type", ""), before_properties, now.get("Properties", {})):
            updated = replace(name, new_json[name], resources_map, resources_map._account_id,
                              resources_map._region_name)
        else:
            updated = parsing.parse_and_update_resource(name, new_json[name], resources_map,
                                                        resources_map._account_id, resources_map._region_name)
        if updated is not None:
            resources_map._parsed_resources[name] = updated
        resolved[name] = _resolved(new_json[name], resources_map)

    gone = [name for name in reversed(dependency_order(old_json)) if name in existing and name not in wanted]
    _delete(resources_map, gone, old_json)


def _delete(resources_map: Any, names: Iterable[str], old_json: dict[str, Any]) -> None:
    for name in names:
        resource = resources_map._parsed_resources.pop(name, None)
        resources_map.__dict__.get(RESOLVED, {}).pop(name, None)
        if resource is None or old_json[name].get("DeletionPolicy") == "Retain":
            continue
        try:
            resources_map._delete_resource(resource, old_json[name])
        except Exception:  # noqa: BLE001 - a failed cleanup leaves the resource, not a failed update
            log.warning("cleanup: deleting %s failed; the resource is left in place", name, exc_info=True)


def needs_replacement(kind: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    """Replacement, as a change set reports it: the type cannot update in place here, or a property
    its CloudFormation reference marks "Update requires: Replacement" changed (REPLACED_BY on the
    model). `before` and `after` are the resource's Properties, resolved where that is known."""
    resource_class = parsing.resource_class_from_type(kind)
    if resource_class is None or hasattr(resource_class.update_from_cloudformation_json, "__isabstractmethod__"):
        return True
    before, after = before or {}, after or {}
    return any(before.get(prop) != after.get(prop) for prop in getattr(resource_class, "REPLACED_BY", ()))


def _resolved_properties(resources_map: Any, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """A live resource's Properties as last resolved (falls back to the template's JSON)."""
    known = resources_map.__dict__.get(RESOLVED, {}).get(name)
    return (known or body).get("Properties", {}) or {}


def _probe_properties(probe: Any, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The replacement-relevant Properties under the new parameters, resolved without creating
    anything: only values that refer to parameters and pseudo parameters are resolved."""
    resource_class = parsing.resource_class_from_type(kind)
    properties = dict(body.get("Properties", {}) or {})
    for prop in getattr(resource_class, "REPLACED_BY", ()):
        if prop in properties and references(properties[prop]) <= set(probe.resolved_parameters) | PSEUDO:
            properties[prop] = parsing.clean_json(copy.deepcopy(properties[prop]), probe)
    return properties


PSEUDO = {"AWS::AccountId", "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
          "AWS::NoValue", "AWS::Partition"}


def _conditions_used(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("Fn::If"), list) and node["Fn::If"]:
            found.add(node["Fn::If"][0])
        if isinstance(node.get("Condition"), str):
            found.add(node["Condition"])
        for value in node.values():
            found |= _conditions_used(value)
    elif isinstance(node, list):
        for value in node:
            found |= _conditions_used(value)
    return found


def plan(live: Any, template: dict[str, Any], parameters: dict[str, Any] | None) -> list[dict[str, str]]:
    """What an update would do, for a change set: Add / Modify (with Replacement) / Remove.

    Read-only: the new parameters and conditions are evaluated on a scratch map, so nothing is
    created; a change counts when the resource's JSON differs or a parameter or condition it uses
    changed value, and a resource that refers to a replaced or added one is modified too."""
    probe = parsing.ResourceMap(live.stack_id, live["AWS::StackName"], dict(parameters or live.input_parameters),
                                live.tags, live._region_name, live._account_id, template, live.cross_stack_resources)
    probe.load()
    old, new = live._resource_json_map, template.get("Resources", {})
    live_conditions = getattr(live, "lazy_condition_map", {})

    def active(name: str) -> bool:
        condition = new[name].get("Condition")
        return not condition or bool(probe.lazy_condition_map[condition])

    existing = {name for name in old if _exists(live, name)}
    wanted = {name for name in new if active(name)}
    changed_values = {k for k, v in probe.resolved_parameters.items() if live.resolved_parameters.get(k) != v}
    changed_values |= {c for c in probe.lazy_condition_map
                       if c not in live_conditions or bool(live_conditions[c]) != bool(probe.lazy_condition_map[c])}
    changes: list[dict[str, str]] = []
    moved: set[str] = set()
    for name in dependency_order(new):
        kind = new[name].get("Type", "?")
        if name in wanted and name not in existing:
            changes.append({"action": "Add", "name": name, "type": kind, "replacement": ""})
            moved.add(name)
        elif name in wanted:
            used = references(new[name]) | _conditions_used(new[name])
            if old[name] != new[name] or used & (changed_values | moved):
                replaced = needs_replacement(kind, _resolved_properties(live, name, old[name]),
                                             _probe_properties(probe, kind, new[name]))
                changes.append({"action": "Modify", "name": name, "type": kind,
                                "replacement": "True" if replaced else "False"})
                if replaced:
                    moved.add(name)
    for name in reversed(dependency_order(old)):
        if name in existing and name not in wanted:
            changes.append({"action": "Remove", "name": name, "type": old[name].get("Type", "?"), "replacement": ""})
    return changes


def _change_set_diff(self: Any) -> list[Any]:
    from moto.cloudformation.models import Change

    result = []
    for entry in plan(self.stack.resource_map, self.template_dict, self.parameters):
        change = Change(action=entry["action"], logical_resource_id=entry["name"], resource_type=entry["type"])
        if entry["replacement"]:
            change.replacement = entry["replacement"]  # type: ignore[attr-defined]
        resource = self.stack.resource_map._parsed_resources.get(entry["name"])
        if entry["action"] != "Add" and resource is not None and hasattr(resource, "physical_resource_id"):
            change.physical_resource_id = resource.physical_resource_id  # type: ignore[attr-defined]
        result.append(change)
    return result


def install() -> None:
    from moto.cloudformation.models import ChangeSet

    parsing.ResourceMap.update = update  # type: ignore[method-assign]
    ChangeSet.diff = _change_set_diff  # type: ignore[method-assign]
