"""`globalctl lease show|break`: who holds the deployment lease (globalctl.lease), and, for an
operator who knows its holder is gone, breaking it. A break is written to the history."""

from __future__ import annotations

import json

import typer

from globalctl.context import Context
from globalctl.errors import reported

app = typer.Typer(help="The deployment lease: one change (rollout, rollback, failover, destroy) at a time.",
                  no_args_is_help=True)


@app.command()
@reported
def show(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print it as JSON.")) -> None:
    """Who holds the lease, for which operation, since when, and until when."""
    from globalctl.lease import Lease

    lease = Lease(Context.from_typer(ctx).topology)
    holder = lease.current()
    if as_json:
        typer.echo(json.dumps(None if holder is None else {
            "owner": holder.owner, "operation": holder.operation, "acquired_at": holder.acquired_at,
            "expires_at": holder.expires_at, "table": lease.table, "region": lease.region}))
        return
    typer.echo(f"held: {holder.describe()}" if holder else f"free (table {lease.table} in {lease.region})")


@app.command("break")
@reported
def break_lease(ctx: typer.Context, yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask.")) -> None:
    """Delete the lease whoever holds it: only when its holder is known to be gone (a killed CI job).
    The holder, if still running, stops at its next renewal."""
    from globalctl.lease import Lease
    from globalctl.rollout.records import Records

    context = Context.from_typer(ctx)
    lease = Lease(context.topology)
    holder = lease.current()
    if holder is None:
        typer.echo("the lease is free: nothing to break")
        return
    if not yes and not typer.confirm(f"break the lease held for {holder.describe()}?"):
        raise typer.Exit(1)
    lease.break_()
    Records(context.config_path).append_history({"action": "lease break", "by": lease.owner,
                                                 "holder": holder.owner, "operation": holder.operation})
    typer.echo(f"broke the lease held for {holder.describe()} (by {lease.owner}; recorded in the history)", err=True)
