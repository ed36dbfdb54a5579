"""What `plan`, `rollout` and `rollback` ask of the rollout engine, for one samconfig: a plan made
from the options (the release named when none is given), the interrupted rollout to resume, the
rollback plan to a recorded release, the change sets a plan would make, and the executors that
run plans against the cloud. The commands only parse, print and ask."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from globalctl import inputs
from globalctl.bake import AlarmBound
from globalctl.context import Context
from globalctl.exceptions import GlobalctlError
from globalctl.gates import HEALTH_TIMEOUT_SECONDS
from globalctl.rollout.changes import ChangeSummary, previews
from globalctl.rollout.executor import Executor, Operations, Report, RollbackExecutor
from globalctl.rollout.operations import AwsOperations
from globalctl.rollout.plan import Plan, plan_rollback, plan_rollout, release_id
from globalctl.rollout.records import Records
from globalctl.rollout.results import Outcome
from globalctl.tables import check_replicas_can_change


@dataclass
class Resumption:
    """An interrupted rollout: its whole plan, what is left of it, and its recorded state."""

    plan: Plan
    left: Plan
    state: dict[str, Any]
    done: list[str]


class RolloutService:
    def __init__(self, context: Context, operations: Operations | None = None):
        self.context = context
        self.records = Records(context.config_path)
        self._operations = operations

    @cached_property
    def operations(self) -> Operations:
        return self._operations or AwsOperations(self.context)

    # --- plans --------------------------------------------------------------------------------------

    def plan_for(self, release: str | None, regions: list[str] | None, canary: str | None,
                 max_concurrent: int, failure_tolerance: int, bake: int | None, bake_traffic: float = 0.0) -> Plan:
        """The rollout plan of the options. The planner is pure and checks every option against the
        topology first; only then are the deployed alarms read (the bake's minimum) and the default
        release named (it asks git), so a bad option reaches no cloud and starts no process, and
        validate (cfn-lint, sam) comes after this."""
        options = dict(regions=regions, canary=canary, max_concurrent=max_concurrent,
                       failure_tolerance=failure_tolerance, bake_seconds=bake, bake_traffic_rps=bake_traffic)
        plan_rollout(self.context.topology, release or "pending", **options)  # the options checked first
        from globalctl.retire import refuse_while_retired

        refuse_while_retired(self.context)
        unreachable = None
        try:
            exists = self.stacks_exist()
        except GlobalctlError as error:  # the cloud not reachable: the plan is still shown; the run will say so
            exists, unreachable = {}, error
        options["new_regions"] = self.new_regions(exists)
        plan = plan_rollout(self.context.topology, release or "pending", **options)
        if bake != 0:
            try:
                if unreachable is not None:  # asked once: not again, with all the retries, for the alarms
                    raise unreachable
                bound = self.deployed_bake_minimum(plan)
            except GlobalctlError as error:  # a plan is still shown; each region's bake is derived after its deploy
                plan = replace(plan, bake_basis=f"deployed alarms not read: {error}")
            else:
                plan = plan_rollout(self.context.topology, release or "pending", bake_minimum=bound, **options)
        if release is None:
            plan = replace(plan, release=release_id(git_sha(self.context), datetime.now(timezone.utc)))
        return plan

    def stacks_exist(self) -> dict[str, bool]:
        return {env.name: self.operations.stack_exists(env.name) for env in self.context.topology.regions}

    def new_regions(self, exists: dict[str, bool]) -> list[str]:
        """Region envs with no stack yet while another region's stack exists: regions being added to
        a running deployment. None on a first deployment. Refused on an MRSC table, whose replicas
        are fixed at creation."""
        topology = self.context.topology
        if not any(exists.values()):
            return []
        new = [name for name, found in exists.items() if not found]
        if new and topology.table is not None:
            check_replicas_can_change(topology.table.parameters, f"adding {', '.join(new)}")
        return new

    def deployed_bake_minimum(self, plan: Plan) -> AlarmBound | None:
        """The largest bound of the alarms the plan's regions have deployed now (None: none yet)."""
        bounds = []
        for target in plan.region_targets:
            api = self.operations.api(target.env)
            if api is not None and (found := self.operations.bake_minimum(api)) is not None:
                bounds.append(found)
        return max(bounds, key=lambda b: (b.seconds, b.alarm), default=None)

    def resume(self) -> Resumption:
        """The interrupted rollout, checked against samconfig; GlobalctlError when there is none."""
        state = self.records.resumable(self.context.topology)
        if state is None:
            raise GlobalctlError("no interrupted rollout to resume")
        plan = Plan.from_dict(state["plan"])
        done = [env for env, result in state.get("results", {}).items() if result.get("status") == "deployed"]
        left = plan.without(done)
        state["plan"] = plan.to_dict()
        return Resumption(plan, left, state, done)

    def rollback_plan(self, to: str | None, regions: list[str] | None, max_concurrent: int) -> Plan:
        """Back to `to` (default: the complete rollout before the last), every target's stack recorded."""
        target_release = to or self.previous_release()
        plan = plan_rollback(self.context.topology, target_release, regions=regions, max_concurrent=max_concurrent,
                             include_routing=False)
        missing = [t.env for t in plan.targets if self.records.release_snapshot(target_release, t.env) is None]
        if missing:
            raise GlobalctlError(f"release {target_release} has no record for {', '.join(missing)} "
                                 f"(known releases: {', '.join(self.records.releases()) or 'none'})")
        return plan

    def previous_release(self) -> str:
        complete = [h.get("release") for h in self.records.history()
                    if h.get("action") == "rollout" and h.get("status") == "complete"]
        if len(complete) < 2:
            raise GlobalctlError("no earlier complete rollout to go back to; name one with --to")
        return inputs.check_release(complete[-2], GlobalctlError, where=f"{self.records.history_path}: ")

    def previews(self, plan: Plan) -> list[ChangeSummary]:
        return previews(self.context, plan)

    # --- runs ---------------------------------------------------------------------------------------

    def executor(self, plan: Plan, report: Report, state: dict[str, Any] | None = None,
                 gate_timeout: float = HEALTH_TIMEOUT_SECONDS) -> Executor:
        """The executor of a rollout plan. A fresh run (no state) first refuses any stack of the plan
        that is in flight or stuck, before its state file is written."""
        if state is None:
            for target in plan.targets:
                self.operations.check_deployable(target.env)
        return Executor(plan, self.operations, self.records, report, state=state, gate_timeout=gate_timeout,
                        regions=[env.name for env in self.context.topology.regions])

    def rollback(self, plan: Plan, report: Report) -> Outcome:
        """Run a rollback plan; GlobalctlError naming the regions that could not be put back."""
        outcome = RollbackExecutor(plan, self.operations, self.records, report).run()
        failed = [result.env for result in outcome.results if result.status == "failed"]
        if failed:
            raise GlobalctlError(f"rollback to {plan.release} failed in {', '.join(failed)}")
        return outcome


def git_sha(context: Context) -> str | None:
    """The checkout's short commit, None outside git."""
    try:
        result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=context.topology.root,  # noqa: S603,S607
                                capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None
