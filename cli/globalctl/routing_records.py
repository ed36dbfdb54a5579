"""The routing policy as plain Route 53 record sets (RoutingMode=latency-records): the same rules
as the traffic policy document, each rule a record set whose records alias the record sets of the
rules it references, down to one guard record set per region.

- A rule's records live at `<rule id>.rules.<RecordName>`; the start rule's at RecordName itself.
- A guard is `guard-<env>.rules.<RecordName>`: one latency record carrying the region's health
  check and aliasing the region's target. Every other record aliases a name in the same zone with
  EvaluateTargetHealth, so a record is healthy exactly while the rule it points to can answer with
  a healthy region ("How health checks work in complex Amazon Route 53 configurations").
- Route 53 refuses an alias to a record that does not exist yet, even within one change batch
  (aws-cli users meet "Tried to create an alias that targets ... but that target was not found"),
  so the record sets are created in levels: a rule's level is above every rule it references, and
  a level is one batch of one routing type (a level holds no two kinds, so the stack can set the
  type-specific fields per level).

This module is the pure rendering; `records()` output is what the routing stack creates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from globalctl import routing_policy
from globalctl.routing_policy import GUARD, Policy

RULES_LABEL = "rules"
KINDS = {"latency": "latency", "weighted": "weighted", "failover": "failover", "geo": "geolocation"}


@dataclass
class Level:
    kind: str  # latency | weighted | failover | geolocation
    records: list[dict[str, Any]] = field(default_factory=list)


def name_of(rule_id: str, start: str, record_name: str) -> str:
    return record_name if rule_id == start else f"{rule_id}.{RULES_LABEL}.{record_name}"


def guards(policy: Policy, record_name: str, targets: Mapping[str, str], target_zones: Mapping[str, str],
           health_checks: Mapping[str, str]) -> list[dict[str, Any]]:
    """One guard record set per region, as the stack writes it (it alone knows the check ids)."""
    return [{"Name": f"{GUARD.format(env)}.{RULES_LABEL}.{record_name}", "Type": "A", "SetIdentifier": env,
             "Region": region, "HealthCheckId": health_checks[env],
             "AliasTarget": {"DNSName": targets[env], "HostedZoneId": target_zones[env], "EvaluateTargetHealth": True}}
            for env, region in policy.regions.items()]


def levels(policy: Policy, record_name: str, zone_id: str, weights: Mapping[str, int] | None = None) -> list[Level]:
    """The policy's record sets above the guards, level by level (level 1 first)."""
    start, rules = routing_policy.rules(policy, weights)
    if start.startswith(GUARD.format("")):  # one region serves: the name still needs a record set of its own
        env = start.removeprefix(GUARD.format(""))
        rules["only-region"] = {"RuleType": "latency", "Regions": [
            {"Region": policy.regions[env], "RuleReference": start, "EvaluateTargetHealth": True}]}
        start = "only-region"
    placed: dict[str, int] = {}
    kinds: dict[int, str] = {}
    for rule_id in _children_first(start, rules):
        kind = KINDS[rules[rule_id]["RuleType"]]
        level = 1 + max((placed.get(ref, 0) for ref in _references(rules[rule_id])), default=0)
        while kinds.get(level, kind) != kind:  # a level holds one routing type: go up to the next that fits
            level += 1
        kinds[level] = kind
        placed[rule_id] = level
    found = [Level(kinds[level]) for level in range(1, max(kinds) + 1)]
    for rule_id, level in placed.items():
        name = name_of(rule_id, start, record_name)
        found[level - 1].records += [
            {"Name": name, "Type": "A", **routing,
             "AliasTarget": {"DNSName": name_of(ref, start, record_name), "HostedZoneId": zone_id,
                             "EvaluateTargetHealth": True}}
            for routing, ref in _records_of(rules[rule_id])]
    return found  # no level is empty: a rule stops at the first level that is free or of its kind


def _references(rule: dict[str, Any]) -> list[str]:
    return [entry["RuleReference"] for _, entry in _entries(rule)]


def _entries(rule: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(the record's routing fields, the entry) for each entry of a rule."""
    kind = rule["RuleType"]
    if kind == "failover":
        return [({"SetIdentifier": side.lower(), "Failover": side.upper()}, rule[side]) for side in ("Primary", "Secondary")]
    if kind == "latency":
        return [({"SetIdentifier": entry["RuleReference"], "Region": entry["Region"]}, entry) for entry in rule["Regions"]]
    if kind == "weighted":
        return [({"SetIdentifier": entry["RuleReference"], "Weight": int(entry["Weight"])}, entry)
                for entry in rule["Items"]]
    out = []
    for entry in rule["Locations"]:
        if entry.get("IsDefault"):
            where, label = {"CountryCode": "*"}, "default"
        elif entry.get("Continent"):
            where, label = {"ContinentCode": entry["Continent"]}, entry["Continent"].lower()
        else:
            where = {"CountryCode": entry["Country"], **({"SubdivisionCode": entry["Subdivision"]}
                                                         if entry.get("Subdivision") else {})}
            label = "-".join(where.values())
        out.append(({"SetIdentifier": label, "GeoLocation": where}, entry))
    return out


def _records_of(rule: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    return [(routing, entry["RuleReference"]) for routing, entry in _entries(rule)]


def _children_first(start: str, rules: Mapping[str, Any]) -> list[str]:
    order: list[str] = []

    def visit(rule_id: str) -> None:
        if rule_id in order or rule_id not in rules:  # guards are not rules of the policy
            return
        for ref in _references(rules[rule_id]):
            visit(ref)
        order.append(rule_id)

    visit(start)
    return order


def record_sets(policy: Policy, record_name: str, zone_id: str, targets: Mapping[str, str],
                target_zones: Mapping[str, str], health_checks: Mapping[str, str],
                weights: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """Every record set of the routing, guards included, shaped as ListResourceRecordSets returns them."""
    return [*guards(policy, record_name, targets, target_zones, health_checks),
            *(record for level in levels(policy, record_name, zone_id, weights) for record in level.records)]
