"""`globalctl validate`: topology checks, cfn-lint on every template, `sam validate --lint`."""

from __future__ import annotations

import typer

from globalctl.context import Context
from globalctl.errors import reported


@reported
def validate(
    ctx: typer.Context,
    skip_lint: bool = typer.Option(False, "--skip-lint", help="Only the topology checks (fast)."),
) -> None:
    """Check the topology and every template; one line per finding, exit 1 on any."""
    findings = Context.from_typer(ctx).validate(lint=not skip_lint)
    for finding in findings:
        typer.echo(str(finding))
    if findings:
        typer.echo(f"{len(findings)} finding(s)", err=True)
        raise typer.Exit(1)
    typer.echo("ok: topology and templates are valid", err=True)
