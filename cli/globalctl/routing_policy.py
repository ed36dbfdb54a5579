"""The routing policy a deployment chooses, read from the routing environment's parameters, checked,
and rendered as a Route 53 traffic policy document.

One rendering is meant for every consumer: `globalctl validate` simulates it with the local
cloud's evaluator (the same code its global entry answers with); the routing stack and
`globalctl traffic` are to take it next (today the routing stack deploys latency only). Every
endpoint stays guarded by its region's health check, whatever the policy.

In samconfig (the routing environment's parameter_overrides):

    RoutingPolicy=latency                      the nearest healthy region (the default)
    RoutingPolicy=geolocation GeoLocations=euw1:eu+GB,use1:na+sa,apse1:as+oc GeoDefault=use1
    RoutingPolicy=weighted RoutingWeights=euw1:60,use1:30,apse1:10
    RoutingPolicy=failover FailoverChain=euw1,use1,apse1
    RoutingPolicy=geolocation-latency LatencyGroups=eu:euw1+euc1,world:use1+apse1
                  GeoLocations=eu:eu GeoDefault=all

Locations: a continent is Route 53's continent code in lower case (eu, na, sa, as, oc, af, an), a
country its ISO 3166-1 code in upper case (GB), a US state "US-CA". The cases keep apart codes
that Route 53 uses for both (NA is North America and Namibia). Under geolocation-latency the keys
of GeoLocations are groups; GeoDefault names a group or `all` (latency over every region).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("latency", "geolocation", "weighted", "failover", "geolocation-latency")
CONTINENTS = ("af", "an", "as", "eu", "na", "oc", "sa")
ALL = "all"
_COUNTRY = re.compile(r"[A-Z]{2}")
_SUBDIVISION = re.compile(r"US-[A-Z]{2}")
_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
# Continent codes that are no country (NA, AS, SA and AF are also countries: upper case means those).
_NOT_COUNTRIES = frozenset({"EU", "OC", "AN"})


class PolicyConfigError(ValueError):
    """The routing environment's policy parameters cannot be read; one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Location:
    continent: str | None = None  # Route 53's code, upper case (EU)
    country: str | None = None
    subdivision: str | None = None

    @classmethod
    def parse(cls, token: str) -> Location:
        if token in CONTINENTS:
            return cls(continent=token.upper())
        if _SUBDIVISION.fullmatch(token):
            return cls(country="US", subdivision=token[3:])
        if _COUNTRY.fullmatch(token) and token not in _NOT_COUNTRIES:
            return cls(country=token)
        if token.lower() in CONTINENTS:
            raise ValueError(f"{token!r} is not a country code; a continent is written in lower case: {token.lower()}")
        raise ValueError(f"{token!r} is neither a continent ({', '.join(CONTINENTS)}), a country (GB) nor a US "
                         "state (US-CA)")

    def label(self) -> str:
        if self.continent:
            return self.continent.lower()
        return f"{self.country}-{self.subdivision}" if self.subdivision else str(self.country)

    def entry(self) -> dict[str, str]:
        """The location's keys in a geo rule entry."""
        if self.continent:
            return {"Continent": self.continent}
        return {"Country": str(self.country), **({"Subdivision": self.subdivision} if self.subdivision else {})}


@dataclass(frozen=True)
class Policy:
    kind: str
    regions: dict[str, str]  # region env -> AWS region, in samconfig order
    locations: dict[str, tuple[Location, ...]] = field(default_factory=dict)  # env or group -> where
    default: str | None = None  # env or group (or `all`) for clients no location matches
    weights: dict[str, int] = field(default_factory=dict)
    chain: tuple[str, ...] = ()
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _pairs(text: str, what: str, problems: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, sep, value = item.partition(":")
        if not sep or not key or not value:
            problems.append(f"{what}: {item!r} is not key:value")
            continue
        out.append((key, value))
    return out


def parse(parameters: Mapping[str, str], regions: Mapping[str, str]) -> Policy:
    """The policy the routing environment's parameters describe; PolicyConfigError if unreadable."""
    kind = parameters.get("RoutingPolicy", "latency") or "latency"
    problems: list[str] = []
    if kind not in KINDS:
        raise PolicyConfigError([f"RoutingPolicy {kind!r} is not one of {', '.join(KINDS)}"])
    policy: dict[str, Any] = {"kind": kind, "regions": dict(regions)}
    if kind in ("geolocation", "geolocation-latency"):
        locations: dict[str, list[Location]] = {}
        for key, value in _pairs(parameters.get("GeoLocations", ""), "GeoLocations", problems):
            for token in value.split("+"):
                try:
                    locations.setdefault(key, []).append(Location.parse(token.strip()))
                except ValueError as error:
                    problems.append(f"GeoLocations: {error}")
        policy["locations"] = {key: tuple(found) for key, found in locations.items()}
        policy["default"] = parameters.get("GeoDefault") or None
    if kind == "geolocation-latency":
        groups = {}
        for group, members in _pairs(parameters.get("LatencyGroups", ""), "LatencyGroups", problems):
            if not _NAME.fullmatch(group) or group == ALL:
                problems.append(f"LatencyGroups: {group!r} is not a group name (lower case, not {ALL!r})")
            groups[group] = tuple(m.strip() for m in members.split("+") if m.strip())
        policy["groups"] = groups
    if kind == "weighted":
        weights = {}
        for env, value in _pairs(parameters.get("RoutingWeights", ""), "RoutingWeights", problems):
            if not value.isdigit() or int(value) > 255:
                problems.append(f"RoutingWeights: the weight of {env} must be 0-255, got {value!r}")
                continue
            weights[env] = int(value)
        policy["weights"] = weights
    if kind == "failover":
        policy["chain"] = tuple(e.strip() for e in parameters.get("FailoverChain", "").split(",") if e.strip())
    if problems:
        raise PolicyConfigError(problems)
    return Policy(**policy)


def problems(policy: Policy) -> list[str]:
    """What makes the policy impossible to deploy or unsafe to serve with, one line each."""
    envs = list(policy.regions)
    found: list[str] = []

    def unknown(names: Iterable[str], what: str) -> None:
        for name in names:
            if name not in policy.regions:
                found.append(f"{what}: {name!r} is not a region environment ({', '.join(envs)})")

    if policy.kind == "weighted":
        unknown(policy.weights, "RoutingWeights")
        missing = [env for env in envs if env not in policy.weights]
        if missing:
            found.append(f"RoutingWeights: no weight for {', '.join(missing)} (0 sends it nothing)")
        if policy.weights and not any(policy.weights.values()):
            found.append("RoutingWeights: every weight is 0: no region would get any client")
    if policy.kind == "failover":
        unknown(policy.chain, "FailoverChain")
        if len(policy.chain) < 2:
            found.append(f"FailoverChain: a chain of {len(policy.chain)} fails over to nothing; name at least two "
                         "regions, the primary first")
        repeated = sorted({env for env in policy.chain if policy.chain.count(env) > 1})
        if repeated:
            found.append(f"FailoverChain: {', '.join(repeated)} appears twice")
    if policy.kind == "geolocation-latency":
        for group, members in policy.groups.items():
            unknown(members, f"LatencyGroups {group}")
            if not members:
                found.append(f"LatencyGroups: group {group!r} has no region")
        unknown_groups = [key for key in policy.locations if key not in policy.groups]
        found += [f"GeoLocations: {key!r} is not a group of LatencyGroups" for key in unknown_groups]
    if policy.kind in ("geolocation", "geolocation-latency"):
        if policy.kind == "geolocation":
            unknown(policy.locations, "GeoLocations")
        found += _claimed_twice(policy.locations)
        if policy.default is None:
            found.append("GeoDefault: geolocation needs a default: a client from a location no entry names would "
                         "get no answer")
        elif policy.kind == "geolocation" and policy.default not in policy.regions:
            found.append(f"GeoDefault: {policy.default!r} is not a region environment ({', '.join(envs)})")
        elif policy.kind == "geolocation-latency" and policy.default not in (*policy.groups, ALL):
            found.append(f"GeoDefault: {policy.default!r} is neither a group of LatencyGroups nor {ALL!r}")
    return found


def _claimed_twice(locations: Mapping[str, tuple[Location, ...]]) -> list[str]:
    owners: dict[Location, list[str]] = {}
    for key, where in locations.items():
        for location in where:
            owners.setdefault(location, []).append(key)
    return [f"GeoLocations: {location.label()} is claimed by {' and '.join(keys)}"
            for location, keys in owners.items() if len(keys) > 1]


GUARD = "guard-{}"
START = "start"
LAST_RESORT = "drained-last-resort"


def guard_rule(env: str, health_check: str) -> dict[str, Any]:
    """The one place a region's health check appears: a failover rule whose both sides are the
    region's endpoint under its health check, so a reference to it is healthy exactly while the
    region is. The routing stack writes these itself (it alone knows the health check ids); the
    rendered rules reference them by name."""
    side = {"EndpointReference": env, "HealthCheck": health_check}
    return {"RuleType": "failover", "Primary": dict(side), "Secondary": dict(side)}


def _ref(rule_id: str) -> dict[str, Any]:
    return {"RuleReference": rule_id, "EvaluateTargetHealth": True}


def _guarded(env: str) -> dict[str, Any]:
    return _ref(GUARD.format(env))


def live_weights(policy: Policy, weights: Mapping[str, int] | None) -> dict[str, int]:
    """Each region's weight as routed: the deployed (or given) weights, 0 meaning drained; under
    the weighted policy the declared weights where none is given."""
    declared = policy.weights if policy.kind == "weighted" else {}
    return {env: int((weights or {}).get(env, declared.get(env, 1))) for env in policy.regions}


def rules(policy: Policy, weights: Mapping[str, int] | None = None) -> tuple[str, dict[str, Any]]:
    """The start rule's id and the policy's rules, every region reached through its guard rule.

    A region of weight 0 is drained, and drained means the same under every policy: it takes no
    client while a serving region can (the policy is rendered over the serving regions only), and
    is the last resort when none can (a failover to the nearest drained region), because a region
    that is merely drained is better than no answer at all."""
    live = live_weights(policy, weights)
    on = [env for env in policy.regions if live[env] > 0]
    drained = [env for env in policy.regions if live[env] == 0]
    found: dict[str, Any] = {}
    if policy.kind == "latency":
        body = _latency_rule(found, "nearest-healthy-region", policy, on)
    elif policy.kind == "weighted":
        found["weighted-regions"] = {"RuleType": "weighted",
                                     "Items": [{"Weight": live[env], **_guarded(env)} for env in on]}
        body = "weighted-regions" if on else None
    elif policy.kind == "failover":
        body = _failover_rules(found, [env for env in policy.chain if env in on])
    else:
        body = _geo_rule(policy, found, on)
    if not drained:
        if body is None:
            raise PolicyConfigError([f"the {policy.kind} policy routes no region"])
        return body, found
    last = _latency_rule(found, LAST_RESORT, policy, drained)
    if body is None:
        return str(last), found
    found[START] = {"RuleType": "failover", "Primary": _ref(body), "Secondary": _ref(str(last))}
    return START, found


def _latency_rule(found: dict[str, Any], rule_id: str, policy: Policy, members: Iterable[str]) -> str | None:
    regions = [{"Region": policy.regions[env], **_guarded(env)} for env in members]
    if not regions:
        return None
    found[rule_id] = {"RuleType": "latency", "Regions": regions}
    return rule_id


def _failover_rules(found: dict[str, Any], chain: list[str]) -> str | None:
    """A chain a, b, c as failover rules: a, else (b, else c)."""
    if not chain:
        return None
    if len(chain) == 1:  # the rest of the chain is drained
        return GUARD.format(chain[0])
    for index in range(len(chain) - 1, 0, -1):
        later = f"failover-{index + 1}"
        found[f"failover-{index}"] = {"RuleType": "failover", "Primary": _guarded(chain[index - 1]),
                                      "Secondary": _ref(later) if later in found else _guarded(chain[index])}
    return "failover-1"


def _geo_rule(policy: Policy, found: dict[str, Any], on: list[str]) -> str | None:
    def target(key: str) -> dict[str, Any] | None:
        if policy.kind == "geolocation":
            return _guarded(key) if key in on else None
        members = [env for env in (policy.regions if key == ALL else policy.groups.get(key, ())) if env in on]
        rule_id = _latency_rule(found, f"group-{key}", policy, members)
        return _ref(rule_id) if rule_id else None

    def default_target(key: str) -> dict[str, Any] | None:
        """Plain geolocation's default region, else the nearest healthy one: a location whose region
        is down falls back to the default (Route 53 tries the broader matches in turn), and a
        default that is down too must still leave its clients a healthy region."""
        preferred = target(key)
        if policy.kind != "geolocation":
            return preferred
        anywhere = _latency_rule(found, "nearest-healthy-region", policy, on)
        if anywhere is None:
            return preferred
        if preferred is None:
            return _ref(anywhere)
        found["default-region"] = {"RuleType": "failover", "Primary": preferred, "Secondary": _ref(anywhere)}
        return _ref("default-region")

    locations = []
    for key, where in policy.locations.items():
        routed = target(key)
        if routed is not None:
            locations += [{**location.entry(), **routed} for location in where]
    default = default_target(policy.default) if policy.default else None
    if default is not None:
        locations.append({"IsDefault": True, **default})
    if not locations:
        return None
    found["by-location"] = {"RuleType": "geo", "Locations": locations}
    return "by-location"


def document(policy: Policy, targets: Mapping[str, str], health_checks: Mapping[str, str],
             weights: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The whole traffic policy document, as the routing stack assembles it: an endpoint and a
    guard rule for every region (drained ones too: they are the last resort), then the rules.
    `targets` maps each region env to the value clients get, `health_checks` to its check's id."""
    start, policy_rules = rules(policy, weights)
    return {
        "AWSPolicyFormatVersion": "2015-10-01", "RecordType": "CNAME", "StartRule": start,
        "Endpoints": {env: {"Type": "value", "Value": targets[env]} for env in policy.regions},
        "Rules": {**{GUARD.format(env): guard_rule(env, health_checks[env]) for env in policy.regions},
                  **policy_rules},
    }


def rendered(policy: Policy, weights: Mapping[str, int] | None = None) -> dict[str, str]:
    """The routing stack's PolicyStart and PolicyRules parameters: the rules as JSON members, to be
    placed after the guard rules the stack writes."""
    start, policy_rules = rules(policy, weights)
    text = json.dumps(policy_rules, separators=(",", ":"))
    return {"PolicyStart": start, "PolicyRules": text[1:-1]}


def unanswered(policy: Policy) -> list[str]:
    """Client locations the policy leaves with no healthy answer while some region is healthy.

    Simulated with the local cloud's traffic-policy evaluator, the code its global entry answers
    with, for every client location it knows: with every region healthy, and with each region the
    only healthy one (a location served with more regions down is served with fewer down too, for
    these policies, since each rule prefers a healthy entry)."""
    from localcloud.route53 import latency
    from localcloud.route53.policy import evaluate

    envs = list(policy.regions)
    doc = document(policy, {env: f"{env}.{region}.policy.invalid" for env, region in policy.regions.items()},
                   {env: env for env in envs})
    found = []
    for healthy in [set(envs), *({env} for env in envs)]:
        stranded = []
        for client in latency.known_regions():
            answer = evaluate(doc, client, lambda check, up=healthy: check in up)
            if not answer.values or not answer.healthy:
                stranded.append(client)
        if stranded:
            up = ("every region" if len(healthy) == len(envs) > 1
                  else "only " + ", ".join(sorted(policy.regions[env] for env in healthy)))
            shown = ", ".join(stranded[:4]) + (f" and {len(stranded) - 4} more" if len(stranded) > 4 else "")
            found.append(f"with {up} healthy, clients in {shown} get no healthy answer")
    return found
