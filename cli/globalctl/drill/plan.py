"""The drill plan: the options checked against the deployed topology before anything is touched,
and what they resolve to (where the traffic goes and from which client locations, the weight to
put back, every region's API to read the writes back from, the run id).

A drill is refused when the env is not a region, the mode is unknown (an outage needs the local
cloud, which injects it), there is no entry, the routing stack is missing or the region is drained
already, a region stack is not deployed, no other serving region is healthy, or (locally) the
region has a fault already."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from globalctl import aws, regions, routing
from globalctl.endpoints import Endpoints
from globalctl.exceptions import GlobalctlError, UsageError
from globalctl.regions import RegionApi

MODES = ("drain", "outage")
MIN_BASELINE_SECONDS = 2.0
BASELINE_SHARE = 0.2
MIN_OBSERVED_AFTER_SECONDS = 2.0  # traffic keeps going this long after a slow drain, whatever --duration says

# Client locations near a region, besides the region itself: the clients of a region's users.
NEARBY = {
    "us-east-1": "us-east-2", "us-east-2": "us-east-1", "us-west-1": "us-west-2", "us-west-2": "us-west-1",
    "ca-central-1": "us-east-1", "sa-east-1": "us-east-1", "eu-west-1": "eu-west-2", "eu-west-2": "eu-west-1",
    "eu-west-3": "eu-central-1", "eu-central-1": "eu-west-3", "eu-north-1": "eu-central-1",
    "eu-south-1": "eu-central-1", "ap-southeast-1": "ap-southeast-3", "ap-southeast-2": "ap-southeast-4",
    "ap-northeast-1": "ap-northeast-3", "ap-northeast-2": "ap-northeast-1", "ap-south-1": "ap-south-2",
    "me-central-1": "me-south-1", "af-south-1": "eu-west-1",
}


@dataclass
class Options:
    env: str
    duration: float = 30.0
    mode: str = "drain"
    clients: int = 6
    rate: float = 5.0  # requests per second per client
    entry: str | None = None


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


@dataclass
class DrillPlan:
    """A checked drill: the options, and what the preconditions found."""

    options: Options
    region: str
    entry: str
    host: str | None  # the Host header the local entry routes by (the routing's RecordName)
    local: bool
    weight: int  # the region's weight before the drill: what a drain's restore puts back
    apis: list[RegionApi] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    run_id: str = field(default_factory=new_run_id)

    @property
    def baseline_seconds(self) -> float:
        return max(MIN_BASELINE_SECONDS, BASELINE_SHARE * self.options.duration)

    @property
    def own_location(self) -> str | None:
        """Where the restore is measured from: locally the entry routes by X-Client-Location; on
        AWS by where this machine is, so any client counts (None)."""
        return self.region if self.local else None


def client_locations(drilled_region: str, regions: list[str]) -> list[str]:
    """The drilled region's own location first (client 0 measures the restore), then its neighbour,
    then every other region and its neighbour."""
    ordered = [drilled_region] + [r for r in regions if r != drilled_region]
    locations = list(ordered) + [NEARBY[r] for r in ordered if r in NEARBY]
    near = NEARBY.get(drilled_region)
    if near:
        locations.remove(near)
        locations.insert(1, near)
    return list(dict.fromkeys(locations))


def plan_drill(context: Any, options: Options, endpoints: Endpoints) -> DrillPlan:
    """The drill plan of the options, or the one-line reason it cannot run (nothing is changed)."""
    topology = context.topology
    env = topology.env(options.env)
    if env.kind != "region":
        raise UsageError(f"{options.env} is the {env.kind} stack, not a region: drill a region env "
                         f"({', '.join(e.name for e in topology.regions)})")
    if options.mode not in MODES:
        raise UsageError(f"unknown --mode {options.mode!r}; choose drain or outage")
    if options.mode == "outage" and not endpoints.local:
        raise UsageError("--mode outage needs the local cloud (it injects the outage); use --mode drain on AWS")
    entry = options.entry or (endpoints.state["global_url"] if endpoints.state else None)
    if not entry:
        raise GlobalctlError("drills need the local cloud's global entry, or --entry URL")
    weights = routing.weights(topology)  # RoutingMissing: the routing stack is not deployed
    if env.name not in weights:
        raise GlobalctlError(f"{env.name} is not in the deployed routing yet: run a rollout first")
    if weights[env.name] == 0:
        raise GlobalctlError(f"{env.name} is drained already: restore it before a drill")
    apis = []
    for region_env in topology.regions:
        api = regions.region_api(region_env)
        if api is None:
            raise GlobalctlError(f"{region_env.name}: the region stack {region_env.stack_name} is not deployed "
                                 f"in {region_env.region} (no ApiEndpoint output)")
        apis.append(api)
    healthy_others = [api.env for api in apis if api.env != env.name and weights.get(api.env, 0) > 0
                      and endpoints.request("GET", api.endpoint, api.region, "/health",
                                            timeout=regions.PROBE_TIMEOUT_SECONDS).status == 200]
    if not healthy_others:
        raise GlobalctlError(f"no other region serves and is healthy: "
                             f"taking {env.name} out would take the service down")
    host = None
    if endpoints.local:
        fault = _local_faults(context.config_path).get(env.name)
        if fault:
            raise GlobalctlError(f"{env.name} has a {fault} fault already: `globalctl local heal {env.name}` first")
        if not options.entry:
            # The entry routes by Host, as Route 53 answers for the name clients resolve.
            routing_env = topology.routing
            host = aws.stack_parameters(routing_env.stack_name, routing_env.region).get("RecordName") or None
    return DrillPlan(options, region=env.region, entry=entry, host=host, local=endpoints.local,
                     weight=weights[env.name], apis=apis,
                     locations=client_locations(env.region, [e.region for e in topology.regions]))


def _local_faults(config_path: Path) -> dict[str, str | None]:
    from globalctl.localcloud import LocalCloudContext

    return {env: info.get("fault") for env, info in LocalCloudContext(config_path).status()["regions"].items()}
