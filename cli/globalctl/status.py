"""What `globalctl status` reports, gathered from the cloud: every region's stack status, release,
health (its own API's /health and Route 53's checkers), traffic (serving or drained), alarms in
ALARM, whether its functions run the code its release recorded (globalctl.build), and replication lag (a canary written through the region, read through another), and the
global table's mode and replicas. A region is healthy when all of these are.

The report is a JSON-ready dict (`status --json` prints it as it is)."""

from __future__ import annotations

from typing import Any

from globalctl import aws, gates, regions, routing
from globalctl.context import Context
from globalctl.build import code_differences, deployed_code
from globalctl.endpoints import Endpoints
from globalctl.regions import RegionApi
from globalctl.retire import RetirementRecords
from globalctl.rollout.records import Records
from globalctl.topology import Environment, Topology

COMPLETE = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


def gather(context: Context, lag: bool) -> dict[str, Any]:
    """{"regions": {env: report}, "table": report}; `lag` measures the replication lag."""
    topology = context.topology
    endpoints = Endpoints(context.config_path)
    records = Records(context.config_path)
    try:
        serving = routing.serving(topology)
    except routing.RoutingMissing:
        serving = {}
    route53 = route53_health(topology)
    stacks = {env.name: aws.describe_stack(env.stack_name, env.region) for env in topology.regions}
    apis = [api for env in topology.regions if (api := regions.api_of(env, stacks[env.name])) is not None]
    retirements = RetirementRecords(context.config_path)
    retirements.settle({env.name for env in topology.regions})
    retiring = {r.env: r for r in retirements.active()}
    found = {}
    for env in topology.regions:
        others = [api for api in apis if api.env != env.name]
        found[env.name] = _region(env, stacks[env.name], endpoints, others, serving, route53, lag, records)
        retirement = retiring.get(env.name)
        if retirement is not None:  # half-removed (or removed, its samconfig block still there): never healthy
            found[env.name]["retirement"] = {"status": retirement.status, "done": retirement.done,
                                             "left": retirement.left}
            found[env.name]["healthy"] = False
    return {"regions": found, "table": _table(context)}


def healthy(report: dict[str, Any]) -> bool:
    return all(r["healthy"] for r in report["regions"].values())


def route53_health(topology: Topology) -> dict[str, bool | None]:
    """Each region env's Route 53 health check as its checkers see it (None: no routing deployed)."""
    routing_env = topology.routing
    stack = aws.describe_stack(routing_env.stack_name, routing_env.region) if routing_env else None
    if stack is None:
        return {}
    route53 = aws.client("route53", "us-east-1")
    found = {}
    for env, check_id in routing.health_check_ids(aws.parameters_of(stack), aws.outputs_of(stack)).items():
        observations = route53.get_health_check_status(HealthCheckId=check_id)["HealthCheckObservations"]
        reports = [o["StatusReport"]["Status"] for o in observations]
        found[env] = bool(reports) and all(r.startswith("Success") for r in reports) if reports else None
    return found


def _region(env: Environment, stack: dict | None, endpoints: Endpoints, others: list[RegionApi],
            serving: dict[str, bool], route53: dict[str, bool | None], lag: bool,
            records: Records) -> dict[str, Any]:
    report: dict[str, Any] = {"region": env.region, "stack_status": stack["StackStatus"] if stack else "NOT_DEPLOYED",
                              "release": None, "healthy": False, "api_health": None,
                              "route53_healthy": route53.get(env.name), "serving": serving.get(env.name),
                              "alarms": [], "replication_lag_ms": None, "code": None}
    if stack is None:
        return report
    outputs = aws.outputs_of(stack)
    report["release"] = aws.tags_of(stack).get("release") or outputs.get("DeployedRelease")
    report["code"] = _code(records, env, report["release"])
    alarms = [a for a in outputs.get("AlarmNames", "").split(",") if a]
    if alarms:
        found = gates.describe_alarms(env.region, alarms)
        report["alarms"] = sorted(a["AlarmName"] for a in found if a.get("StateValue") == "ALARM")
    api = regions.api_of(env, stack)
    if api is None:
        return report
    health = endpoints.request("GET", api.endpoint, api.region, "/health", timeout=regions.PROBE_TIMEOUT_SECONDS)
    report["api_health"] = health.status
    report["healthy"] = (report["stack_status"] in COMPLETE and health.status == 200
                         and report["route53_healthy"] is not False and not report["alarms"]
                         and not str(report["code"]).startswith("differs"))
    if lag and report["healthy"] and others:
        try:
            item_id = gates.smoke(endpoints, api, report["release"] or "status")
            report["replication_lag_ms"] = round(
                gates.replication(endpoints, api, others[0], item_id, report["release"] or "status"), 1)
        except gates.GateFailed:
            report["healthy"] = False
    return report


def _code(records: Records, env: Environment, release: str | None) -> str | None:
    """Whether the region runs its release's code, as the rollout recorded it (None: no record,
    e.g. a release deployed with sam alone)."""
    expected = records.recorded_code(release) if release else None
    if expected is None:
        return None
    different = code_differences(expected, deployed_code(env))
    return f"differs: {', '.join(different)}" if different else "matches"


def _table(context: Context) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    table_env = context.topology.table
    if table_env is None:
        return {}
    name = context.stack_parameters(table_env.name).get("TableName", "")
    try:
        table = aws.client("dynamodb", table_env.region).describe_table(TableName=name)["Table"]
    except ClientError:
        return {"name": name, "home_region": table_env.region, "status": "NOT_DEPLOYED"}
    replicas = {table_env.region: table.get("TableStatus")}
    replicas.update({r["RegionName"]: r.get("ReplicaStatus") for r in table.get("Replicas", [])})
    return {"name": name, "home_region": table_env.region, "status": table.get("TableStatus"),
            "mode": table.get("MultiRegionConsistency", "EVENTUAL"), "replicas": replicas}
