"""`globalctl traffic show|shift`: where the deployed routing sends each client location now and
why, and a weighted region's share moved step by step under the alarms gate (globalctl.traffic)."""

from __future__ import annotations

import json
from typing import Any

import typer

from globalctl.context import Context
from globalctl.errors import reported
from globalctl.exceptions import UsageError

app = typer.Typer(help="Where the global routing sends clients now (show), and weighted shifts (shift).",
                  no_args_is_help=True)


@app.command()
@reported
def show(
    ctx: typer.Context,
    location: list[str] = typer.Option([], "--from", help="A client location (an AWS region code, e.g. "
                                       "eu-west-2); repeat it for several. Default: every location known."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """For each client location: the region Route 53 answers with now (each region's share under a
    weighted rule) and the rules on the way, from the deployed policy and the health checks."""
    from localcloud.route53 import latency

    from globalctl import traffic

    for where in location:
        if not latency.is_region(where):
            raise UsageError(f"--from {where!r} is not an AWS region code (e.g. eu-west-2)")
    context = Context.from_typer(ctx)
    found = traffic.deployed(context.topology)
    routed = traffic.where(found, location or latency.known_regions())
    if as_json:
        typer.echo(json.dumps({"policy": found.policy.kind, "mode": found.mode, "weights": found.weights,
                               "health": found.health, "locations": [r.to_dict() for r in routed]}, indent=2))
        return
    _print(found, routed)


def _print(found: Any, routed: list[Any]) -> None:
    from rich.table import Table

    from globalctl.output import console

    health = ", ".join(f"{env} {'healthy' if ok else 'UNHEALTHY'}{'' if found.weights.get(env, 1) else ' (drained)'}"
                       for env, ok in found.health.items())
    table = Table(title=f"{found.policy.kind} routing ({found.mode}); {health}")
    for column in ("from", "answered by", "rules"):
        table.add_column(column)
    for r in routed:
        answer = ", ".join(f"{region} {share:.0%}" if len(r.shares) > 1 else region for region, share in r.shares.items())
        table.add_row(r.location, answer + (" (failed open: nothing healthy)" if r.failed_open else ""),
                      " -> ".join(r.path))
    console().print(table)


@app.command()
@reported
def shift(
    ctx: typer.Context,
    env: str = typer.Argument(..., help="The region env whose share moves (e.g. euw1)."),
    to: float = typer.Option(..., "--to", help="Its share of the traffic at the end, in percent (0-100)."),
    step: float = typer.Option(10.0, "--step", help="At most this many percentage points per routing update."),
    bake: float = typer.Option(60.0, "--bake", help="Seconds the alarms of every serving region are watched "
                               "after each step."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Move a region's share of the weighted traffic to --to percent, a step at a time; each step
    is a routing update, then the alarms gate. A fired alarm sets every weight back and exits 1."""
    from globalctl import gates, regions, traffic
    from globalctl.commands.failover import held_lease, region_env

    context = Context.from_typer(ctx)
    region_env(context, env)

    def gate(seconds: float) -> None:
        apis = [api for e in context.topology.regions if (api := regions.region_api(e)) is not None]
        gates.alarms_quiet_all(apis, seconds)

    say = (lambda _line: None) if as_json else typer.echo
    with held_lease(context, f"traffic shift {env}"):
        try:
            report = traffic.shift(context.topology, env, to, step, bake, gate, say)
        except traffic.ShiftUndone as undone:
            if as_json:
                typer.echo(json.dumps(undone.report.to_dict(), indent=2))
            raise
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        typer.echo(f"{env} now has {traffic.share_of(report.steps[-1]['weights'], env):.1f}% of the weighted "
                   f"traffic after {len(report.steps)} step(s)")
