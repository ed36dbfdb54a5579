"""What `plan` and `rollout` (and, for the plan, `rollback`) print alike: `globalctl validate` as
their first step, the plan, and the change sets a deploy would execute."""

from __future__ import annotations

from typing import Any

import typer

from globalctl.context import Context
from globalctl.exceptions import GlobalctlError


def validate_first(context: Context) -> None:
    """`globalctl validate` is the first step of a rollout and of a plan."""
    findings = context.validate()
    if findings:
        for finding in findings:
            typer.echo(str(finding), err=True)
        raise GlobalctlError(f"validate found {len(findings)} problem(s); fix them first")


def print_plan(plan: Any) -> None:  # a rollout.plan.Plan, imported lazily (keeps --help fast)
    typer.echo(f"{plan.action} {plan.release}: max {plan.max_concurrent} region(s) at once, "
               f"failure tolerance {plan.failure_tolerance}, {plan.bake_text()}")
    for line in plan.describe():
        typer.echo(f"  {line}")


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
