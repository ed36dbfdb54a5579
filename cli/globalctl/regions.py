"""A region env as deployed: its API (the region stack's ApiEndpoint and AlarmNames outputs) and
whether that API answers GET /health. The rollout's gates, the drill, failover and status all
reach a region this way."""

from __future__ import annotations

from dataclasses import dataclass, field

from globalctl import aws
from globalctl.endpoints import TIMEOUT_SECONDS, Endpoints
from globalctl.topology import Environment

PROBE_TIMEOUT_SECONDS = 5.0  # a look at /health (status, failover, a drill's checks), not a gate's wait


@dataclass
class RegionApi:
    env: str
    region: str
    endpoint: str  # the stack's ApiEndpoint output
    alarms: list[str] = field(default_factory=list)


def region_api(env: Environment) -> RegionApi | None:
    """The region's API as its stack is deployed now; None when it has no ApiEndpoint output."""
    return api_of(env, aws.describe_stack(env.stack_name, env.region))


def api_of(env: Environment, stack: dict | None) -> RegionApi | None:
    """The API of the region's stack as described (None: not deployed, or no ApiEndpoint output)."""
    outputs = aws.outputs_of(stack)
    if "ApiEndpoint" not in outputs:
        return None
    alarms = [a for a in outputs.get("AlarmNames", "").split(",") if a]
    return RegionApi(env.name, env.region, outputs["ApiEndpoint"], alarms)


def health_problem(endpoints: Endpoints, env: Environment, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """None when the region answers GET /health with 200 through its own API, else why not."""
    api = region_api(env)
    if api is None:
        return "not deployed"
    response = endpoints.request("GET", api.endpoint, api.region, "/health", timeout=timeout)
    if response.status == 200:
        return None
    return f"HTTP {response.status}" if response.status else "unreachable"
