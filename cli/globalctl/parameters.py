"""Parameters of the global stacks, derived from the topology (and, for the routing, from the
regional stacks' outputs), so that samconfig.toml never repeats the region list."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from globalctl.exceptions import GlobalctlError, StackNotFoundError
from globalctl.topology import Environment, Topology

DEFAULT_WEIGHT = 1
REGION_OUTPUTS = ("ApiHost", "RoutingTarget", "RoutingTargetHostedZoneId")


def table_parameters(topology: Topology) -> dict[str, str]:
    table = _required(topology.table, "table")
    return {**table.parameters, "ReplicaRegions": ",".join(env.region for env in topology.regions)}


def routing_parameters(
    topology: Topology,
    outputs: Mapping[str, Mapping[str, str]],
    weights: Mapping[str, int] | None = None,
    leave_out: Collection[str] = (),
) -> dict[str, str]:
    """`outputs` maps each region env to its stack outputs; `weights` to 0-255 (0 = drained);
    the region envs in `leave_out` are not routed."""
    routing = _required(topology.routing, "routing")
    weights = weights or {}
    regions = tuple(env for env in topology.regions if env.name not in leave_out)
    for env in regions:
        missing = [key for key in REGION_OUTPUTS if not outputs.get(env.name, {}).get(key)]
        if missing:
            raise StackNotFoundError(
                f"region {env.name!r} ({env.region}) has no {', '.join(missing)} output: deploy it first "
                f"(sam deploy --config-env {env.name})"
            )
        weight = weights.get(env.name, DEFAULT_WEIGHT)
        if not 0 <= int(weight) <= 255:
            raise GlobalctlError(f"weight of {env.name!r} must be 0-255, got {weight}")
    if regions and all(int(weights.get(env.name, DEFAULT_WEIGHT)) == 0 for env in regions):
        raise GlobalctlError("every region would be drained: at least one region must serve")
    return {
        **routing.parameters,
        "Envs": ",".join(env.name for env in regions),
        "Regions": ",".join(env.region for env in regions),
        "HealthHosts": ",".join(outputs[env.name]["ApiHost"] for env in regions),
        "Targets": ",".join(outputs[env.name]["RoutingTarget"] for env in regions),
        "TargetZoneIds": ",".join(outputs[env.name]["RoutingTargetHostedZoneId"] for env in regions),
        "Weights": ",".join(str(int(weights.get(env.name, DEFAULT_WEIGHT))) for env in regions),
    }


def weights_from_deployed(parameters: Mapping[str, str]) -> dict[str, int]:
    """The weights a deployed routing stack carries, so re-rendering keeps a drained region drained."""
    envs = [e for e in parameters.get("Envs", "").split(",") if e]
    values = [w for w in parameters.get("Weights", "").split(",") if w]
    if len(envs) != len(values):
        return {}
    try:
        return {env: int(value) for env, value in zip(envs, values, strict=True)}
    except ValueError:
        return {}


def _required(env: Environment | None, kind: str) -> Environment:
    if env is None:
        raise GlobalctlError(f"samconfig has no {kind} environment (template_file = \"global/{kind}.yaml\")")
    return env
