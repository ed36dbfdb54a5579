"""The routing stack's weights: a region's share of the global traffic, drained (weight 0: out of
the traffic policy's rule or the latency records, its health check kept) or serving, and the wait
until the routing is seen to have changed. Used by the rollout, the drill, failover and status.

The change is a CloudFormation update of the routing stack with its previous template, so the
routing stays exactly what `sam deploy --config-env routing` made, but for one weight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from globalctl import aws, routing_policy, routing_records
from globalctl.endpoints import Endpoints, http
from globalctl.exceptions import GlobalctlError
from globalctl.parameters import DEFAULT_WEIGHT, weights_from_deployed
from globalctl.stacks import CAPABILITIES, check_deployable, wait_settled
from globalctl.topology import Topology

OBSERVE_TIMEOUT_SECONDS = 60.0
# On AWS a drain is observable only through DNS: waiting out the record TTL is the honest bound.
MAX_TTL_WAIT_SECONDS = 60


class RoutingMissing(GlobalctlError):
    """Draining needs the routing stack, and it is not deployed."""


def routing_stack(topology: Topology) -> tuple[str, str, dict[str, str]]:
    routing = topology.routing
    if routing is None:
        raise RoutingMissing("samconfig has no routing environment (template_file = \"global/routing.yaml\")")
    stack = aws.describe_stack(routing.stack_name, routing.region)
    if stack is None:
        raise RoutingMissing(f"the routing stack {routing.stack_name} is not deployed in {routing.region}: "
                             f"deploy it first (globalctl rollout deploys it last)")
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    return routing.stack_name, routing.region, parameters


def weights(topology: Topology) -> dict[str, int]:
    """Each routed region env's deployed weight. A region env the deployed routing does not route
    yet (one being added) is left out: it serves nobody, drained or not."""
    _, _, parameters = routing_stack(topology)
    deployed = weights_from_deployed(parameters)
    return {env.name: deployed[env.name] for env in topology.regions if env.name in deployed}


def serving(topology: Topology) -> dict[str, bool]:
    """Each routed region env: serving (weight > 0) or drained; unrouted envs are not listed."""
    return {env: weight > 0 for env, weight in weights(topology).items()}


def serving_ready(topology: Topology) -> dict[str, bool]:
    """Each region env's traffic state, once the routing stack can take a weight update: deployed
    (else RoutingMissing), neither in flight nor stuck (UPDATE_ROLLBACK_FAILED)."""
    if topology.routing is not None:
        check_deployable(topology.routing)
    return serving(topology)


def set_weight(topology: Topology, env_name: str, weight: int) -> bool:
    """Set one region's weight; False when it already had it. Concurrent calls share updates."""
    return set_weights(topology, {env_name: weight})


def set_weights(topology: Topology, weights: Mapping[str, int]) -> bool:
    """Set several regions' weights in one routing update (the raised ones first, so lowering
    others to 0 never looks like draining every region); False when none changed."""
    for env_name in weights:
        topology.env(env_name)
    ordered = sorted(weights.items(), key=lambda item: item[1] == 0)
    return _BATCHER.submit(topology, [_Change(env, weight) for env, weight in ordered])


def serving_weight(topology: Topology, env_name: str) -> int:
    """The weight a restored region gets back: its declared weight under the weighted policy
    (RoutingWeights, as the routing stack carries it), else the plain serving weight."""
    _, _, parameters = routing_stack(topology)
    policy = deployed_policy(parameters)
    declared = policy.weights.get(env_name, 0) if policy.kind == "weighted" else 0
    return declared or DEFAULT_WEIGHT


def deployed_policy(parameters: dict[str, str]) -> routing_policy.Policy:
    """The routing policy a deployed routing stack declares (its parameters), over the regions it routes."""
    envs = [e for e in parameters.get("Envs", "").split(",") if e]
    regions = dict(zip(envs, parameters.get("Regions", "").split(","), strict=False))
    try:
        return routing_policy.parse(parameters, regions)
    except routing_policy.PolicyConfigError as error:
        raise GlobalctlError(f"the deployed routing policy cannot be read: {error}") from None


def health_check_ids(parameters: dict[str, str], outputs: dict[str, str]) -> dict[str, str]:
    """Each routed region env's Route 53 health check id (slot N's is the HealthCheckN output)."""
    envs = [e for e in parameters.get("Envs", "").split(",") if e]
    return {env: outputs[f"HealthCheck{slot}"] for slot, env in enumerate(envs) if f"HealthCheck{slot}" in outputs}


class _WeightBatch:
    """Group commit for the routing stack's weights.

    One routing stack carries every region's weight and CloudFormation refuses concurrent updates,
    so the regions of a parallel wave used to drain (and restore) one stack update at a time: on
    AWS, five regions meant five routing updates in a row before the last one could deploy. Now
    the first caller applies its change; the changes that arrive meanwhile wait and then ride the
    next update together, each checked on its own (one refused change fails only its caller)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[_Change] = []
        self._leading = False

    def submit(self, topology: Topology, changes: list[_Change]) -> bool:
        with self._cond:
            self._queue.extend(changes)
            while not all(change.done for change in changes) and self._leading:
                self._cond.wait()
            if all(change.done for change in changes):
                return _outcome(changes)
            self._leading = True
        try:
            while True:
                with self._cond:
                    batch, self._queue = self._queue, []
                    if not batch:
                        break
                _apply(topology, batch)
                with self._cond:
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._leading = False
                self._cond.notify_all()
        return _outcome(changes)


def _outcome(changes: list[_Change]) -> bool:
    return any([change.outcome() for change in changes])


class _Change:
    def __init__(self, env_name: str, weight: int) -> None:
        self.env_name, self.weight = env_name, weight
        self.done = False
        self.changed = False
        self.error: BaseException | None = None

    def settle(self, changed: bool = False, error: BaseException | None = None) -> None:
        self.done, self.changed, self.error = True, changed, error

    def outcome(self) -> bool:
        if self.error is not None:
            raise self.error
        return self.changed


_BATCHER = _WeightBatch()


def _apply(topology: Topology, batch: list[_Change]) -> None:
    """One routing-stack update for every acceptable change of the batch; every change settled."""
    try:
        stack_name, region, parameters = routing_stack(topology)
        current = weights(topology)
    except BaseException as error:  # noqa: BLE001 - handed to every caller, none is lost
        for change in batch:
            change.settle(error=error)
        return
    envs = [e for e in parameters.get("Envs", "").split(",") if e]
    accepted = []
    for change in batch:
        if change.env_name not in envs:
            change.settle(error=GlobalctlError(f"the deployed routing does not route {change.env_name} yet: "
                                               f"run a rollout first"))
        elif current.get(change.env_name) == change.weight:
            change.settle(changed=False)
        elif all(value == 0 for env, value in current.items() if env != change.env_name) and change.weight == 0:
            change.settle(error=GlobalctlError(f"draining {change.env_name} would drain every region: "
                                               f"at least one must serve"))
        else:
            current[change.env_name] = change.weight
            accepted.append(change)
    if not accepted:
        return
    try:
        changed = _update_weights(stack_name, region, parameters, envs, current)
    except BaseException as error:  # noqa: BLE001 - handed to every caller of the update
        for change in accepted:
            change.settle(error=error)
        return
    for change in accepted:
        change.settle(changed=changed)


def _update_weights(stack_name: str, region: str, parameters: dict[str, str], envs: list[str],
                    current: dict[str, int]) -> bool:
    from botocore.exceptions import ClientError

    given = {"Weights": ",".join(str(current.get(env, DEFAULT_WEIGHT)) for env in envs),
             **_rendered_policy(parameters, current)}
    cloudformation = aws.client("cloudformation", region)
    try:
        cloudformation.update_stack(
            StackName=stack_name, UsePreviousTemplate=True, Capabilities=CAPABILITIES,
            Parameters=[{"ParameterKey": key, "ParameterValue": given[key]} if key in given
                        else {"ParameterKey": key, "UsePreviousValue": True} for key in parameters])
    except ClientError as error:
        if "No updates are to be performed" in str(error):
            return False
        raise GlobalctlError(f"updating the routing stack: {error}") from None
    status = wait_settled(region, stack_name)
    if status != "UPDATE_COMPLETE":
        raise GlobalctlError(f"the routing stack update ended {status}")
    return True


def _rendered_policy(parameters: dict[str, str], weights: dict[str, int]) -> dict[str, str]:
    """The traffic policy's rules re-rendered for the new weights, from the declaration the stack
    carries (a drained region moves to the last resort; a shift changes the weighted items). A
    stack deployed before routing policies existed has no such parameters and needs none."""
    if "PolicyRules" not in parameters:
        return {}
    rendered = routing_records.stack_parameters(deployed_policy(parameters),
                                                parameters.get("RoutingMode", "traffic-policy"), weights)
    # A stack deployed before records mode took every policy has no level parameters.
    return {key: value for key, value in rendered.items() if key in parameters}


def wait_observed(topology: Topology, endpoints: Endpoints, env_name: str, drained: bool) -> float:
    """Seconds until the routing answers as changed.

    On the local cloud its resolver is asked from every client location it knows: drained, the
    region answers nobody but as the last resort; restored, it is nobody's last resort any more
    (whether it then answers anyone is the policy's business: a failover secondary answers no one
    while the primary is up). On AWS only DNS would tell, so the wait is the record TTL (bounded)."""
    started = time.monotonic()
    region = topology.env(env_name).region
    if not endpoints.local:
        _, _, parameters = routing_stack(topology)
        time.sleep(min(int(parameters.get("RecordTtl", "60") or 60), MAX_TTL_WAIT_SECONDS))
        return time.monotonic() - started
    from localcloud.route53.latency import known_regions

    name = routing_stack(topology)[2].get("RecordName", "")
    deadline = started + OBSERVE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        answers = [_local_resolve(endpoints, name, location) for location in known_regions()]
        if all(answer is not None and _as_changed(answer, region, drained) for answer in answers):
            return time.monotonic() - started
        time.sleep(0.2)
    raise GlobalctlError(f"{env_name}: the routing did not {'drain' if drained else 'restore'} it within "
                         f"{OBSERVE_TIMEOUT_SECONDS:.0f} s")


def _as_changed(answer: dict, region: str, drained: bool) -> bool:
    last_resort = routing_policy.LAST_RESORT in answer.get("path", [])
    if drained:
        return answer.get("region") != region or last_resort
    return not (last_resort and answer.get("region") == region)


def _local_resolve(endpoints: Endpoints, name: str, location: str) -> dict | None:
    """The local resolver's answer (region, rule path) for a client in `location`."""
    if endpoints.state is None:  # the local cloud went away: no answer, the caller's deadline decides
        return None
    answer = http("POST", f"{endpoints.state['endpoint']}/_localcloud/resolve", {"name": name, "from": location})
    return (answer.json() or {}) if answer.status == 200 else None
