"""Intrinsic functions as CloudFormation evaluates them, where moto differs."""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing


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


def install() -> None:
    _patch_no_value_in_lists()
