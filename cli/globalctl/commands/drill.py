"""`globalctl drill <env>`: a failover drill of one region, measured from traffic through the global entry."""

from __future__ import annotations

import json
from typing import Any

import typer

from globalctl import inputs
from globalctl.context import Context
from globalctl.errors import reported

MAX_DURATION_SECONDS = 3_600.0  # a drill holds a region out of the traffic: an hour is plenty


def _table(report: dict[str, Any]) -> None:
    from rich.table import Table

    from globalctl.output import console

    table = Table(title=f"drill {report['run_id']}: {'passed' if report['ok'] else 'FAILED'}")
    for column in ("env", "mode", "duration s", "requests", "failover s", "errors in window",
                   "errors after", "restored s", "writes verified"):
        table.add_column(column)
    during, after, writes = report["during_window"], report["after_window"], report["writes"]
    restored = report["restore"]["restored_s"]
    table.add_row(report["env"], report["mode"], f"{report['duration_s']:g}", str(report["requests"]),
                  f"{report['failover_s']:.2f}", f"{during['failed']}/{during['requests']}",
                  f"{after['failed']}/{after['requests']}", "-" if restored is None else f"{restored:.2f}",
                  f"{writes['verified']}/{writes['acknowledged']}")
    console().print(table)


@reported
def drill(
    ctx: typer.Context,
    env: str = typer.Argument(..., help="The region env to take out of the traffic."),
    duration: float = typer.Option(30.0, "--duration", min=5.0, max=MAX_DURATION_SECONDS,
                                   help="Seconds of traffic before the restore."),
    mode: str = typer.Option("drain", "--mode", help="drain (weight 0 in the routing) or outage (local cloud only)."),
    clients: int = typer.Option(6, "--clients", min=1, max=64, help="Client threads, spread over client locations."),
    rate: float = typer.Option(5.0, "--rate", min=0.1, max=50.0, help="Requests per second per client."),
    entry: str = typer.Option(None, "--entry", callback=inputs.entry_url,
                              help="The global entry URL (default: the local cloud's); on AWS your routed name, "
                                   "e.g. https://api.example.com."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """A failover drill: traffic through the global entry from several client locations, <env> drained
    (or, on the local cloud, an outage), the failover time and error shares measured, <env> restored,
    every write of the drill read back in every region. Saves .globalctl/drills/<env>-<stamp>.json and
    its timeline chart beside it (.svg); exit 1 when a write is missing or a request failed after the
    failover window."""
    from globalctl.drill.executor import run
    from globalctl.drill.plan import Options
    from globalctl.drill.report import save_report
    from globalctl.drill.timeline import save as save_chart

    context = Context.from_typer(ctx)

    def say(line: str) -> None:
        typer.echo(line, err=as_json)  # --json keeps stdout for the report

    options = Options(env=env, duration=duration, mode=mode, clients=clients, rate=rate, entry=entry)
    report = run(context, options, say)
    path = save_report(context.config_path, report)
    chart = save_chart(path, report)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        _table(report)
    for problem in report["problems"]:
        typer.echo(f"problem: {problem}", err=True)
    typer.echo(f"report saved to {path}", err=True)
    typer.echo(f"chart saved to {chart}", err=True)
    if not report["ok"]:
        raise typer.Exit(1)
