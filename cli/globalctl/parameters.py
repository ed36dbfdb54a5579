"""Parameters of the global stacks, derived from the topology (and, for the routing, from the
regional stacks' outputs), so that samconfig.toml never repeats the region list."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from globalctl import routing_policy, routing_records
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
    deployed: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """`outputs` maps each region env to its stack outputs; `weights` to 0-255 (0 = drained), as
    deployed; `deployed` is the routing stack's parameters, if it exists; the region envs in
    `leave_out` are not routed."""
    routing = _required(topology.routing, "routing")
    regions = tuple(env for env in topology.regions if env.name not in leave_out)
    policy = _policy(routing, topology, regions)
    weights = _live_weights(policy, routing, weights or {}, deployed)
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
        **(routing_records.stack_parameters(policy, routing.parameters.get("RoutingMode", "traffic-policy"), weights)
           if regions else {}),
    }


def _policy(routing: Environment, topology: Topology, regions: tuple[Environment, ...]) -> routing_policy.Policy:
    """The declared policy over the routed regions, refused whole if it cannot be deployed. A
    region left out (one whose add failed) drops out of the chain, groups and locations."""
    _, problems = routing_records.deployable(routing.parameters, {env.name: env.region for env in topology.regions})
    if problems:
        raise GlobalctlError(f"the routing policy cannot be deployed: {'; '.join(problems)} (globalctl validate)")
    return routing_policy.parse(routing.parameters, {env.name: env.region for env in regions})


def _live_weights(policy: routing_policy.Policy, routing: Environment, weights: Mapping[str, int],
                  deployed: Mapping[str, str] | None) -> dict[str, int]:
    """The weights to route with. A drain or a traffic shift lives in the deployed Weights and
    outlives a rollout; under the weighted policy a changed declaration (RoutingWeights in
    samconfig, or a switch to the weighted policy) wins over them, as an edit of samconfig is
    the newer decision."""
    if policy.kind != "weighted":
        return dict(weights)
    declared_before = (deployed or {}).get("RoutingWeights") if (deployed or {}).get("RoutingPolicy") == "weighted" \
        else None
    if declared_before != routing.parameters.get("RoutingWeights", ""):
        return dict(policy.weights)
    return {env: weights.get(env, policy.weights.get(env, DEFAULT_WEIGHT)) for env in policy.regions}


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
