"""`globalctl local ...`: the local multi-region cloud (start, stop, inspect, break, heal, resolve)."""

from __future__ import annotations

import json

import typer

from globalctl import inputs
from globalctl.errors import reported
from globalctl.exceptions import UsageError
from globalctl.inputs import shown
from localcloud.faults import KINDS as FAULT_KINDS

app = typer.Typer(help="The local multi-region cloud on 127.0.0.1 (moto, extended): no Docker, no AWS account.",
                  no_args_is_help=True)


def _local(ctx: typer.Context):
    from globalctl.localcloud import LocalCloudContext

    return LocalCloudContext.from_typer(ctx)


@app.command()
@reported
def up(
    ctx: typer.Context,
    base_port: int = typer.Option(None, "--base-port", help="First of the fixed ports (endpoint; +1 global entry; "
                                  "+10.. one per region). 0 picks free ports. Default 4610."),
    timeout: float = typer.Option(60.0, "--timeout", min=1.0, max=3600.0,
                                  help="Seconds to wait until every listener is up."),
    health_interval_scale: float = typer.Option(1.0, "--health-interval-scale", min=0.01, max=1.0,
                                                help="Probe health checks at this share of their deployed "
                                                     "RequestInterval (tests use 0.1 to fail over in seconds)."),
    alarm_period_scale: float = typer.Option(1.0, "--alarm-period-scale", min=0.01, max=1.0,
                                             help="Alarm periods last this share of their deployed Period "
                                                  "(0.05: a 60 s period is 3 s, so alarms fire in seconds)."),
    containers: bool = typer.Option(False, "--containers",
                                    help="Also answer functions that `sam local` runs in Docker containers: "
                                         "the endpoint listens on Docker's bridge gateway too, as "
                                         "host.docker.internal."),
) -> None:
    """Start the local cloud in the background and return once everything listens."""
    state = _local(ctx).up(base_port, timeout, health_interval_scale, alarm_period_scale, containers)
    typer.echo(f"local cloud up (pid {state['pid']})")
    typer.echo(f"  AWS endpoint : {state['endpoint']}")
    if state.get("container_endpoint"):
        typer.echo(f"  containers   : {state['container_endpoint']} (sam local)")
    typer.echo(f"  global entry : {state['global_url']}")
    if state.get("console_url"):
        typer.echo(f"  console      : {state['console_url']}")
    for env, region in state["regions"].items():
        typer.echo(f"  {env:<12} : {region['api_url']} ({region['region']})")
    typer.echo("eval \"$(globalctl local env)\" points sam and globalctl at it; `globalctl local down` stops it.")


@app.command()
@reported
def down(ctx: typer.Context) -> None:
    """Stop exactly the processes `local up` started and free their ports."""
    state = _local(ctx).down()
    typer.echo(f"local cloud stopped (pid {state['pid']})")


@app.command()
@reported
def env(ctx: typer.Context) -> None:
    """Print the exports that point sam and boto3 at the local cloud."""
    for key, value in _local(ctx).environment().items():
        typer.echo(f"export {key}={value}")


@app.command("env-vars")
@reported
def env_vars(ctx: typer.Context,
             env_name: str = typer.Argument(None, metavar="[ENV]", help="Region environment (default: the canary).")
             ) -> None:
    """Write the deployed region's function variables for `sam local --env-vars` (samconfig's local envs)."""
    path, env, count = _local(ctx).write_sam_env_vars(env_name)
    typer.echo(f"wrote {path}: the variables of {count} functions deployed in {env}")


@app.command()
@reported
def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show the regions, their ports, health and faults."""
    report = _local(ctx).status()
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    from rich.table import Table

    from globalctl.output import console

    table = Table(title=f"local cloud: endpoint {report['endpoint']}, global entry {report['global_url']}, "
                        f"health-check interval x{report.get('health_interval_scale', 1.0):g}, "
                        f"alarm periods x{report.get('alarm_period_scale', 1.0):g}")
    for column in ("env", "region", "api", "healthy", "fault"):
        table.add_column(column)
    for name, region in report["regions"].items():
        table.add_row(name, region["region"], region["api_url"], "yes" if region["healthy"] else "NO",
                      region["fault"] or "-")
    console().print(table)
    if report.get("console_url"):
        typer.echo(f"console: {report['console_url']}")


@app.command()
@reported
def fault(
    ctx: typer.Context,
    env_name: str = typer.Argument(..., metavar="ENV", help="A region environment of samconfig, e.g. euw1."),
    kind: str = typer.Argument(..., help=" | ".join(FAULT_KINDS)),
    latency_ms: int = typer.Option(500, "--latency-ms", min=0, max=60000, help="slow: added latency per request."),
    error_rate: float = typer.Option(0.5, "--error-rate", min=0.0, max=1.0, help="errors: share of 5xx answers."),
) -> None:
    """Break a region: outage (API, health and replication), partition (replication), slow, errors."""
    if kind not in FAULT_KINDS:
        raise UsageError(f"unknown fault {shown(kind)}; choose one of {', '.join(FAULT_KINDS)}")
    _local(ctx).fault(env_name, kind, latency_ms, error_rate)
    typer.echo(f"{env_name}: {kind}")


@app.command()
@reported
def heal(ctx: typer.Context, env_name: str = typer.Argument(..., metavar="ENV", help="Region environment, or 'all'.")) -> None:
    """Remove a region's fault; writes queued meanwhile are delivered."""
    healed = _local(ctx).heal(env_name)
    typer.echo(f"healed: {', '.join(healed) if healed else 'nothing was faulted'}")


@app.command()
@reported
def resolve(
    ctx: typer.Context,
    name: str = typer.Argument(..., callback=inputs.dns_name, help="The routed name, e.g. api.global-backend.example"),
    from_location: str = typer.Option(None, "--from", callback=inputs.aws_region,
                                      help="The client's AWS region (default: the home region)."),
) -> None:
    """Print the answer Route 53 would give for NAME to a client in --from."""
    answer = _local(ctx).resolve(name, from_location)
    typer.echo(f"{answer['name']} {answer['type']} {' '.join(answer['values'])}  (region {answer['region']}; "
               f"via {answer['via']})")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="local")

