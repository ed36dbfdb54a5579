"""globalctl's entry point: one Typer app, one module per command (group) under commands/. A command
parses its options, prints and asks; the work is done by the engine beside it (rollout/, drill/,
destroy, status, routing, stacks, ...), which never imports a command."""

from __future__ import annotations

from pathlib import Path

import typer

from globalctl import __version__
from globalctl.commands import local
from globalctl.commands.availability import availability
from globalctl.commands.destroy import destroy
from globalctl.commands.drill import drill
from globalctl.commands.failover import app as failover_app
from globalctl.commands.lease import app as lease_app
from globalctl.commands.params import params
from globalctl.commands.plan import plan
from globalctl.commands.region import app as region_app
from globalctl.commands.rollout import rollback, rollout
from globalctl.commands.status import status
from globalctl.commands.traffic import app as traffic_app
from globalctl.commands.validate import validate
from globalctl.errors import OneLineUsage

app = typer.Typer(
    name="globalctl",
    cls=OneLineUsage,
    help="Run one AWS SAM backend active-active in several regions: validate, deploy, observe.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help, as `sam --help` prints: Typer's rich help imports rich's markdown, syntax
    # and traceback modules just to draw boxes, about 100 ms of CPU on every `--help` (bench/cli_help.py).
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"globalctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    # dir_okay=False: an existing directory is refused here; a missing file is refused by the
    # commands that read it (`availability --series` needs none).
    config: Path = typer.Option(Path("samconfig.toml"), "--config", "-c", dir_okay=False,
                                help="The topology (samconfig file)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    ctx.obj = {"config": str(config), "debug": debug}


app.command()(validate)
app.command()(params)
app.command()(plan)
app.command()(rollout)
app.command()(rollback)
app.command()(status)
app.add_typer(failover_app, name="failover")
app.add_typer(lease_app, name="lease")
app.add_typer(region_app, name="region")
app.add_typer(traffic_app, name="traffic")
app.command()(destroy)
app.command()(drill)
local.register(app)
app.command()(availability)
