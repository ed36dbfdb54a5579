"""`globalctl plan`: the rollout plan, and per stack the change set a deploy would execute."""

from __future__ import annotations

import json

import typer

from globalctl.commands.plan_options import (Bake, Canary, FailureTolerance, MaxConcurrent, Regions, Release,
                                            SkipValidate)
from globalctl.context import Context
from globalctl.errors import reported


def previews(context: Context, plan) -> list:  # noqa: ANN001 - a Plan; imported lazily
    """The change summary of every target of the plan, in plan order."""
    from globalctl.exceptions import StackNotFoundError
    from globalctl.rollout.changes import ChangeSummary, preview

    summaries = []
    for target in plan.targets:
        env = context.topology.env(target.env)
        try:
            parameters = dict(context.stack_parameters(target.env))
        except StackNotFoundError as missing:
            # The routing takes the regions' outputs: it can be previewed once they are deployed.
            summaries.append(ChangeSummary(target.env, env.stack_name, new_stack=True, note=str(missing)))
            continue
        if target.kind == "region":
            parameters["Release"] = plan.release
        summaries.append(preview(context.topology, env, parameters, plan.release))
    return summaries


def print_previews(summaries: list) -> None:
    from rich.table import Table

    from globalctl.output import console

    table = Table(title="change sets")
    for column in ("env", "stack", "added", "modified", "removed", "replaced", "data at risk"):
        table.add_column(column)
    for s in summaries:
        stack = s.stack_name + (" (new)" if s.new_stack else "")
        if s.note:
            table.add_row(s.env, stack, "-", "-", "-", "-", f"not previewed: {s.note}")
            continue
        table.add_row(s.env, stack, str(s.count("Add")), str(s.count("Modify")), str(s.count("Remove")),
                      ", ".join(s.replaced) or "-", ", ".join(s.stateful_losses) or "-")
    console().print(table)


@reported
def plan(
    ctx: typer.Context,
    release: Release = None,
    regions: Regions = None,
    max_concurrent: MaxConcurrent = 1,
    failure_tolerance: FailureTolerance = 0,
    bake: Bake = 60,
    canary: Canary = None,
    as_json: bool = typer.Option(False, "--json", help="Print the plan and the change sets as JSON."),
    skip_validate: SkipValidate = False,
) -> None:
    """Print the rollout plan and each stack's change set (added / modified / removed, replacements).
    Exit 2 when a stateful resource (the table) would be replaced or removed."""
    from globalctl.commands.rollout import _print_plan, plan_for, validate_first

    context = Context.from_typer(ctx)
    rollout_plan = plan_for(context, release, regions, canary, max_concurrent, failure_tolerance, bake)
    if not skip_validate:  # after the planner: a bad option starts no cfn-lint or sam
        validate_first(context)
    summaries = previews(context, rollout_plan)
    if as_json:
        typer.echo(json.dumps({"plan": rollout_plan.to_dict(), "changes": [s.to_dict() for s in summaries]}, indent=2))
    else:
        _print_plan(rollout_plan)
        print_previews(summaries)
    losses = [loss for s in summaries for loss in s.stateful_losses]
    if losses:
        typer.echo(f"refusing: data would be lost: {', '.join(losses)}", err=True)
        raise typer.Exit(2)
