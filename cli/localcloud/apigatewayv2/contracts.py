"""What the API data plane needs from the rest of the local cloud, as protocols.

The supervisor implements these (apigatewayv2/wiring.py): the catalog of deployed APIs, the
Lambda invoker, the region fault switchboard (localcloud.faults) and the metric sink. Keeping them as protocols
lets the gateway run against in-process fakes in tests and against the real Lambda runtime when
wired in. An invoker returns a localcloud.invocation.InvokeOutcome and may raise its
TooManyRequests, or InvokerTimeout below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from ..faults import Fault
from ..invocation import InvokeOutcome
from .model import DeployedApi


# A metric sink (localcloud.cloudwatch.metrics.publish, wired by the supervisor):
# publish(account_id, region, namespace, metric_name, dimensions, value, unit)
Publish = Callable[[str, str, str, str, Mapping[str, str], float, str], None]


class InvokerTimeout(Exception):
    """No result within the integration timeout."""


class ApiCatalog(Protocol):
    def lookup(self, region: str, host_header: str | None) -> DeployedApi | None:
        """The API a request to this region's endpoint is for, or None when none is deployed."""
        ...


class Invoker(Protocol):
    def invoke(self, function_arn: str, event: dict, timeout_s: float) -> InvokeOutcome:
        """Invoke synchronously; may raise TooManyRequests (localcloud.invocation) or InvokerTimeout."""
        ...


class FaultSource(Protocol):
    def fault(self, region: str) -> Fault | None:
        """The fault injected into a region right now, if any."""
        ...
