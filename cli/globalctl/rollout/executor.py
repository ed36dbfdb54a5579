"""Runs a rollout plan: waves in order, the targets of a wave at once, each through its phases
(record, drain, deploy, gate, restore). A failed target is rolled back on the spot; when the
failures pass the plan's tolerance (or the canary fails) the rollout stops and every target it
already updated is rolled back to its recorded stack, in reverse order, with its traffic restored.

Ctrl-C (a stop request) lets the targets in flight finish, records the state and stops before the
next wave: `rollout --resume` continues from there, `rollback` undoes it.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from globalctl import aws
from globalctl.endpoints import Endpoints
from globalctl import gates, routing, stacks
from globalctl.rollout.plan import Phase, Plan, Target, stop_after_failures
from globalctl.rollout.records import Records
from globalctl.stacks import Snapshot

Report = Callable[[str, str, str], None]  # (env, phase or outcome, detail)


@dataclass
class TargetResult:
    env: str
    kind: str
    region: str
    status: str = "pending"  # pending | in progress | deployed | failed | rolled back | rollback failed
    phase: str = ""
    reason: str = ""
    seconds: float = 0.0
    drained: bool = False
    replication_lag_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Outcome:
    ok: bool
    status: str  # complete | rolled back | interrupted | failed
    results: list[TargetResult] = field(default_factory=list)


class Executor:
    def __init__(self, context: Any, plan: Plan, records: Records, report: Report, *,
                 state: dict[str, Any] | None = None, parameters: Callable[[str], dict[str, str]],
                 gate_timeout: float = gates.HEALTH_TIMEOUT_SECONDS):
        self.context = context  # needs .topology and .config_path
        self.plan = plan
        self.records = records
        self.report = report
        self.parameters = parameters  # env name -> the full parameter overrides of its stack
        self.gate_timeout = gate_timeout
        self.endpoints = Endpoints(context.config_path)
        self.state = state or records.start(plan)
        self.results = {t.env: TargetResult(t.env, t.kind, t.region) for t in plan.targets}
        for env, saved in self.state.get("results", {}).items():
            if env in self.results:
                self.results[env] = TargetResult(**saved)
        self.stop_requested = threading.Event()
        self._lock = threading.Lock()

    # --- bookkeeping --------------------------------------------------------------------------------

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
        for wave in self.plan.waves:
            if self.stop_requested.is_set():
                return self._finish("interrupted", ok=False)
            pending = [t for t in wave.targets if self.results[t.env].status not in ("deployed",)]
            with ThreadPoolExecutor(max_workers=max(1, len(pending)), thread_name_prefix="rollout") as pool:
                outcomes = list(pool.map(self._run_target, pending))
            for target, passed in zip(pending, outcomes, strict=True):
                if not passed and target.kind == "region":
                    failed += 1
                    canary_failed = canary_failed or target.canary
                elif not passed:  # the table or the routing failing stops everything
                    canary_failed = True
            if failed or canary_failed:
                if stop_after_failures(self.plan, failed, canary_failed):
                    self._roll_back_all()
                    return self._finish("rolled back", ok=False)
        return self._finish("complete" if not failed else "complete with failures", ok=not failed)

    def _finish(self, status: str, ok: bool) -> Outcome:
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
        env = self.context.topology.env(target.env)
        if phase == Phase.RECORD:
            if self._snapshot(target.env) is None:  # a resumed rollout keeps the first record
                with self._lock:
                    self.state.setdefault("snapshots", {})[target.env] = stacks.snapshot(env).to_dict()
                self._save()
            else:
                stacks.check_deployable(env)
        elif phase == Phase.DRAIN:
            self._drain(target)
        elif phase == Phase.DEPLOY:
            parameters = dict(self.parameters(target.env))
            if target.kind == "region":
                parameters["Release"] = self.plan.release
            stacks.sam_deploy(self.context.topology, env, parameters, self.plan.release)
            status = stacks.wait_settled(env.region, env.stack_name)
            if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
                raise stacks.DeployFailed(f"stack {env.stack_name} ended {status}")
        elif phase == Phase.GATE:
            self._gate(target)
            self.records.keep_release(self.plan.release, stacks.snapshot(env))
        elif phase == Phase.RESTORE:
            if self.results[target.env].drained:
                routing.set_weight(self.context.topology, target.env, 1)
                routing.wait_observed(self.context.topology, self.endpoints, target.env, drained=False)
                self._set(target, drained=False)

    def _drain(self, target: Target) -> None:
        topology = self.context.topology
        try:
            serving = routing.serving(topology)
        except routing.RoutingMissing:
            self.report(target.env, "drain", "skipped: no routing stack yet")
            return
        others = [env for env, on in serving.items() if on and env != target.env and self._healthy(env)]
        if not others:
            self.report(target.env, "drain", "skipped: no other healthy region serves")
            return
        if routing.set_weight(topology, target.env, 0):
            self._set(target, drained=True)
            routing.wait_observed(topology, self.endpoints, target.env, drained=True)

    def _healthy(self, env_name: str) -> bool:
        api = self._api(env_name)
        return api is not None and self.endpoints.request("GET", api.endpoint, api.region, "/health").status == 200

    def _api(self, env_name: str) -> gates.RegionApi | None:
        env = self.context.topology.env(env_name)
        stack = aws.describe_stack(env.stack_name, env.region)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs", [])}
        if "ApiEndpoint" not in outputs:
            return None
        alarms = [a for a in outputs.get("AlarmNames", "").split(",") if a]
        return gates.RegionApi(env.name, env.region, outputs["ApiEndpoint"], alarms)

    def _gate(self, target: Target) -> None:
        if target.kind == "table":
            self._gate_table(target)
            return
        if target.kind == "routing":
            return  # the stack settled complete; its health checks are read by `status`
        api = self._api(target.env)
        if api is None:
            raise gates.GateFailed("health", "the stack has no ApiEndpoint output")
        gates.health(self.endpoints, api, self.plan.release, self.gate_timeout)
        item_id = gates.smoke(self.endpoints, api, self.plan.release)
        other = next((a for env in self.context.topology.regions if env.name != target.env
                      and (a := self._api(env.name)) is not None), None)
        if other is not None:
            lag = gates.replication(self.endpoints, api, other, item_id, self.plan.release)
            self._set(target, replication_lag_ms=round(lag, 1))
        gates.alarms_quiet(api, self.plan.bake_seconds)

    def _gate_table(self, target: Target) -> None:
        env = self.context.topology.env(target.env)
        table_name = self.parameters(target.env).get("TableName") or env.parameters.get("TableName")
        description = aws.client("dynamodb", env.region).describe_table(TableName=table_name)["Table"]
        wanted = {e.region for e in self.context.topology.regions} - {env.region}
        present = {r["RegionName"] for r in description.get("Replicas", []) if r.get("ReplicaStatus") == "ACTIVE"}
        if description.get("TableStatus") != "ACTIVE" or not wanted <= present:
            raise gates.GateFailed("table", f"table {table_name} is {description.get('TableStatus')} with replicas "
                                            f"{sorted(present)}, expected {sorted(wanted)}")

    # --- undo ---------------------------------------------------------------------------------------

    def _roll_back(self, target: Target) -> None:
        snap = self._snapshot(target.env)
        try:
            if target.kind != "table" and snap is not None:
                self.report(target.env, "rollback", f"to {snap.release or 'its recorded stack'}")
                stacks.restore(snap)
            if self.results[target.env].drained:
                routing.set_weight(self.context.topology, target.env, 1)
                self._set(target, drained=False)
        except Exception as error:  # noqa: BLE001
            self._set(target, status="rollback failed", reason=f"{self.results[target.env].reason}; rollback: {error}")
            self.report(target.env, "rollback failed", str(error))
            return
        self._set(target, status="rolled back")
        self.report(target.env, "rolled back", "")

    def _roll_back_all(self) -> None:
        for target in reversed(self.plan.targets):
            if self.results[target.env].status == "deployed" and target.kind != "table":
                self._roll_back(target)
