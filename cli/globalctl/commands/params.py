"""`globalctl params <env>`: the parameter overrides for `sam deploy --config-env <env>`."""

from __future__ import annotations

import json

import typer

from globalctl.context import Context
from globalctl.errors import reported
from globalctl.topology import render_overrides


@reported
def params(
    ctx: typer.Context,
    env: str = typer.Argument(..., help="samconfig environment, e.g. table, routing, euw1"),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object instead."),
) -> None:
    """Print the complete parameter overrides of an environment, the derived ones included.

    sam deploy --config-env table --parameter-overrides "$(globalctl params table)"
    """
    values = Context.from_typer(ctx).stack_parameters(env)
    typer.echo(json.dumps(values, indent=2) if as_json else render_overrides(values))
