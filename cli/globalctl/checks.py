"""Topology checks: what must hold before anything is deployed. Pure: a Topology in, findings out."""

from __future__ import annotations

import re
from dataclasses import dataclass

from globalctl.topology import Topology

# Slots the global templates provide (global/table.yaml Replica0..N-1, global/routing.yaml Slot0..N-1).
MAX_REGIONS = 8
ROUTING_REGION = "us-east-1"
ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
REGION_CODE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")

# MRSC (strong consistency) region sets: every replica and the witness in one of these.
MRSC_REGION_SETS = {
    "US": frozenset({"us-east-1", "us-east-2", "us-west-2"}),
    "EU": frozenset({"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1"}),
    "AP": frozenset({"ap-northeast-1", "ap-northeast-2", "ap-northeast-3"}),
}


@dataclass(frozen=True)
class Finding:
    where: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.rule}: {self.message}"


def check_topology(topology: Topology) -> list[Finding]:
    where = topology.config_path.name
    findings: list[Finding] = []

    def add(rule: str, message: str) -> None:
        findings.append(Finding(where, rule, message))

    for env in topology.environments:
        if not ENV_NAME.match(env.name):
            add("env-name", f"environment {env.name!r}: names are lower-case letters, digits and '-', 1-32 long")
        if not env.stack_name:
            add("stack-name", f"environment {env.name!r} has no stack_name")
        if not REGION_CODE.match(env.region):
            add("region", f"environment {env.name!r}: {env.region or 'no region'!s} is not an AWS region code")

    regions = topology.regions
    if not regions:
        add("regions", "no region environment (an environment deploying template.yaml)")
    if len(regions) > MAX_REGIONS:
        add("regions", f"{len(regions)} regions; the global templates hold at most {MAX_REGIONS}")
    seen: dict[str, str] = {}
    for env in regions:
        if env.region in seen:
            add("regions", f"environments {seen[env.region]!r} and {env.name!r} both deploy to {env.region}")
        seen.setdefault(env.region, env.name)
        if "CAPABILITY_AUTO_EXPAND" not in env.capabilities:
            add("capabilities", f"environment {env.name!r}: nested applications need CAPABILITY_AUTO_EXPAND")

    for kind in ("table", "routing"):
        count = sum(1 for env in topology.environments if env.kind == kind)
        if count != 1:
            add(kind, f"expected exactly one {kind} environment (template_file = \"global/{kind}.yaml\"), found {count}")

    table, routing = topology.table, topology.routing
    if table and regions and table.region not in seen:
        add("home-region", f"home region {table.region} (environment {table.name!r}) is not one of the regions: "
            + ", ".join(sorted(seen)))
    if routing and routing.region != ROUTING_REGION:
        add("routing-region", f"environment {routing.name!r} deploys to {routing.region}; Route 53 traffic policies "
            f"are offered in {ROUTING_REGION}, so the routing stack must deploy there")

    names = {env.parameters.get("TableName", "global-items") for env in regions}
    if table:
        names.add(table.parameters.get("TableName", "global-items"))
    if len(names) > 1:
        add("table-name", "regions and the table stack disagree on TableName: " + ", ".join(sorted(names)))

    if table:
        findings.extend(Finding(where, "mrsc", m) for m in mrsc_violations(topology))
    if routing and regions:
        findings.extend(Finding(where, "routing-policy", m) for m in routing_policy_problems(topology))
    if routing and routing.parameters.get("RoutingMode") == "latency-records":
        for env in regions:
            if not env.parameters.get("DomainName"):
                add("latency-records", f"environment {env.name!r} has no DomainName: latency alias records "
                    "point at each region's custom domain")
    return findings


def routing_policy_problems(topology: Topology) -> list[str]:
    """The routing policy's impossible settings; then, if it has none, the client locations it
    would leave without a healthy region while one is healthy (simulated)."""
    from globalctl import routing_policy, routing_records

    routing = topology.routing
    if routing is None:
        return []
    policy, found = routing_records.deployable(routing.parameters, {env.name: env.region for env in topology.regions})
    return found or routing_policy.unanswered(policy)


def mrsc_violations(topology: Topology) -> list[str]:
    """AWS's rules for MultiRegionConsistency STRONG, as messages naming the rule broken."""
    table = topology.table
    if table is None:
        return []
    mode = table.parameters.get("ConsistencyMode", "EVENTUAL")
    witness = table.parameters.get("WitnessRegion", "")
    replicas = [env.region for env in topology.regions]
    if mode not in ("EVENTUAL", "STRONG"):
        return [f"ConsistencyMode {mode!r} is neither EVENTUAL nor STRONG"]
    if mode == "EVENTUAL":
        return ["WitnessRegion is set but a witness exists only in STRONG mode"] if witness else []
    problems = []
    if witness:
        if len(replicas) != 2:
            problems.append(f"STRONG with a witness needs exactly 2 replicas, the topology has {len(replicas)}")
        if witness in replicas:
            problems.append(f"witness region {witness} is also a replica")
    elif len(replicas) != 3:
        problems.append(f"STRONG needs exactly 3 replicas, or 2 replicas and a witness (WitnessRegion); "
                        f"the topology has {len(replicas)} replicas")
    members = set(replicas) | ({witness} if witness else set())
    if not any(members <= region_set for region_set in MRSC_REGION_SETS.values()):
        sets = "; ".join(f"{name}: {', '.join(sorted(s))}" for name, s in MRSC_REGION_SETS.items())
        problems.append(f"STRONG needs every replica and the witness in one region set ({sets}); "
                        f"got {', '.join(sorted(members))}")
    return problems
