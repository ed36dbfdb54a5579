"""`globalctl failover drain|restore <env>`: take a region out of the global routing, or back in,
without deploying anything.

A drain is the routing stack's weight of the region set to 0 (routing.set_weight); it is refused
when it would leave no region serving, and, unless --force, when no other serving region answers
its /health with 200 (draining onto broken regions turns a partial outage into a full one).
"""

from __future__ import annotations

import time
from typing import Any

import typer

from globalctl.context import Context
from globalctl.errors import reported
from globalctl.exceptions import GlobalctlError, UsageError

app = typer.Typer(help="Take a region out of the global routing (drain) or put it back (restore), without deploying.",
                  no_args_is_help=True)


def region_env(context: Context, env_name: str) -> Any:
    env = context.topology.env(env_name)
    if env.kind != "region":
        regions = ", ".join(e.name for e in context.topology.regions) or "none"
        raise UsageError(f"{env_name} is the {env.kind} stack, not a region (regions: {regions})")
    return env


def _observed(context: Context, endpoints: Any, env_name: str, drained: bool, wait: bool) -> str:
    from globalctl import routing

    if not wait:
        return "not waiting to see it take effect (--no-wait)"
    seconds = routing.wait_observed(context.topology, endpoints, env_name, drained=drained)
    return f"the routing {'stopped sending it' if drained else 'sends it'} traffic after {seconds:.1f} s"


@app.command()
@reported
def drain(
    ctx: typer.Context,
    env: str = typer.Argument(..., help="The region env to drain (e.g. euw1)."),
    force: bool = typer.Option(False, "--force", help="Drain even when no other serving region is healthy "
                               "(never the last serving region: one region always serves)."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Do not wait until the routing is seen to avoid it."),
) -> None:
    """Take a region out of the global routing (weight 0); its stack and health check stay."""
    context = Context.from_typer(ctx)
    region = region_env(context, env)
    with held_lease(context, f"failover drain {env}"):
        _drain(context, region, env, force, no_wait)


def held_lease(context: Context, operation: str):  # noqa: ANN202 - a context manager holding the lease
    from globalctl.lease import Lease

    return Lease(context.topology).held(operation, on_lost=lambda why: typer.echo(f"warning: {why}", err=True))


def _drain(context: Context, region: Any, env: str, force: bool, no_wait: bool) -> None:
    from globalctl import routing
    from globalctl.endpoints import Endpoints
    from globalctl.regions import PROBE_TIMEOUT_SECONDS, health_problem

    serving = routing.serving_ready(context.topology)
    if not serving.get(env):
        typer.echo(f"{env} ({region.region}) is already drained; nothing to do")
        return
    others = [context.topology.env(name) for name, on in serving.items() if on and name != env]
    if not others:
        raise GlobalctlError(f"{env} is the last serving region: draining it would leave no region serving "
                             f"(--force does not override this; restore another region first)")
    endpoints = Endpoints(context.config_path)
    unhealthy = {other.name: health_problem(endpoints, other, PROBE_TIMEOUT_SECONDS) for other in others}
    if all(unhealthy.values()):
        detail = ", ".join(f"{name}: {why}" for name, why in unhealthy.items())
        if not force:
            raise GlobalctlError(f"no other serving region is healthy ({detail}); draining {env} would "
                                 f"send its traffic nowhere healthy (--force drains anyway)")
        typer.echo(f"warning: no other serving region is healthy ({detail}); draining {env} anyway (--force)",
                   err=True)
    started = time.monotonic()
    if not routing.set_weight(context.topology, env, 0):
        typer.echo(f"{env} ({region.region}) is already drained; nothing to do")
        return
    how = _observed(context, endpoints, env, drained=True, wait=not no_wait)
    serving_now = ", ".join(other.name for other in others)
    typer.echo(f"drained {env} ({region.region}) in {time.monotonic() - started:.1f} s: {how}; "
               f"serving: {serving_now}")


@app.command()
@reported
def restore(
    ctx: typer.Context,
    env: str = typer.Argument(..., help="The region env to put back into the routing."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Do not wait until the routing is seen to use it."),
) -> None:
    """Put a drained region back into the global routing (its declared weight, 1 unless weighted)."""
    context = Context.from_typer(ctx)
    region = region_env(context, env)
    with held_lease(context, f"failover restore {env}"):
        _restore(context, region, env, no_wait)


def _restore(context: Context, region: Any, env: str, no_wait: bool) -> None:
    from globalctl import routing
    from globalctl.endpoints import Endpoints
    if routing.serving_ready(context.topology).get(env):
        typer.echo(f"{env} ({region.region}) is already serving; nothing to do")
        return
    started = time.monotonic()
    if not routing.set_weight(context.topology, env, routing.serving_weight(context.topology, env)):
        typer.echo(f"{env} ({region.region}) is already serving; nothing to do")
        return
    how = _observed(context, Endpoints(context.config_path), env, drained=False, wait=not no_wait)
    typer.echo(f"restored {env} ({region.region}) in {time.monotonic() - started:.1f} s: {how}")
