"""`globalctl region remove <env>`: retire a region from a running deployment (globalctl.retire has
the steps). Adding a region needs no command: add its samconfig environment, then `globalctl rollout`."""

from __future__ import annotations

import typer

from globalctl.context import Context
from globalctl.errors import reported

app = typer.Typer(help="Regions of a running deployment: add one with a samconfig environment and "
                       "`globalctl rollout`; retire one with `region remove`.", no_args_is_help=True)


@app.command()
@reported
def remove(
    ctx: typer.Context,
    env: str = typer.Argument(..., help="The region env to retire."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
    undo: bool = typer.Option(False, "--undo", help="Undo a retirement not finished: the region serves again "
                              "(once its stack is deleted, `globalctl rollout` adds it back)."),
) -> None:
    """Drain the region while another serves, take it out of the routing, keep its dead letters,
    delete its stack, then remove its table replica. Run it again to resume an interrupted one."""
    from globalctl import retire
    from globalctl.lease import Lease

    context = Context.from_typer(ctx)
    warn = lambda why: typer.echo(f"warning: {why}", err=True)  # noqa: E731
    if undo:
        with Lease(context.topology).held(f"region remove {env} --undo", on_lost=warn):
            retire.undo(context, env, typer.echo)
        typer.echo(f"{env}: retirement undone")
        return
    retirement = retire.plan(context, env)
    if retirement.status == "complete":
        typer.echo(f"{env} is retired already: delete its [{env}.deploy.parameters] block from "
                   f"{context.config_path.name}")
        return
    typer.echo("\n".join(retirement.describe()))
    if not yes and not typer.confirm(f"retire {env}?", default=False):
        typer.echo("nothing was changed")
        raise typer.Exit(1)
    with Lease(context.topology).held(f"region remove {env}", on_lost=warn):
        done = retire.execute(context, retirement, typer.echo)
    typer.echo(f"{env} ({done.region}) is retired; its dead letters: {done.dead_letters}. Now delete its "
               f"[{env}.deploy.parameters] block from {context.config_path.name}: globalctl never edits it, "
               f"and a rollout refuses to run until it is gone")
