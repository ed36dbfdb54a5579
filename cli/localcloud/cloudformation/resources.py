"""Resource-level behaviour: a failure names its resource (so the stack event says which one),
custom and added types resolve to their models, and a type without an update handler is replaced
(created anew, the old one deleted) instead of being dropped from the stack as moto does."""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing

from . import updates
from .common import EXTRA_MODELS, ResourceFailed, log, reason_of, replace
from .custom_resources import CustomResource


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
                updates.remember(resources_map, logical_id, resource_json)
            return created
        except ResourceFailed:
            raise
        except Exception as error:  # noqa: BLE001
            log.info("creating %s failed", logical_id, exc_info=True)
            raise ResourceFailed(logical_id, resource_json.get("Type", "?"), reason_of(error)) from error

    def parse_and_update_resource(logical_id: str, resource_json: dict, resources_map: Any,
                                  account_id: str, region_name: str):
        resource_class = resource_class_from_type(resource_json["Type"])
        try:
            if resource_class is not None and hasattr(
                    resource_class.update_from_cloudformation_json, "__isabstractmethod__"):
                return replace(logical_id, resource_json, resources_map, account_id, region_name)
            return original_update(logical_id, resource_json, resources_map, account_id, region_name)
        except ResourceFailed:
            raise
        except Exception as error:  # noqa: BLE001
            log.info("updating %s failed", logical_id, exc_info=True)
            raise ResourceFailed(logical_id, resource_json.get("Type", "?"), reason_of(error)) from error

    parsing.resource_class_from_type = resource_class_from_type
    parsing.parse_and_create_resource = parse_and_create_resource
    parsing.parse_and_update_resource = parse_and_update_resource


def install() -> None:
    _patch_resources()
