"""`globalctl rollout` and `globalctl rollback`: a release to every region, safely, and back."""

from __future__ import annotations

import signal
import subprocess
from datetime import datetime, timezone

import typer

from globalctl import inputs
from globalctl.commands.plan_options import (Bake, Canary, FailureTolerance, MaxConcurrent, Regions, Release,
                                            SkipValidate)
from globalctl.context import Context
from globalctl.errors import reported
from globalctl.exceptions import GlobalctlError, UsageError

MAX_GATE_TIMEOUT_SECONDS = 3_600.0  # a typo cannot make a gate wait a year


def _git_sha(context: Context) -> str | None:
    try:
        result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=context.topology.root,  # noqa: S603,S607
                                capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def validate_first(context: Context) -> None:
    """`globalctl validate` is the first step of a rollout and of a plan."""
    findings = context.validate()
    if findings:
        for finding in findings:
            typer.echo(str(finding), err=True)
        raise GlobalctlError(f"validate found {len(findings)} problem(s); fix them first")


def _regions(value: str | None) -> list[str] | None:
    return inputs.split_envs(value)


def plan_for(context: Context, release: str | None, regions: str | None, canary: str | None,
             max_concurrent: int, failure_tolerance: int, bake: int):  # noqa: ANN201 - a Plan; imported lazily
    """The rollout plan of the options. The planner is pure and checks every option against the
    topology first; only then is the default release named (it asks git), so a bad option
    starts no process at all, and validate (cfn-lint, sam) comes after this."""
    from dataclasses import replace

    from globalctl.rollout.plan import plan_rollout, release_id

    plan = plan_rollout(context.topology, release or "pending", regions=_regions(regions), canary=canary,
                        max_concurrent=max_concurrent, failure_tolerance=failure_tolerance, bake_seconds=bake)
    if release is None:
        plan = replace(plan, release=release_id(_git_sha(context), datetime.now(timezone.utc)))
    return plan


def _print_plan(plan) -> None:  # noqa: ANN001 - a Plan; imported lazily
    typer.echo(f"{plan.action} {plan.release}: max {plan.max_concurrent} region(s) at once, "
               f"failure tolerance {plan.failure_tolerance}, bake {plan.bake_seconds} s")
    for line in plan.describe():
        typer.echo(f"  {line}")


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
    for column in ("env", "region", "result", "phase", "seconds", "replication ms", "reason"):
        table.add_column(column)
    for result in outcome.results:
        table.add_row(result.env, result.region, result.status, result.phase, f"{result.seconds:.1f}",
                      "-" if result.replication_lag_ms is None else f"{result.replication_lag_ms:.0f}",
                      result.reason[:120])
    console().print(table)


def _execute(context: Context, plan, state=None, gate_timeout: float = 60.0) -> None:  # noqa: ANN001
    from globalctl import stacks
    from globalctl.rollout.executor import Executor
    from globalctl.rollout.records import Records

    if state is None:
        for target in plan.targets:
            stacks.check_deployable(context.topology.env(target.env))
    report, display = _progress(plan)
    executor = Executor(context, plan, Records(context.config_path), report, state=state,
                        parameters=context.stack_parameters, gate_timeout=gate_timeout)

    def interrupted(*_: object) -> None:
        typer.echo("  interrupt: finishing the regions in flight, then stopping", err=True)
        executor.stop_requested.set()

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        with display:
            outcome = executor.run()
    finally:
        signal.signal(signal.SIGINT, previous)
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
    bake: Bake = 60,
    canary: Canary = None,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan and stop."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    resume: bool = typer.Option(False, "--resume", help="Continue the interrupted rollout."),
    skip_validate: SkipValidate = False,
    gate_timeout: float = typer.Option(60.0, "--gate-timeout", min=1.0, max=MAX_GATE_TIMEOUT_SECONDS,
                                       help="Seconds a region has to report healthy on the new release."),
) -> None:
    """Roll a release out: table, canary, waves of regions, routing; each region drained, deployed,
    gated (health, smoke, replication, alarms) and restored; a failure rolls every updated region back."""
    from globalctl.rollout.plan import Plan
    from globalctl.rollout.records import Records

    context = Context.from_typer(ctx)
    if resume:
        given = [name for name, value in (("--release", release), ("--regions", regions), ("--canary", canary))
                 if value is not None]
        if given:
            raise UsageError(f"--resume continues the recorded plan; {', '.join(given)} cannot change it")
        state = Records(context.config_path).resumable(context.topology)
        if state is None:
            raise GlobalctlError("no interrupted rollout to resume")
        plan = Plan.from_dict(state["plan"])
        done = [env for env, result in state.get("results", {}).items() if result.get("status") == "deployed"]
        left = plan.without(done)
        typer.echo(f"resuming {plan.release}: {len(done)} target(s) done")
        _print_plan(left)
        state["plan"] = plan.to_dict()
        _execute(context, left, state, gate_timeout)
        return
    plan = plan_for(context, release, regions, canary, max_concurrent, failure_tolerance, bake)
    release = plan.release
    if not skip_validate:
        validate_first(context)
    _print_plan(plan)
    if dry_run:
        from globalctl.commands.plan import previews, print_previews

        print_previews(previews(context, plan))
        return
    if not yes and not typer.confirm(f"roll {release} out?"):
        raise typer.Exit(1)
    _execute(context, plan, gate_timeout=gate_timeout)


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
    from globalctl import stacks
    from globalctl.rollout.plan import plan_rollback
    from globalctl.rollout.records import Records

    context = Context.from_typer(ctx)
    records = Records(context.config_path)
    target_release = to or _previous_release(records)
    plan = plan_rollback(context.topology, target_release, regions=_regions(regions), max_concurrent=max_concurrent,
                         include_routing=False)
    missing = [t.env for t in plan.targets if records.release_snapshot(target_release, t.env) is None]
    if missing:
        raise GlobalctlError(f"release {target_release} has no record for {', '.join(missing)} "
                             f"(known releases: {', '.join(records.releases()) or 'none'})")
    _print_plan(plan)
    if not yes and not typer.confirm(f"roll back to {target_release}?"):
        raise typer.Exit(1)
    failed: list[str] = []

    def restore(target) -> None:  # noqa: ANN001 - a Target
        _report(target.env, "restore", target_release)
        try:
            stacks.restore(records.release_snapshot(target_release, target.env))
        except GlobalctlError as error:
            failed.append(target.env)
            _report(target.env, "failed", str(error))
            return
        _report(target.env, "restored", "")

    from concurrent.futures import ThreadPoolExecutor

    for wave in plan.waves:  # the regions of a wave at once, as in a rollout
        with ThreadPoolExecutor(max_workers=max(1, len(wave.targets)), thread_name_prefix="rollback") as pool:
            list(pool.map(restore, wave.targets))
    records.append_history({"action": "rollback", "release": target_release,
                            "status": "failed" if failed else "complete", "regions": {}})
    if failed:
        raise GlobalctlError(f"rollback to {target_release} failed in {', '.join(failed)}")


def _previous_release(records) -> str:  # noqa: ANN001
    complete = [h.get("release") for h in records.history()
                if h.get("action") == "rollout" and h.get("status") == "complete"]
    if len(complete) < 2:
        raise GlobalctlError("no earlier complete rollout to go back to; name one with --to")
    return inputs.check_release(complete[-2], GlobalctlError, where=f"{records.history_path}: ")
