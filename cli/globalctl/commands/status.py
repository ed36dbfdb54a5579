"""`globalctl status`: every region's stack, release, health, traffic, alarms and replication, as
globalctl.status gathers them, printed as a table or JSON."""

from __future__ import annotations

import json
from typing import Any

import typer

from globalctl.context import Context
from globalctl.errors import reported


@reported
def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    lag: bool = typer.Option(True, "--lag/--no-lag", help="Measure replication lag with a canary write."),
) -> None:
    """Every region: stack status, release, whether it runs its release's code, health (API and
    Route 53), serving or drained, alarms in ALARM, replication lag; the global table's mode and replicas. Exit 1 when a region is unhealthy."""
    from globalctl.status import gather, healthy

    report = gather(Context.from_typer(ctx), lag)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print(report)
    if not healthy(report):
        raise typer.Exit(1)


def _print(report: dict[str, Any]) -> None:
    from rich.table import Table

    from globalctl.output import console

    table = Table(title="regions")
    for column in ("env", "region", "stack", "release", "code", "healthy", "route 53", "traffic", "alarms", "lag ms"):
        table.add_column(column)
    for env, r in report["regions"].items():
        traffic_state = "-" if r["serving"] is None else "serving" if r["serving"] else "drained"
        table.add_row(env, r["region"], r["stack_status"], r["release"] or "-", (r.get("code") or "-").upper()
                      if str(r.get("code")).startswith("differs") else r.get("code") or "-",
                      "yes" if r["healthy"] else "NO",
                      {True: "healthy", False: "UNHEALTHY", None: "-"}[r["route53_healthy"]], traffic_state,
                      ", ".join(r["alarms"]) or "-",
                      "-" if r["replication_lag_ms"] is None else f"{r['replication_lag_ms']:.0f}")
    out = console()
    out.print(table)
    for env, r in report["regions"].items():
        if "retirement" in r:
            step = r["retirement"]
            out.print(f"{env}: retirement {step['status']}; done: {', '.join(step['done']) or 'nothing'}; "
                      f"left: {', '.join(step['left']) or 'nothing (delete its samconfig block)'}")
    info = report["table"]
    if info:
        replicas = ", ".join(f"{k} {v}" for k, v in info.get("replicas", {}).items())
        out.print(f"table {info['name']} ({info.get('mode', '-')}, home {info['home_region']}): "
                  f"{info['status']}; replicas: {replicas or '-'}")
