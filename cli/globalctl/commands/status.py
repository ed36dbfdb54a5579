"""`globalctl status`: every region's stack, release, health, traffic, alarms and replication."""

from __future__ import annotations

import json
from typing import Any

import typer

from globalctl.context import Context
from globalctl.errors import reported

COMPLETE = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


def _route53_health(topology: Any) -> dict[str, bool | None]:
    """Each region env's Route 53 health check as its checkers see it (None: no routing deployed)."""
    from globalctl import aws

    routing = topology.routing
    stack = aws.describe_stack(routing.stack_name, routing.region) if routing else None
    if stack is None:
        return {}
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    route53 = aws.client("route53", "us-east-1")
    found = {}
    for slot, env in enumerate(e for e in parameters.get("Envs", "").split(",") if e):
        check_id = outputs.get(f"HealthCheck{slot}")
        if not check_id:
            continue
        observations = route53.get_health_check_status(HealthCheckId=check_id)["HealthCheckObservations"]
        reports = [o["StatusReport"]["Status"] for o in observations]
        found[env] = bool(reports) and all(r.startswith("Success") for r in reports) if reports else None
    return found


def _outputs(stack: dict | None) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs", [])}


def _region(env: Any, stack: dict | None, endpoints: Any, others: list[Any], serving: dict[str, bool],
            route53: dict[str, bool | None], lag: bool) -> dict[str, Any]:
    from globalctl import aws
    from globalctl import gates, regions

    report: dict[str, Any] = {"region": env.region, "stack_status": stack["StackStatus"] if stack else "NOT_DEPLOYED",
                              "release": None, "healthy": False, "api_health": None,
                              "route53_healthy": route53.get(env.name), "serving": serving.get(env.name),
                              "alarms": [], "replication_lag_ms": None}
    if stack is None:
        return report
    outputs = _outputs(stack)
    tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
    report["release"] = tags.get("release") or outputs.get("DeployedRelease")
    alarms = [a for a in outputs.get("AlarmNames", "").split(",") if a]
    if alarms:
        found = aws.client("cloudwatch", env.region).describe_alarms(AlarmNames=alarms[:100])["MetricAlarms"]
        report["alarms"] = sorted(a["AlarmName"] for a in found if a.get("StateValue") == "ALARM")
    if "ApiEndpoint" not in outputs:
        return report
    api = regions.RegionApi(env.name, env.region, outputs["ApiEndpoint"], alarms)
    health = endpoints.request("GET", api.endpoint, api.region, "/health", timeout=5)
    report["api_health"] = health.status
    report["healthy"] = (report["stack_status"] in COMPLETE and health.status == 200
                         and report["route53_healthy"] is not False and not report["alarms"])
    if lag and report["healthy"] and others:
        try:
            item_id = gates.smoke(endpoints, api, report["release"] or "status")
            report["replication_lag_ms"] = round(
                gates.replication(endpoints, api, others[0], item_id, report["release"] or "status"), 1)
        except gates.GateFailed:
            report["healthy"] = False
    return report


def _table_report(context: Context) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    from globalctl import aws

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


@reported
def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    lag: bool = typer.Option(True, "--lag/--no-lag", help="Measure replication lag with a canary write."),
) -> None:
    """Every region: stack status, release, health (API and Route 53), serving or drained, alarms
    in ALARM, replication lag; the global table's mode and replicas. Exit 1 when a region is unhealthy."""
    from globalctl.endpoints import Endpoints
    from globalctl import gates, regions, routing

    context = Context.from_typer(ctx)
    topology = context.topology
    endpoints = Endpoints(context.config_path)
    try:
        serving = routing.serving(topology)
    except routing.RoutingMissing:
        serving = {}
    route53 = _route53_health(topology)
    from globalctl import aws

    stacks = {env.name: aws.describe_stack(env.stack_name, env.region) for env in topology.regions}
    apis = [regions.RegionApi(env.name, env.region, _outputs(stacks[env.name])["ApiEndpoint"])
            for env in topology.regions if "ApiEndpoint" in _outputs(stacks[env.name])]
    regions = {}
    for env in topology.regions:
        others = [api for api in apis if api.env != env.name]
        regions[env.name] = _region(env, stacks[env.name], endpoints, others, serving, route53, lag)
    report = {"regions": regions, "table": _table_report(context)}
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print(report)
    if not all(r["healthy"] for r in regions.values()):
        raise typer.Exit(1)


def _print(report: dict[str, Any]) -> None:
    from rich.table import Table

    from globalctl.output import console

    table = Table(title="regions")
    for column in ("env", "region", "stack", "release", "healthy", "route 53", "traffic", "alarms", "lag ms"):
        table.add_column(column)
    for env, r in report["regions"].items():
        traffic_state = "-" if r["serving"] is None else "serving" if r["serving"] else "drained"
        table.add_row(env, r["region"], r["stack_status"], r["release"] or "-", "yes" if r["healthy"] else "NO",
                      {True: "healthy", False: "UNHEALTHY", None: "-"}[r["route53_healthy"]], traffic_state,
                      ", ".join(r["alarms"]) or "-",
                      "-" if r["replication_lag_ms"] is None else f"{r['replication_lag_ms']:.0f}")
    out = console()
    out.print(table)
    info = report["table"]
    if info:
        replicas = ", ".join(f"{k} {v}" for k, v in info.get("replicas", {}).items())
        out.print(f"table {info['name']} ({info.get('mode', '-')}, home {info['home_region']}): "
                      f"{info['status']}; replicas: {replicas or '-'}")
