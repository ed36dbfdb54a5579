"""Where the global routing sends clients now, and weighted shifts made step by step.

`where` answers, for each client location, which region Route 53 would answer with and by which
rules, from what is deployed: the routing stack's traffic policy document (or its record sets)
and its health checks' status, evaluated with the same code the local cloud's global entry
answers with. So it reads the same on AWS as on the local cloud, and on the local cloud it must
agree with where the global entry actually sends requests (the tests hold it to that).

A weighted rule answers each client with one region at random, by weight: such a location is
shown with each region's share instead of one region.

`shift` moves a region's share of the weighted traffic to a target in steps; each step is one
routing update (the same batched weight update drains use) followed by the alarms gate on every
serving region, and a fired alarm puts every weight back as it was before the shift.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from globalctl import aws, routing, routing_policy
from globalctl.exceptions import GlobalctlError
from globalctl.parameters import weights_from_deployed
from globalctl.topology import Topology

# Route 53 counts an endpoint healthy while more than 18% of its checkers report it healthy
# ("How Amazon Route 53 determines whether a health check is healthy", Route 53 Developer Guide).
HEALTHY_CHECKER_SHARE = 0.18


@dataclass
class Deployed:
    """The routing as deployed: its declaration, live weights, health and what Route 53 evaluates."""

    mode: str
    policy: routing_policy.Policy
    weights: dict[str, int]
    health: dict[str, bool]  # region env -> healthy, as Route 53's checkers see it now
    health_checks: dict[str, str]  # region env -> health check id
    document: dict[str, Any] | None = None  # traffic-policy mode
    record_sets: list[dict[str, Any]] = field(default_factory=list)  # records mode
    record_name: str = ""

    def healthy_check(self, check_id: str) -> bool:
        env = next((e for e, c in self.health_checks.items() if c == check_id), None)
        return self.health.get(env, True) if env else True


@dataclass
class Routed:
    """One client location's answer: each region's share (1.0 for a single answer) and the rules."""

    location: str
    shares: dict[str, float]  # AWS region -> share of this location's clients
    path: list[str]
    failed_open: bool  # nothing on the way was healthy: Route 53 answered as if everything were

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.location, "shares": {r: round(s, 4) for r, s in self.shares.items()},
                "path": self.path, "failed_open": self.failed_open}


def declared(topology: Topology) -> tuple[routing_policy.Policy, dict[str, str], dict[str, str]]:
    """The deployed routing's policy (as its stack's parameters declare it), its parameters and outputs."""
    stack_name, region, parameters = routing.routing_stack(topology)
    outputs = aws.outputs_of(aws.describe_stack(stack_name, region))
    return routing.deployed_policy(parameters), parameters, outputs


def deployed(topology: Topology) -> Deployed:
    policy, parameters, outputs = declared(topology)
    route53 = aws.client("route53", "us-east-1")
    checks = routing.health_check_ids(parameters, outputs)
    health = {env: _checkers_say_healthy(route53.get_health_check_status(HealthCheckId=check)
                                         ["HealthCheckObservations"]) for env, check in checks.items()}
    mode = parameters.get("RoutingMode", "traffic-policy")
    found = Deployed(mode, policy, weights_from_deployed(parameters), health, checks,
                     record_name=parameters.get("RecordName", ""))
    needed = "TrafficPolicyInstanceId" if mode == "traffic-policy" else "RoutingZoneId"
    if needed not in outputs:
        raise GlobalctlError(f"the routing stack has no {needed} output: redeploy it (globalctl rollout)")
    if mode == "traffic-policy":
        instance = route53.get_traffic_policy_instance(Id=outputs[needed])["TrafficPolicyInstance"]
        version = route53.get_traffic_policy(Id=instance["TrafficPolicyId"], Version=instance["TrafficPolicyVersion"])
        found.document = json.loads(version["TrafficPolicy"]["Document"])
    else:
        pages = route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=outputs[needed])
        found.record_sets = [record for page in pages for record in page["ResourceRecordSets"]]
    return found


def _checkers_say_healthy(observations: list[dict]) -> bool:
    """Each checker's newest report; healthy while more than 18% of the checkers say Success.
    No report yet: healthy, as Route 53 treats a new health check."""
    newest: dict[str, dict] = {}
    for observation in observations:
        checked = observation.get("StatusReport", {})
        known = newest.get(observation.get("Region", ""))
        if known is None or str(checked.get("CheckedTime", "")) > str(known.get("CheckedTime", "")):
            newest[observation.get("Region", "")] = checked
    if not newest:
        return True
    healthy = sum(1 for report in newest.values() if str(report.get("Status", "")).startswith("Success"))
    return healthy / len(newest) > HEALTHY_CHECKER_SHARE


def where(found: Deployed, locations: Iterable[str]) -> list[Routed]:
    return [_route(found, location) for location in locations]


def _route(found: Deployed, location: str) -> Routed:
    from localcloud.route53 import policy, records

    def answer(rng: Any) -> Any:
        if found.document is not None:
            return policy.evaluate(found.document, location, found.healthy_check, rng)
        return records.resolve_records(found.record_sets, found.record_name, "A", location, found.healthy_check, rng)

    first = _Enumerating(0)
    shown = answer(first)
    shares: dict[str, float] = {}
    if first.population is None:  # no random pick on the way: one answer
        shares[shown.region or "?"] = 1.0
    else:  # every weight 0 (or no weights: a plain random choice) picks uniformly
        weights = first.weights if first.weights and sum(first.weights) else [1] * first.population
        for pick, weight in enumerate(weights):
            region = answer(_Enumerating(pick)).region or "?"
            shares[region] = shares.get(region, 0.0) + weight / sum(weights)
    return Routed(location, dict(sorted(shares.items(), key=lambda s: -s[1])), list(shown.path), not shown.healthy)


class _Enumerating(random.Random):
    """An rng that takes the `pick`-th option of the first random choice and remembers its weights,
    so every branch of a weighted rule can be followed once."""

    def __init__(self, pick: int):
        super().__init__(0)
        self.pick = pick
        self.population: int | None = None
        self.weights: list[float] | None = None

    def choices(self, population: Any, weights: Any = None, *, cum_weights: Any = None, k: int = 1) -> list:
        options = list(population)
        if self.population is None:
            self.population, self.weights = len(options), list(weights) if weights is not None else None
        return [options[self.pick % len(options)]] * k

    def choice(self, seq: Any) -> Any:
        return self.choices(seq)[0]


# --- shift -------------------------------------------------------------------------------------------

def share_of(weights: Mapping[str, int], env: str) -> float:
    total = sum(weights.values())
    return 100.0 * weights.get(env, 0) / total if total else 0.0


def weights_for_share(weights: Mapping[str, int], env: str, percent: float) -> dict[str, int]:
    """Weights giving `env` `percent` of the weighted traffic, the other serving regions keeping
    their proportions; every weight within Route 53's 0-255. 0% drains it, 100% drains the others."""
    if not 0 <= percent <= 100:
        raise GlobalctlError(f"--to must be a percentage from 0 to 100, got {percent:g}")
    others = {e: w for e, w in weights.items() if e != env}
    if percent >= 100:
        return {**{e: 0 for e in others}, env: max(weights.get(env, 0), 1)}
    if percent <= 0:
        return {**others, env: 0}
    if not any(others.values()):
        raise GlobalctlError(f"every other region has weight 0: {env} can have only 100% or nothing")
    wanted = percent * sum(others.values()) / (100 - percent)
    # Scaled so the largest weight is 255: the finest shares Route 53's integer weights allow.
    scale = 255 / max(wanted, *others.values())
    shifted = {e: (max(1, round(w * scale)) if w else 0) for e, w in others.items()}
    shifted[env] = max(1, round(wanted * scale))
    return shifted


def steps_to(weights: Mapping[str, int], env: str, percent: float, step: float) -> list[dict[str, int]]:
    """The weights of each step from env's share now to `percent`, at most `step` points apart."""
    if step <= 0:
        raise GlobalctlError(f"--step must be more than 0, got {step:g}")
    now = share_of(weights, env)
    count = max(1, int(-(-abs(percent - now) // step)))
    shares = [now + (percent - now) * (i + 1) / count for i in range(count)]
    return [weights_for_share(weights, env, share) for share in shares]


@dataclass
class ShiftReport:
    env: str
    before: dict[str, int]
    steps: list[dict[str, Any]]
    undone: str | None = None  # why, when an alarm undid the shift

    def to_dict(self) -> dict[str, Any]:
        return {"env": self.env, "before": self.before, "steps": self.steps, "undone": self.undone}


def shift(topology: Topology, env: str, percent: float, step: float, bake_seconds: float,
          gate: Callable[[float], None], report: Callable[[str], None] = lambda _line: None) -> ShiftReport:
    """Move env's share to `percent` in steps: each step one routing update, then `gate(bake)`
    (raises GateFailed on an alarm). A failed gate sets every weight back as before and re-raises."""
    from globalctl.gates import GateFailed

    policy, parameters, _ = declared(topology)
    if policy.kind != "weighted":
        raise GlobalctlError(f"traffic shift needs RoutingPolicy=weighted; the routing deployed is "
                             f"{policy.kind} (set RoutingPolicy=weighted and RoutingWeights in samconfig, "
                             f"then roll out)")
    before = weights_from_deployed(parameters)
    if env not in before:
        raise GlobalctlError(f"{env} is not routed by the deployed routing ({', '.join(before)})")
    result = ShiftReport(env, before, [])
    for weights in steps_to(before, env, percent, step):
        routing.set_weights(topology, weights)
        share = share_of(weights, env)
        report(f"{env} at {share:.1f}% (weights {_text(weights)}); alarms watched for {bake_seconds:g} s")
        try:
            gate(bake_seconds)
        except GateFailed as failed:
            routing.set_weights(topology, before)
            result.undone = str(failed)
            result.steps.append({"weights": weights, "share": round(share, 2), "gate": "failed"})
            report(f"alarm: {failed}; every weight set back to {_text(before)}")
            raise ShiftUndone(result) from None
        result.steps.append({"weights": weights, "share": round(share, 2), "gate": "passed"})
    return result


class ShiftUndone(GlobalctlError):
    def __init__(self, report: ShiftReport):
        super().__init__(f"traffic shift of {report.env} undone: {report.undone}; weights are back to "
                         f"{_text(report.before)}")
        self.report = report


def _text(weights: Mapping[str, int]) -> str:
    return ",".join(f"{env}:{weight}" for env, weight in weights.items())
