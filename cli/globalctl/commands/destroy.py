"""`globalctl destroy`: every stack of the topology and the global table, deleted after the plan is
printed and the table's name typed back. The plan and its execution are globalctl.destroy's."""

from __future__ import annotations

import typer

from globalctl.context import Context
from globalctl.errors import reported


@reported
def destroy(
    ctx: typer.Context,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for the table name."),
    force: bool = typer.Option(False, "--force", help="Turn deletion protection off first (through the table stack)."),
    keep_table: bool = typer.Option(False, "--keep-table", help="Leave the table stack and the table (its data)."),
) -> None:
    """Delete the routing stack, every region's stack (last region first), the table stack and the
    global table in every replica region. Refuses while deletion protection is on unless --force;
    asks for the table name unless --yes. The SAM managed stack aws-sam-cli-managed-default is left alone."""
    from globalctl.destroy import execute, plan_destroy

    from globalctl.lease import Lease

    topology = Context.from_typer(ctx).topology
    plan = plan_destroy(topology, keep_table=keep_table, force=force)
    if plan.empty:
        typer.echo(plan.nothing())
        return
    typer.echo(plan.describe())
    confirm = plan.confirmation
    if not yes and typer.prompt(f"type {confirm!r} to delete all of it") != confirm:
        typer.echo(f"error: that is not {confirm!r}; nothing was deleted", err=True)
        raise typer.Exit(1)
    with Lease(topology).held("destroy", on_lost=lambda why: typer.echo(f"warning: {why}", err=True)):
        execute(plan, typer.echo)
    typer.echo(plan.done())
