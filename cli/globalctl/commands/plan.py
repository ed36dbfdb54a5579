"""`globalctl plan`: the rollout plan, and per stack the change set a deploy would execute."""

from __future__ import annotations

import json

import typer

from globalctl import inputs
from globalctl.commands.plan_options import (Bake, BakeTraffic, Canary, FailureTolerance, MaxConcurrent, Regions,
                                            Release, SkipValidate)
from globalctl.commands.planning import print_plan, print_previews, validate_first
from globalctl.context import Context
from globalctl.errors import reported


@reported
def plan(
    ctx: typer.Context,
    release: Release = None,
    regions: Regions = None,
    max_concurrent: MaxConcurrent = 1,
    failure_tolerance: FailureTolerance = 0,
    bake: Bake = None,
    bake_traffic: BakeTraffic = 0.0,
    canary: Canary = None,
    as_json: bool = typer.Option(False, "--json", help="Print the plan and the change sets as JSON."),
    skip_validate: SkipValidate = False,
) -> None:
    """Print the rollout plan and each stack's change set (added / modified / removed, replacements).
    Exit 2 when a stateful resource (the table) would be replaced or removed."""
    from globalctl.rollout.service import RolloutService

    context = Context.from_typer(ctx)
    service = RolloutService(context)
    rollout_plan = service.plan_for(release, inputs.split_envs(regions), canary, max_concurrent, failure_tolerance,
                                    bake, bake_traffic)
    if not skip_validate:  # after the planner: a bad option starts no cfn-lint or sam
        validate_first(context)
    summaries = service.previews(rollout_plan)
    if as_json:
        typer.echo(json.dumps({"plan": rollout_plan.to_dict(), "changes": [s.to_dict() for s in summaries]}, indent=2))
    else:
        print_plan(rollout_plan)
        print_previews(summaries)
    losses = [loss for s in summaries for loss in s.stateful_losses]
    if losses:
        typer.echo(f"refusing: data would be lost: {', '.join(losses)}", err=True)
        raise typer.Exit(2)
