"""Runs a plan: waves in order, the targets of a wave at once.

A rollout (Executor) takes each target through its phases (record, drain, deploy, gate,
restore, bake). A failed target is rolled back on the spot (drained again first when it serves,
since putting the old stack back is a deploy too); when the failures pass the plan's tolerance
(or the canary fails) the rollout stops and every target it already updated is rolled back to its
recorded stack, in reverse order, with its traffic restored. Its state file is written after every
step. Ctrl-C (a stop request) lets the targets in flight finish, records the state and stops
before the next wave: `rollout --resume` continues from there, `rollback` undoes it.

A rollback (RollbackExecutor) runs its plan through the same wave loop, each target through one
restore phase: the stack put back to the release's record. It never stops early (every region it
puts back is one more on the known release) and keeps no state file, only its history line.

Everything either does to the cloud goes through `Operations`; the real one is
rollout.operations.AwsOperations, and unit tests pass a fake that records the calls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Protocol

from globalctl.bake import AlarmBound
from globalctl.build import code_differences
from globalctl.exceptions import GlobalctlError
from globalctl.gates import HEALTH_TIMEOUT_SECONDS, GateFailed
from globalctl.regions import RegionApi
from globalctl.rollout.plan import Phase, Plan, Target, stop_after_failures
from globalctl.rollout.records import Records
from globalctl.rollout.results import Outcome, TargetResult
from globalctl.routing import RoutingMissing
from globalctl.stacks import DeployFailed, Snapshot

Report = Callable[[str, str, str], None]  # (env, phase or outcome, detail)
COMPLETE = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


class Operations(Protocol):
    """What a run does to the cloud, by samconfig env name."""

    def parameters(self, env: str, leave_out: frozenset[str] = frozenset()) -> dict[str, str]:
        """The full parameter overrides of the env's stack (the routing's without `leave_out`)."""

    def snapshot(self, env: str) -> Snapshot:
        """The stack as it is now (refusing one in flight or stuck)."""

    def check_deployable(self, env: str) -> None:
        """Refuse a stack in flight or stuck."""

    def stack_exists(self, env: str) -> bool:
        """The env's stack exists (in any state)."""

    def build(self, release: str, fresh: bool) -> None:
        """Build the release once (`sam build` of the working tree), before any region deploys it;
        fresh=False (a resumed rollout) reuses the build its first run made."""

    def deploy(self, env: str, parameters: dict[str, str], release: str) -> None:
        """sam deploy of the env with these parameters and the release (a region: from its build)."""

    def deployed_code(self, env: str) -> dict[str, str]:
        """Each function of the env's stack and the CodeSha256 Lambda reports for it."""

    def wait_settled(self, env: str) -> str:
        """The stack's status once it is no longer in progress."""

    def serving(self) -> dict[str, bool]:
        """Each region env: serving or drained. RoutingMissing without a routing stack."""

    def drain(self, env: str) -> bool:
        """Weight 0; False when it had it already."""

    def restore_traffic(self, env: str) -> bool:
        """The weight back; False when it had it already."""

    def wait_observed(self, env: str, drained: bool) -> float:
        """Seconds until the routing is seen to (not) send the env traffic."""

    def api(self, env: str) -> RegionApi | None:
        """The region's API, None when its stack has no ApiEndpoint."""

    def healthy(self, env: str) -> bool:
        """The region answers GET /health with 200."""

    def gate_health(self, api: RegionApi, release: str, timeout: float) -> float: ...

    def gate_smoke(self, api: RegionApi, release: str) -> str: ...

    def gate_replication(self, api: RegionApi, other: RegionApi, item_id: str, release: str) -> float: ...

    def write_item(self, api: RegionApi, item_id: str, release: str) -> None:
        """Write (and read back) a gate's item through the region."""

    def remove_item(self, api: RegionApi, item_id: str) -> bool:
        """Delete a gate's item through the region."""

    def gate_alarms(self, api: RegionApi, bake_seconds: float, traffic_rps: float = 0.0) -> int:
        """GateFailed as soon as one of the region's alarms is in ALARM within the bake; how many were
        watched. traffic_rps > 0 sends that much probe traffic through the region's API meanwhile."""

    def bake_minimum(self, api: RegionApi) -> AlarmBound | None:
        """The largest bound of the region's deployed alarms (globalctl.bake); None without alarms."""

    def publish_site(self, routed: list[str]) -> list[str]:
        """Write the demo site's region directory (the routed region envs) in those regions."""
        ...

    def gate_table(self, env: str) -> None:
        """The table stack's gate: the table and every replica ACTIVE."""

    def restore(self, snapshot: Snapshot) -> None:
        """The stack back to the recorded template and parameters (deleted if it was new)."""


class Executor:
    """Runs a rollout plan. `regions` are every region env of the topology, in samconfig order:
    a gated region's replication partner is the first other one deployed."""

    def __init__(self, plan: Plan, operations: Operations, records: Records, report: Report, *,
                 regions: Sequence[str], state: dict[str, Any] | None = None,
                 gate_timeout: float = HEALTH_TIMEOUT_SECONDS):
        self.plan = plan
        self.operations = operations
        self.records = records
        self.report = report
        self.regions = tuple(regions)
        self.gate_timeout = gate_timeout
        self.resumed = state is not None
        self.state = state or self._start()
        self.results = {t.env: TargetResult(t.env, t.kind, t.region) for t in plan.targets}
        for env, saved in self.state.get("results", {}).items():
            if env in self.results:
                self.results[env] = TargetResult(**saved)
        self.stop_requested = threading.Event()
        self._lock = threading.Lock()

    # --- bookkeeping --------------------------------------------------------------------------------

    def _start(self) -> dict[str, Any]:
        return self.records.start(self.plan)

    def _save(self) -> None:
        with self._lock:
            self.state["results"] = {env: r.to_dict() for env, r in self.results.items()}
            self.records.save(self.state)

    def _snapshot(self, env: str) -> Snapshot | None:
        data = self.state.get("snapshots", {}).get(env)
        return Snapshot.from_dict(data) if data else None

    def _set(self, target: Target, **changes: Any) -> None:
        result = self.results[target.env]
        for key, value in changes.items():
            setattr(result, key, value)
        self._save()

    # --- the run ------------------------------------------------------------------------------------

    def run(self) -> Outcome:
        failed = 0
        canary_failed = False
        if not self._prepare():
            return self._finish("build failed", ok=False)
        for wave in self.plan.waves:
            if self.stop_requested.is_set():
                return self._finish("interrupted", ok=False)
            pending = [t for t in wave.targets if self.results[t.env].status not in ("deployed",)]
            with ThreadPoolExecutor(max_workers=max(1, len(pending)), thread_name_prefix=self.plan.action) as pool:
                outcomes = list(pool.map(self._run_target, pending))
            for target, passed in zip(pending, outcomes, strict=True):
                if not passed and target.kind == "region":
                    failed += 1
                    canary_failed = canary_failed or target.canary
                elif not passed:  # the table or the routing failing stops everything
                    canary_failed = True
            if self._must_stop(failed, canary_failed):
                self._roll_back_all()
                return self._finish("rolled back", ok=False)
        return self._finish("complete" if not failed else "complete with failures", ok=not failed)

    def _must_stop(self, failed: int, canary_failed: bool) -> bool:
        return stop_after_failures(self.plan, failed, canary_failed)

    def _prepare(self) -> bool:
        """The release's one build, before any target is touched; False when it failed. A rollout
        that adds regions first writes an item through a serving region: each new region's gate
        reads it, proof that its replica was backfilled with what existed before it."""
        if not self.plan.region_targets:
            return True
        try:
            if not self.resumed:
                self.records.forget_code(self.plan.release)
            self.operations.build(self.plan.release, fresh=not self.resumed)
            if self.plan.new_envs and "backfill_marker" not in self.state:
                self._write_backfill_marker()
        except (GlobalctlError, GateFailed) as error:  # nothing was touched yet
            self.report("build", "failed", str(error))
            return False
        return True

    def _write_backfill_marker(self) -> None:
        source = next((api for env in self.regions if env not in self.plan.new_envs
                       and (api := self.operations.api(env))), None)
        if source is None:  # a first deployment: no region exists to write it through
            return
        item_id = f"globalctl-backfill-{self.plan.release}"
        self.operations.write_item(source, item_id, self.plan.release)
        with self._lock:
            self.state["backfill_marker"] = {"env": source.env, "item": item_id}
        self._save()

    def _finish(self, status: str, ok: bool) -> Outcome:
        marker = self.state.get("backfill_marker")
        if marker and status != "interrupted":  # --resume still needs it
            source = self.operations.api(marker["env"])
            if source is not None:
                self.operations.remove_item(source, marker["item"])
        self.state["status"] = status
        self.state["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._save()
        self.records.append_history({"action": self.plan.action, "release": self.plan.release, "status": status,
                                     "regions": {env: r.status for env, r in self.results.items()}})
        return Outcome(ok, status, list(self.results.values()))

    def _run_target(self, target: Target) -> bool:
        started = time.monotonic()
        self._set(target, status="in progress", reason="")
        phase = Phase.RECORD
        try:
            for phase in self.plan.phases(target):
                self._set(target, phase=str(phase))
                self.report(target.env, str(phase), "")
                self._phase(target, phase)
            # Recorded only once every phase passed: a release whose bake failed is no rollback target.
            self.records.keep_release(self.plan.release, self.operations.snapshot(target.env))
        except Exception as error:  # noqa: BLE001 - any failure of a target is reported and undone
            reason = str(error) or type(error).__name__
            self._set(target, status="failed", reason=f"{phase}: {reason}", seconds=time.monotonic() - started)
            self.report(target.env, "failed", f"{phase}: {reason}")
            if phase != Phase.RECORD:
                self._roll_back(target)
            return False
        self._set(target, status="deployed", seconds=time.monotonic() - started)
        self.report(target.env, "deployed", f"{time.monotonic() - started:.1f} s")
        return True

    def _phase(self, target: Target, phase: Phase) -> None:
        ops, env = self.operations, target.env
        if phase == Phase.RECORD:
            if self._snapshot(env) is None:  # a resumed rollout keeps the first record
                with self._lock:
                    self.state.setdefault("snapshots", {})[env] = ops.snapshot(env).to_dict()
                self._save()
            else:  # resumed: a killed run's deploy may still be finishing (its sam outlives it)
                ops.wait_settled(env)
                ops.check_deployable(env)
        elif phase == Phase.DRAIN:
            self._drain(target)
        elif phase == Phase.DEPLOY:
            unrouted = frozenset(env for env in self.plan.new_envs if self.results[env].status != "deployed")
            parameters = dict(ops.parameters(env, unrouted) if target.kind == "routing" else ops.parameters(env))
            if target.kind == "region":
                parameters["Release"] = self.plan.release
            ops.deploy(env, parameters, self.plan.release)
            status = ops.wait_settled(env)
            if status not in COMPLETE:
                raise DeployFailed(f"stack {target.stack_name} ended {status}")
            if target.kind == "routing":
                self._publish_site(target, unrouted)
        elif phase == Phase.GATE:
            self._gate(target)
        elif phase == Phase.RESTORE:
            if self.results[env].drained:
                ops.restore_traffic(env)
                ops.wait_observed(env, drained=False)
                self._set(target, drained=False)
        elif phase == Phase.BAKE:
            self._bake(target)

    def _publish_site(self, target: Target, unrouted: frozenset[str]) -> None:
        """The demo site's region directory follows the routing. Only the site reads it, so a
        failed write is reported, not a reason to undo a routing that works."""
        routed = [env for env in self.regions if env not in unrouted]
        try:
            written = self.operations.publish_site(routed)
        except Exception as error:  # noqa: BLE001 - reported; the routing itself is deployed
            self.report(target.env, "site", f"region directory not written: {error}")
            return
        self.report(target.env, "site", f"region directory written in {', '.join(written) or 'no region'}")

    def _drain(self, target: Target) -> None:
        try:
            serving = self.operations.serving()
        except RoutingMissing:
            self.report(target.env, "drain", "skipped: no routing stack yet")
            return
        if target.env not in serving:
            self.report(target.env, "drain", "skipped: the routing does not route it yet")
            return
        if not serving[target.env]:
            if not self.results[target.env].drained:  # drained before this rollout: it stays so
                self.report(target.env, "drain", "skipped: already drained")
            return
        others = [env for env, on in serving.items() if on and env != target.env and self.operations.healthy(env)]
        if not others:
            self.report(target.env, "drain", "skipped: no other healthy region serves")
            return
        # The intent is recorded first: a run killed between the two still restores it on --resume.
        self._set(target, drained=True)
        self.operations.drain(target.env)
        self.operations.wait_observed(target.env, drained=True)

    def _gate(self, target: Target) -> None:
        ops = self.operations
        if target.kind == "table":
            ops.gate_table(target.env)
            return
        if target.kind == "routing":
            return  # the stack settled complete; its health checks are read by `status`
        api = ops.api(target.env)
        if api is None:
            raise GateFailed("health", "the stack has no ApiEndpoint output")
        ops.gate_health(api, self.plan.release, self.gate_timeout)
        self._gate_code(target)
        item_id = ops.gate_smoke(api, self.plan.release)
        others = [a for env in self.regions if env != target.env and (a := ops.api(env)) is not None]
        # A new region's partner is a region that served before it, whose data it must have copied.
        other = next((a for a in others if a.env not in self.plan.new_envs), others[0] if others else None)
        if other is not None:
            lag = ops.gate_replication(api, other, item_id, self.plan.release)
            self._set(target, replication_lag_ms=round(lag, 1))
        if target.new and other is not None:
            self._gate_new_region(api, other)

    def _gate_new_region(self, api: RegionApi, other: RegionApi) -> None:
        """The replica of a region added now holds what was written before it existed (the
        backfill), and what another region writes now reaches it (replication both ways)."""
        ops, marker = self.operations, self.state.get("backfill_marker")
        if marker:
            source = ops.api(marker["env"])
            if source is None:
                raise GateFailed("backfill", f"{marker['env']}, which wrote the backfill item, has no API")
            try:
                ops.gate_replication(source, api, marker["item"], self.plan.release)
            except GateFailed as failed:
                raise GateFailed("backfill", f"{marker['item']}, written in {marker['env']} before the replica "
                                             f"existed: {failed.reason}") from None
        item_id = ops.gate_smoke(other, self.plan.release)
        ops.gate_replication(other, api, item_id, self.plan.release)

    def _gate_code(self, target: Target) -> None:
        """The first region gated records the code the release deployed; every other must run the same."""
        deployed = self.operations.deployed_code(target.env)
        expected = self.records.release_code(self.plan.release, deployed)
        different = code_differences(expected, deployed)
        if different:
            raise GateFailed("code", f"{', '.join(different)} not the code of release {self.plan.release} "
                                     f"(as its first region deployed it)")

    def _bake(self, target: Target) -> None:
        """The region's alarms watched while it serves. The bake is never shorter than the bound of
        the alarms this deploy left (the release may have changed them since the plan was made)."""
        api = self.operations.api(target.env)
        if api is None:
            raise GateFailed("alarms", "the stack has no ApiEndpoint output")
        needed = self.operations.bake_minimum(api)
        seconds = self.plan.bake_seconds or 0
        if needed is None:
            self.report(target.env, "bake", "no alarm deployed: nothing to watch")
        elif needed.seconds > seconds:
            if self.plan.bake_seconds is not None:
                self.report(target.env, "bake", f"lengthened to {needed.seconds} s for {needed.explain()}")
            seconds = needed.seconds
        self._set(target, bake_seconds=seconds)
        probe = f" + {self.plan.bake_traffic_rps:g} probe requests/s" if self.plan.bake_traffic_rps else ""
        self.report(target.env, "bake", f"{seconds} s under live traffic{probe}, {len(api.alarms)} alarm(s) watched")
        self.operations.gate_alarms(api, seconds, self.plan.bake_traffic_rps)

    # --- undo ---------------------------------------------------------------------------------------

    def _roll_back(self, target: Target) -> None:
        snap = self._snapshot(target.env)
        try:
            if target.kind == "region" and self.plan.drain and not self.results[target.env].drained:
                self._drain_before_undo(target)
            if target.kind != "table" and snap is not None:
                self.report(target.env, "rollback", f"to {snap.release or 'its recorded stack'}")
                self.operations.restore(snap)
            if self.results[target.env].drained:
                self.operations.restore_traffic(target.env)
                self._set(target, drained=False)
        except Exception as error:  # noqa: BLE001
            self._set(target, status="rollback failed", reason=f"{self.results[target.env].reason}; rollback: {error}")
            self.report(target.env, "rollback failed", str(error))
            return
        self._set(target, status="rolled back")
        self.report(target.env, "rolled back", "")

    def _drain_before_undo(self, target: Target) -> None:
        """A region that serves (restored, baking) is drained before its old stack returns, as any
        deploy is. Best effort: a drain that fails must not keep the bad release in place."""
        try:
            self._drain(target)
        except Exception as error:  # noqa: BLE001
            self.report(target.env, "drain", f"failed before the rollback ({error}); rolling back serving")

    def _roll_back_all(self) -> None:
        for target in reversed(self.plan.targets):
            if self.results[target.env].status == "deployed" and target.kind != "table":
                self._roll_back(target)


class RollbackExecutor(Executor):
    """Runs a rollback plan: each target's stack put back to the release's record (`plan.release`)."""

    def __init__(self, plan: Plan, operations: Operations, records: Records, report: Report):
        super().__init__(plan, operations, records, report, regions=())

    def _start(self) -> dict[str, Any]:
        return {}  # no state file: an interrupted rollout's stays there for `rollout --resume`

    def _save(self) -> None:
        pass

    def _must_stop(self, failed: int, canary_failed: bool) -> bool:
        return False

    def _prepare(self) -> bool:
        return True  # nothing to build: the release's recorded stacks name their packages

    def _run_target(self, target: Target) -> bool:
        self._set(target, status="in progress", phase=str(Phase.RESTORE))
        self.report(target.env, str(Phase.RESTORE), self.plan.release)
        try:
            self.operations.restore(self.records.release_snapshot(self.plan.release, target.env))
            self._check_code(target)
        except GlobalctlError as error:
            self._set(target, status="failed", reason=str(error))
            self.report(target.env, "failed", str(error))
            return False
        self._set(target, status="restored")
        self.report(target.env, "restored", "")
        return True

    def _check_code(self, target: Target) -> None:
        """The region runs the code its release recorded (its template names the same packages)."""
        expected = self.records.recorded_code(self.plan.release) if target.kind == "region" else None
        if expected is None:
            return
        different = code_differences(expected, self.operations.deployed_code(target.env))
        if different:
            raise GlobalctlError(f"{', '.join(different)} not the code release {self.plan.release} recorded")

    def _finish(self, status: str, ok: bool) -> Outcome:
        status = {"complete with failures": "failed"}.get(status, status)
        self.records.append_history({"action": "rollback", "release": self.plan.release, "status": status,
                                     "regions": {}})
        return Outcome(ok, status, list(self.results.values()))
