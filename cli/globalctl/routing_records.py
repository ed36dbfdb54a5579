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
  a level is one batch of one routing type (so the stack sets only that type's field).

This module is the pure rendering: `parameters()` is what the routing stack takes (its nested
global/routing-records.yaml creates the records), `record_sets()` what Route 53 then holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from globalctl import routing_policy
from globalctl.routing_policy import GUARD, Policy

RULES_LABEL = "rules"
KINDS = {"latency": "latency", "weighted": "weighted", "failover": "failover", "geo": "geolocation"}
# The routing stack's levels, lowest first: (parameter, routing type, records). The same as
# global/generate_routing_records.py writes into global/routing-records.yaml (a test holds them
# equal). Every policy rendered here fits: latency and weighted rules reference only guards,
# geolocation rules latency and failover ones, failover rules anything below them.
LEVELS = (("LatencyRecords", "latency", 24), ("WeightedRecords", "weighted", 8), ("Failover1Records", "failover", 2),
          ("GeoRecords", "geolocation", 24), ("Failover2Records", "failover", 2), ("Failover3Records", "failover", 2),
          ("Failover4Records", "failover", 2), ("Failover5Records", "failover", 2))
FIELDS = ("Name", "SetIdentifier", "value", "target", "CountryCode", "SubdivisionCode")
EMPTY_ITEM = "|" * (len(FIELDS) - 1)


def name_of(rule_id: str, start: str, record_name: str) -> str:
    return record_name if rule_id == start else f"{rule_id}.{RULES_LABEL}.{record_name}"


def guards(policy: Policy, record_name: str, targets: Mapping[str, str], target_zones: Mapping[str, str],
           health_checks: Mapping[str, str]) -> list[dict[str, Any]]:
    """One guard record set per region, as the stack writes it (it alone knows the check ids)."""
    return [{"Name": f"{GUARD.format(env)}.{RULES_LABEL}.{record_name}", "Type": "A", "SetIdentifier": env,
             "Region": region, "HealthCheckId": health_checks[env],
             "AliasTarget": {"DNSName": targets[env], "HostedZoneId": target_zones[env], "EvaluateTargetHealth": True}}
            for env, region in policy.regions.items()]


def levels(policy: Policy, record_name: str, zone_id: str,
           weights: Mapping[str, int] | None = None) -> dict[str, list[dict[str, Any]]]:
    """The policy's record sets above the guards, by the stack's level (parameter) they go in.
    PolicyConfigError when they do not fit (a failover chain longer than the failover levels)."""
    start, rules = routing_policy.rules(policy, weights)
    if start.startswith(GUARD.format("")):  # one region serves: the name still needs a record set of its own
        env = start.removeprefix(GUARD.format(""))
        rules["only-region"] = {"RuleType": "latency", "Regions": [
            {"Region": policy.regions[env], "RuleReference": start, "EvaluateTargetHealth": True}]}
        start = "only-region"
    placed: dict[str, int] = {}
    found: dict[str, list[dict[str, Any]]] = {level: [] for level, _, _ in LEVELS}
    for rule_id in _children_first(start, rules):
        rule = rules[rule_id]
        name = name_of(rule_id, start, record_name)
        records = [{"Name": name, "Type": "A", **routing,
                    "AliasTarget": {"DNSName": name_of(ref, start, record_name), "HostedZoneId": zone_id,
                                    "EvaluateTargetHealth": True}}
                   for routing, ref in _records_of(rule)]
        above = max((placed.get(ref, -1) for ref in _references(rule)), default=-1)
        index = next((i for i, (level, kind, room) in enumerate(LEVELS) if i > above and kind == KINDS[rule["RuleType"]]
                      and len(found[level]) + len(records) <= room), None)
        if index is None:
            raise routing_policy.PolicyConfigError([
                f"RoutingMode=latency-records has no room for the {policy.kind} policy's rule {rule_id!r} "
                f"(levels: {', '.join(f'{kind} x{room}' for _, kind, room in LEVELS)}); use RoutingMode=traffic-policy"])
        placed[rule_id] = index
        found[LEVELS[index][0]] += records
    return found


# Stands for RecordName in the level parameters; the stack puts RecordName in its place, so what
# globalctl renders does not depend on a template default it would have to read.
RECORD_NAME = "@"


def parameters(policy: Policy, weights: Mapping[str, int] | None = None) -> dict[str, str]:
    """The routing stack's level parameters: each record as "name|set id|value|target|country|
    subdivision", names ending in "@" for RecordName, padded with empty entries to the level's room."""
    found = levels(policy, RECORD_NAME, "", weights)
    return {level: ",".join([*(_encoded(record) for record in found[level]), *[EMPTY_ITEM] * (room - len(found[level]))])
            for level, _, room in LEVELS}


def _encoded(record: dict[str, Any]) -> str:
    where = record.get("GeoLocation", {})
    value = record.get("Region") or record.get("Weight") or record.get("Failover") or where.get("ContinentCode", "")
    fields = (record["Name"], record["SetIdentifier"], str(value), record["AliasTarget"]["DNSName"],
              where.get("CountryCode", ""), where.get("SubdivisionCode", ""))
    return "|".join(fields)


def _references(rule: dict[str, Any]) -> list[str]:
    return [entry["RuleReference"] for _, entry in _entries(rule)]


def _entries(rule: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(the record's routing fields, the entry) for each entry of a rule."""
    kind = rule["RuleType"]
    if kind == "failover":  # named for what they point to: a records path then reads like a rule path
        return [({"SetIdentifier": rule[side]["RuleReference"], "Failover": side.upper()}, rule[side])
                for side in ("Primary", "Secondary")]
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
            *(record for records in levels(policy, record_name, zone_id, weights).values() for record in records)]


# --- the routing stack's rendered parameters, both modes ------------------------------------------

# CloudFormation's limit on a parameter value ("CloudFormation quotas", User Guide): the rendered
# rules travel as one.
MAX_PARAMETER_BYTES = 4096


def stack_parameters(policy: Policy, mode: str, weights: Mapping[str, int] | None = None) -> dict[str, str]:
    """PolicyStart and PolicyRules (traffic-policy mode) and the record levels (records mode; empty
    lists in the other mode, so switching modes never leaves a previous value behind)."""
    rendered = routing_policy.rendered(policy, weights)
    if mode == "latency-records":
        return {**rendered, **parameters(policy, weights)}
    return {**rendered, **{level: ",".join([EMPTY_ITEM] * room) for level, _, room in LEVELS}}


def deployable(parameters_: Mapping[str, str], regions: Mapping[str, str]) -> tuple[Policy | None, list[str]]:
    """The policy the routing environment declares, and what keeps it from being deployed as
    declared (one line each): unreadable or impossible settings, a policy the routing mode cannot
    hold, a rendered parameter longer than CloudFormation takes."""
    try:
        policy = routing_policy.parse(parameters_, regions)
    except routing_policy.PolicyConfigError as error:
        return None, error.problems
    found = routing_policy.problems(policy)
    if found:
        return policy, found
    mode = parameters_.get("RoutingMode", "traffic-policy")
    try:
        rendered = stack_parameters(policy, mode)
    except routing_policy.PolicyConfigError as error:
        return policy, error.problems
    too_long = {key: len(value.encode()) for key, value in rendered.items() if len(value.encode()) > MAX_PARAMETER_BYTES}
    return policy, [f"the {policy.kind} policy renders {size} bytes into {key}; a CloudFormation parameter takes at "
                    f"most {MAX_PARAMETER_BYTES}: name continents rather than many countries"
                    for key, size in too_long.items()]
