"""What the CloudFormation extensions share: the registry of added resource types and how a
resource failure travels up to fail its stack."""

from __future__ import annotations

import logging

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
