"""What the API data plane needs from the rest of the local cloud, as protocols.

The supervisor implements these: the catalog of deployed APIs, the Lambda invoker and the
region fault switchboard. Keeping them as protocols lets the gateway run against in-process
fakes in tests and against the real Lambda runtime when wired in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from .model import DeployedApi

FaultKind = Literal["outage", "partition", "slow", "errors"]


@dataclass(frozen=True)
class InvokeOutcome:
    """A synchronous Lambda invocation's result, as the Invoke API returns it."""

    payload: bytes
    # The X-Amz-Function-Error value ("Unhandled", "Handled") when the function failed.
    function_error: str | None = None


class InvokerThrottled(Exception):
    """The Lambda service refused the invocation (TooManyRequestsException)."""


class InvokerTimeout(Exception):
    """No result within the integration timeout."""


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    latency_ms: int = 0
    error_rate: float = 0.0


class ApiCatalog(Protocol):
    def lookup(self, region: str, host_header: str | None) -> DeployedApi | None:
        """The API a request to this region's endpoint is for, or None when none is deployed."""
        ...


class Invoker(Protocol):
    def invoke(self, function_arn: str, event: dict, timeout_s: float) -> InvokeOutcome:
        """Invoke synchronously; may raise InvokerThrottled or InvokerTimeout."""
        ...


class FaultSource(Protocol):
    def fault(self, region: str) -> Fault | None:
        """The fault injected into a region right now, if any."""
        ...
