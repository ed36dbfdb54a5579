"""`globalctl rollout` and `globalctl rollback`: a release to every region, safely, and back.
The options are parsed, the plan printed and confirmed here; rollout.service makes the plans and
rollout.executor runs them."""

from __future__ import annotations

import signal

import typer

from globalctl import inputs
from globalctl.commands.plan_options import (Bake, BakeTraffic, Canary, FailureTolerance, MaxConcurrent, Regions,
                                            Release, SkipValidate)
from globalctl.commands.planning import print_plan, print_previews, validate_first
from globalctl.context import Context
from globalctl.errors import reported
from globalctl.exceptions import UsageError

MAX_GATE_TIMEOUT_SECONDS = 3_600.0  # a typo cannot make a gate wait a year


def _report(env: str, event: str, detail: str) -> None:
    typer.echo(f"  {env:<10} {event}{': ' + detail if detail else ''}")


def _progress(plan):  # noqa: ANN001, ANN202 - a Plan; returns (report, context manager)
    """A rich progress bar per target on a terminal; one line per event when output is captured."""
    import contextlib

    from globalctl.output import console

    out = console()
    if not out.is_terminal:
        return _report, contextlib.nullcontext()
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.fields[env]:<10}"), BarColumn(bar_width=20),
                        TextColumn("{task.description}"), TimeElapsedColumn(), console=out)
    steps = {t.env: [str(p) for p in plan.phases(t)] for t in plan.targets}
    tasks = {t.env: progress.add_task("waiting", total=len(steps[t.env]), env=t.env, start=False)
             for t in plan.targets}

    def report(env: str, event: str, detail: str) -> None:
        task = tasks.get(env)
        if task is None:
            return
        if event in steps[env]:
            progress.start_task(task)
            progress.update(task, completed=steps[env].index(event), description=event)
        elif event == "deployed":
            progress.update(task, completed=len(steps[env]), description=f"[green]deployed[/] {detail}")
        else:
            progress.update(task, description=f"{event}{': ' + detail[:60] if detail else ''}")

    return report, progress


def _table(outcome) -> None:  # noqa: ANN001 - an Outcome
    from rich.table import Table

    from globalctl.output import console

    table = Table(title=f"{outcome.status}")
    for column in ("env", "region", "result", "phase", "seconds", "replication ms", "baked s", "reason"):
        table.add_column(column)
    for result in outcome.results:
        table.add_row(result.env, result.region, result.status, result.phase, f"{result.seconds:.1f}",
                      "-" if result.replication_lag_ms is None else f"{result.replication_lag_ms:.0f}",
                      "-" if result.bake_seconds is None else f"{result.bake_seconds:.0f}",
                      result.reason[:120])
    console().print(table)


def _lost(executor):  # noqa: ANN001, ANN202 - an Executor; the lease's on_lost callback
    def lost(why: str) -> None:
        typer.echo(f"  {why}: finishing the regions in flight, then stopping", err=True)
        executor.stop_requested.set()
    return lost


def _execute(service, plan, state=None, gate_timeout: float = 60.0) -> None:  # noqa: ANN001
    from globalctl.lease import Lease

    report, display = _progress(plan)
    # The lease comes before the executor, which writes the rollout's state file: a refused second
    # rollout must not touch the first one's state.
    lease = Lease(service.context.topology)
    info = lease.acquire(f"{plan.action} {plan.release}")
    executor = None
    try:
        executor = service.executor(plan, report, state, gate_timeout)

        def interrupted(*_: object) -> None:
            typer.echo("  interrupt: finishing the regions in flight, then stopping", err=True)
            executor.stop_requested.set()

        previous = signal.signal(signal.SIGINT, interrupted)
        try:
            with lease.renewing(info, on_lost=_lost(executor)), display:
                outcome = executor.run()
        finally:
            signal.signal(signal.SIGINT, previous)
    finally:
        lease.release(info)
    _table(outcome)
    if outcome.status == "interrupted":
        typer.echo("interrupted: `globalctl rollout --resume` continues, `globalctl rollback` undoes", err=True)
        raise typer.Exit(130)
    if not outcome.ok:
        raise typer.Exit(1)


@reported
def rollout(
    ctx: typer.Context,
    release: Release = None,
    regions: Regions = None,
    max_concurrent: MaxConcurrent = 1,
    failure_tolerance: FailureTolerance = 0,
    bake: Bake = None,
    bake_traffic: BakeTraffic = 0.0,
    canary: Canary = None,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan and stop."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    resume: bool = typer.Option(False, "--resume", help="Continue the interrupted rollout."),
    skip_validate: SkipValidate = False,
    gate_timeout: float = typer.Option(60.0, "--gate-timeout", min=1.0, max=MAX_GATE_TIMEOUT_SECONDS,
                                       help="Seconds a region has to report healthy on the new release."),
) -> None:
    """Roll a release out: table, canary, waves of regions, routing; each region drained, deployed,
    gated (health, smoke, replication), restored, then baked under live traffic with its alarms
    watched; a failure rolls every updated region back."""
    from globalctl.rollout.service import RolloutService

    context = Context.from_typer(ctx)
    service = RolloutService(context)
    if resume:
        given = [name for name, value in (("--release", release), ("--regions", regions), ("--canary", canary))
                 if value is not None]
        if given:
            raise UsageError(f"--resume continues the recorded plan; {', '.join(given)} cannot change it")
        resumption = service.resume()
        typer.echo(f"resuming {resumption.plan.release}: {len(resumption.done)} target(s) done")
        print_plan(resumption.left)
        _execute(service, resumption.left, resumption.state, gate_timeout)
        return
    plan = service.plan_for(release, inputs.split_envs(regions), canary, max_concurrent, failure_tolerance, bake,
                            bake_traffic)
    if not skip_validate:
        validate_first(context)
    print_plan(plan)
    if dry_run:
        print_previews(service.previews(plan))
        return
    if not yes and not typer.confirm(f"roll {plan.release} out?"):
        raise typer.Exit(1)
    _execute(service, plan, gate_timeout=gate_timeout)


@reported
def rollback(
    ctx: typer.Context,
    to: str = typer.Option(None, "--to", callback=inputs.release_option,
                           help="The release to go back to (default: the one before the last)."),
    regions: Regions = None,
    max_concurrent: MaxConcurrent = 1,
    yes: bool = typer.Option(False, "--yes", "-y"),
) -> None:
    """Put every region back on the previous (or named) release, last-deployed region first."""
    from globalctl.rollout.service import RolloutService

    service = RolloutService(Context.from_typer(ctx))
    plan = service.rollback_plan(to, inputs.split_envs(regions), max_concurrent)
    print_plan(plan)
    if not yes and not typer.confirm(f"roll back to {plan.release}?"):
        raise typer.Exit(1)
    from globalctl.lease import Lease

    with Lease(service.context.topology).held(f"rollback to {plan.release}", on_lost=_warn):
        service.rollback(plan, _report)  # the regions of a wave at once, as in a rollout


def _warn(why: str) -> None:
    typer.echo(f"warning: {why}", err=True)
