"""CloudFormation stack updates with conditions, as CloudFormation runs them.

moto's ResourceMap.update diffs the raw resource JSON, ignores Conditions (a resource whose
condition turns false is "modified" and crashes, one turning true is never created) and misses
changes that arrive through a parameter inside Fn::If or a condition. Here an update:

1. loads the new parameters and conditions;
2. creates the resources that exist only now (new, or condition turned true);
3. updates, in dependency order, every kept resource whose *resolved* properties changed;
4. deletes, in reverse dependency order, the resources that no longer exist (removed, or
   condition turned false), last, as CloudFormation's cleanup phase does.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Iterable

from moto.cloudformation import parsing

log = logging.getLogger("localcloud.cloudformation")
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


def install() -> None:
    parsing.ResourceMap.update = update  # type: ignore[method-assign]
