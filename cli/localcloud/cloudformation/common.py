"""What the CloudFormation patches share: the registry of added resource types, how a resource
failure travels up to fail its stack, and replacement (used by a resource update without an update
handler and by an update whose changed property requires it)."""

from __future__ import annotations

import logging
from typing import Any

from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel

log = logging.getLogger("localcloud.cloudformation")

# Resource types the local cloud adds (moto has no model for them), by CloudFormation type name.
EXTRA_MODELS: dict[str, type[CloudFormationModel]] = {}


class ResourceFailed(Exception):
    """One resource could not be created, updated or deleted; the stack operation fails."""

    def __init__(self, logical_id: str, resource_type: str, reason: str):
        super().__init__(f"{logical_id} ({resource_type}): {reason}")
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason


def reason_of(error: Exception) -> str:
    if isinstance(error, ResourceFailed):
        return error.reason
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return str(message)


def replace(logical_id: str, resource_json: dict, resources_map: Any, account_id: str, region_name: str):
    """Replacement, as CloudFormation does for properties that cannot change in place."""
    old = resources_map._parsed_resources.pop(logical_id, None)
    if old is not None and not isinstance(old, str):
        try:
            resources_map._delete_resource(old, resources_map._template["Resources"].get(logical_id, resource_json))
        except Exception as error:  # noqa: BLE001 - the old one may already be gone
            log.info("replacing %s: delete of the old resource failed: %s", logical_id, error)
    return parsing.parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name)
