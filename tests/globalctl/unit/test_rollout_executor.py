"""The rollout executor's decisions with a fake cloud: the whole plan, a failed gate, the failure
tolerance, the canary, Ctrl-C between waves, resume, and the rollback through the same executor.

The fake (FakeCloud) implements rollout.executor.Operations: it answers from memory, records every
action it is asked for, and fails the ones a test names. Records are real, in a temporary folder,
so the state file, the release records and the history are asserted as the CLI would write them.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from globalctl import topology as topo
from globalctl.bake import AlarmBound
from globalctl.context import Context
from globalctl.exceptions import GlobalctlError
from globalctl.gates import GateFailed
from globalctl.regions import RegionApi
from globalctl.rollout.executor import Executor
from globalctl.exceptions import PlanError
from globalctl.rollout.plan import Plan, plan_rollout
from globalctl.rollout.records import Records
from globalctl.rollout.service import RolloutService
from globalctl.stacks import DeployFailed, Snapshot
from tests.support.samconfigs import samconfig_text

REGIONS = {"euw1": "eu-west-1", "use1": "us-east-1", "apse1": "ap-southeast-1", "euc1": "eu-central-1"}
SAMCONFIG = samconfig_text(REGIONS, region_overrides="TableName=global-items Release=unreleased")
ALL = ("table", *REGIONS, "routing")


class FakeCloud:
    """Operations in memory. `actions` lists what changed or checked something, in call order;
    `fail` maps (action, env) to the error that action raises; `hooks` runs a callable on one."""

    def __init__(self) -> None:
        self.actions: list[tuple[str, str]] = []
        self.fail: dict[tuple[str, str], Exception] = {}
        self.hooks: dict[tuple[str, str], object] = {}
        self.weights = dict.fromkeys(REGIONS, 1)
        self.deployed: dict[str, dict[str, str]] = {}
        self.baked: dict[str, float] = {}
        self.code: dict[str, dict[str, str]] = {}
        self.alarm_bound: AlarmBound | None = AlarmBound("app-5xx", 3, 2, 1, 1)
        self.left_out: dict[str, set[str]] = {}
        self.new: set[str] = set()  # region envs being added: no stack, not routed
        self.site_directory: list[str] | None = None
        self.items: set[str] = set()
        self.read: list[tuple[str, str]] = []  # (item, region env it was read in) by the replication gate
        self._lock = threading.Lock()

    def _act(self, action: str, env: str) -> None:
        with self._lock:
            self.actions.append((action, env))
        hook = self.hooks.get((action, env))
        if hook:
            hook()
        if (action, env) in self.fail:
            raise self.fail[(action, env)]

    def of(self, env: str) -> list[str]:
        return [action for action, on in self.actions if on == env]

    def done(self, action: str) -> list[str]:
        return [env for name, env in self.actions if name == action]

    # --- Operations -------------------------------------------------------------------------------

    def parameters(self, env: str, leave_out: frozenset[str] = frozenset()) -> dict[str, str]:
        self.left_out[env] = set(leave_out)
        return {"TableName": "global-items"}

    def stack_exists(self, env: str) -> bool:
        return env not in self.new

    def write_item(self, api: RegionApi, item_id: str, release: str) -> None:
        self._act("write item", api.env)
        self.items.add(item_id)

    def remove_item(self, api: RegionApi, item_id: str) -> bool:
        self._act("remove item", api.env)
        self.items.discard(item_id)
        return True

    def snapshot(self, env: str) -> Snapshot:
        self._act("snapshot", env)
        return Snapshot(env, "app", REGIONS.get(env, "eu-west-1"), template="{}", tags={"release": "v1"})

    def check_deployable(self, env: str) -> None:
        self._act("check", env)

    def build(self, release: str, fresh: bool) -> None:
        self._act("build" if fresh else "build (resumed)", release)

    def deploy(self, env: str, parameters: dict[str, str], release: str) -> None:
        self._act("deploy", env)
        self.deployed[env] = parameters

    def deployed_code(self, env: str) -> dict[str, str]:
        return dict(self.code.get(env, {"Api/ApiFunction": "sha-of-v2"}))

    def wait_settled(self, env: str) -> str:
        return "UPDATE_COMPLETE"

    def serving(self) -> dict[str, bool]:
        return {env: weight > 0 for env, weight in self.weights.items() if env not in self.new}

    def drain(self, env: str) -> bool:
        self._act("drain", env)
        changed, self.weights[env] = self.weights[env] != 0, 0
        return changed

    def restore_traffic(self, env: str) -> bool:
        self._act("undrain", env)
        changed, self.weights[env] = self.weights[env] != 1, 1
        return changed

    def wait_observed(self, env: str, drained: bool) -> float:
        self._act("observed drained" if drained else "observed serving", env)
        return 0.0

    def api(self, env: str) -> RegionApi | None:
        return RegionApi(env, REGIONS[env], f"https://{env}.execute-api.invalid")

    def healthy(self, env: str) -> bool:
        return True

    def gate_health(self, api: RegionApi, release: str, timeout: float) -> float:
        self._act("health", api.env)
        return 1.0

    def gate_smoke(self, api: RegionApi, release: str) -> str:
        self._act("smoke", api.env)
        return f"globalctl-canary-{api.env}"

    def gate_replication(self, api: RegionApi, other: RegionApi, item_id: str, release: str) -> float:
        self._act("replication", api.env)
        self.read.append((item_id, other.env))
        return 12.34

    def gate_alarms(self, api: RegionApi, bake_seconds: float, traffic_rps: float = 0.0) -> int:
        self._act("alarms", api.env)
        self.baked[api.env] = bake_seconds
        return 1

    def bake_minimum(self, api: RegionApi) -> AlarmBound | None:
        return self.alarm_bound

    def gate_table(self, env: str) -> None:
        self._act("table gate", env)

    def publish_site(self, routed: list[str]) -> list[str]:
        self._act("site", "routing")
        self.site_directory = list(routed)
        return list(routed)

    def restore(self, snapshot: Snapshot) -> None:
        self._act("restore", snapshot.env)


REGION_STEPS = ["snapshot", "drain", "observed drained", "deploy", "health", "smoke", "replication",
                "undrain", "observed serving", "alarms", "snapshot"]
STACK_STEPS = ["snapshot", "deploy", "snapshot"]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "samconfig.toml"
    path.write_text(SAMCONFIG)
    return path


def run(config: Path, cloud: FakeCloud, **options) -> tuple[object, list[str], Executor]:
    options.setdefault("bake_seconds", None)
    plan = plan_rollout(topo.load(config), "v2", **options)
    lines: list[str] = []
    executor = Executor(plan, cloud, Records(config),
                        lambda env, event, detail: lines.append(f"{env} {event} {detail}"), regions=list(REGIONS))
    return executor.run(), lines, executor


def state(config: Path) -> dict:
    return json.loads((config.parent / ".globalctl" / "rollouts" / "current.json").read_text())


def history(config: Path) -> list[dict]:
    return json.loads((config.parent / ".globalctl" / "history.json").read_text())


def statuses(config: Path) -> dict[str, str]:
    return {env: result["status"] for env, result in state(config)["results"].items()}


def test_a_whole_plan_deploys_every_target_in_wave_order_through_every_phase(config):
    cloud = FakeCloud()
    outcome, _, _ = run(config, cloud)
    assert (outcome.ok, outcome.status) == (True, "complete")
    # One build of the release, before anything is touched; then every target in wave order.
    expected = [("build", "v2"), ("snapshot", "table"), ("deploy", "table"), ("table gate", "table"),
                ("snapshot", "table")]
    for env in REGIONS:
        expected += [(step, env) for step in REGION_STEPS]
    expected += [("snapshot", "routing"), ("deploy", "routing"), ("site", "routing"), ("snapshot", "routing")]
    assert cloud.actions == expected
    assert cloud.site_directory == list(REGIONS)  # written once the routing is deployed
    # Regions carry the release; the global stacks take their parameters as they are.
    assert {env: p.get("Release") for env, p in cloud.deployed.items()} == {
        "table": None, **dict.fromkeys(REGIONS, "v2"), "routing": None}
    assert cloud.weights == dict.fromkeys(REGIONS, 1)
    recorded = state(config)
    assert recorded["status"] == "complete" and set(recorded["snapshots"]) == set(ALL)
    assert statuses(config) == dict.fromkeys(ALL, "deployed")
    assert recorded["results"]["use1"]["replication_lag_ms"] == 12.3
    assert sorted(p.stem for p in (config.parent / ".globalctl" / "releases" / "v2").iterdir()) == sorted(
        [*ALL, "code.sha256"])
    assert history(config)[-1]["action"] == "rollout" and history(config)[-1]["status"] == "complete"
    assert history(config)[-1]["regions"] == dict.fromkeys(ALL, "deployed")


def test_a_failed_gate_rolls_that_region_back_on_the_spot_and_restores_its_traffic(config):
    cloud = FakeCloud()
    cloud.fail[("smoke", "use1")] = GateFailed("smoke", "PUT /items/x answered 500")
    outcome, lines, _ = run(config, cloud, failure_tolerance=1)
    assert cloud.of("use1") == ["snapshot", "drain", "observed drained", "deploy", "health", "smoke",
                                "restore", "undrain"]
    assert cloud.weights["use1"] == 1
    assert (outcome.ok, outcome.status) == (False, "complete with failures")
    use1 = state(config)["results"]["use1"]
    assert (use1["status"], use1["drained"]) == ("rolled back", False)
    assert use1["reason"] == "gate: smoke gate: PUT /items/x answered 500"
    assert "use1 failed gate: smoke gate: PUT /items/x answered 500" in lines
    assert "use1 rollback to v1" in lines and "use1 rolled back " in lines
    assert not (config.parent / ".globalctl" / "releases" / "v2" / "use1.json").exists()


def test_a_failure_within_the_tolerance_lets_the_rollout_go_on(config):
    cloud = FakeCloud()
    cloud.fail[("deploy", "use1")] = DeployFailed("use1: sam deploy failed: Error: boom")
    outcome, _, _ = run(config, cloud, failure_tolerance=1)  # use1 is the second region wave
    assert (outcome.ok, outcome.status) == (False, "complete with failures")
    assert cloud.done("deploy") == ["table", "euw1", "use1", "apse1", "euc1", "routing"]
    assert cloud.done("restore") == ["use1"]
    assert statuses(config) == {"table": "deployed", "euw1": "deployed", "use1": "rolled back", "apse1": "deployed",
                                "euc1": "deployed", "routing": "deployed"}
    assert history(config)[-1]["status"] == "complete with failures"


def test_a_failure_past_the_tolerance_stops_and_rolls_every_updated_region_back_in_reverse(config):
    cloud = FakeCloud()
    cloud.fail[("health", "use1")] = GateFailed("health", "/health answered 503")
    # Waves: table | euw1 (canary) | use1, apse1 | euc1 | routing. use1 fails while apse1 succeeds.
    outcome, _, _ = run(config, cloud, failure_tolerance=0, max_concurrent=2)
    assert (outcome.ok, outcome.status) == (False, "rolled back")
    # use1 on the spot, then every updated region last-deployed first; never the table.
    assert cloud.done("restore") == ["use1", "apse1", "euw1"]
    assert "euc1" not in cloud.done("deploy") and "routing" not in cloud.done("deploy")
    assert statuses(config) == {"table": "deployed", "euw1": "rolled back", "use1": "rolled back",
                                "apse1": "rolled back", "euc1": "pending", "routing": "pending"}
    assert cloud.weights == dict.fromkeys(REGIONS, 1)
    assert state(config)["status"] == "rolled back" and history(config)[-1]["status"] == "rolled back"


def test_an_alarm_in_the_canarys_bake_drains_it_again_rolls_it_back_and_stops_the_rollout(config):
    cloud = FakeCloud()
    cloud.fail[("alarms", "euw1")] = GateFailed("alarms", "app-5xx in ALARM: Threshold Crossed")
    outcome, lines, _ = run(config, cloud, failure_tolerance=2)  # the canary stops it whatever the tolerance
    assert (outcome.ok, outcome.status) == (False, "rolled back")
    assert cloud.done("deploy") == ["table", "euw1"]
    # It baked serving (traffic back first), then left the routing before its old stack came back.
    assert cloud.of("euw1")[7:] == ["undrain", "observed serving", "alarms", "drain", "observed drained",
                                    "restore", "undrain"]
    assert state(config)["results"]["euw1"]["reason"] == "bake: alarms gate: app-5xx in ALARM: Threshold Crossed"
    assert not (config.parent / ".globalctl" / "releases" / "v2" / "euw1.json").exists()
    assert cloud.done("restore") == ["euw1"]  # the table is never rolled back
    assert cloud.weights == dict.fromkeys(REGIONS, 1)
    assert statuses(config) == {"table": "deployed", "euw1": "rolled back", "use1": "pending", "apse1": "pending",
                                "euc1": "pending", "routing": "pending"}


def test_a_stop_request_lets_the_wave_in_flight_finish_then_stops_and_resume_finishes(config):
    cloud = FakeCloud()
    holder: dict[str, Executor] = {}
    cloud.hooks[("deploy", "euw1")] = lambda: holder["executor"].stop_requested.set()  # Ctrl-C mid-canary
    plan = plan_rollout(topo.load(config), "v2", bake_seconds=0)
    executor = Executor(plan, cloud, Records(config), lambda *_: None, regions=list(REGIONS))
    holder["executor"] = executor
    outcome = executor.run()
    assert (outcome.ok, outcome.status) == (False, "interrupted")
    assert cloud.done("deploy") == ["table", "euw1"] and cloud.done("restore") == []
    assert cloud.of("euw1")[-3:] == ["undrain", "observed serving", "snapshot"]  # the canary finished its phases
    assert statuses(config) == {"table": "deployed", "euw1": "deployed", "use1": "pending", "apse1": "pending",
                                "euc1": "pending", "routing": "pending"}
    assert state(config)["status"] == "interrupted" and history(config)[-1]["status"] == "interrupted"

    service = RolloutService(Context(config), operations=cloud)
    resumption = service.resume()
    assert sorted(resumption.done) == ["euw1", "table"] and [t.env for t in resumption.left.targets] == [
        "use1", "apse1", "euc1", "routing"]
    assert service.executor(resumption.left, lambda *_: None, resumption.state).run().status == "complete"
    assert cloud.done("deploy") == ["table", "euw1", "use1", "apse1", "euc1", "routing"]
    assert statuses(config) == dict.fromkeys(["use1", "apse1", "euc1", "routing"], "deployed")


def test_a_rollback_runs_each_region_through_the_restore_phase_and_keeps_going_past_a_failure(config):
    records = Records(config)
    for env, region in REGIONS.items():
        records.keep_release("v1", Snapshot(env, "app", region, template="{}", tags={"release": "v1"}))
    records.append_history({"action": "rollout", "release": "v1", "status": "complete", "regions": {}})
    records.append_history({"action": "rollout", "release": "v2", "status": "complete", "regions": {}})
    cloud = FakeCloud()
    service = RolloutService(Context(config), operations=cloud)
    plan = service.rollback_plan(None, None, max_concurrent=1)  # the complete rollout before v2
    assert plan.release == "v1" and [t.env for t in plan.targets] == ["euc1", "apse1", "use1", "euw1"]

    lines: list[str] = []
    service.rollback(plan, lambda env, event, detail: lines.append(f"{env} {event}{': ' + detail if detail else ''}"))
    assert cloud.done("restore") == ["euc1", "apse1", "use1", "euw1"] and cloud.done("deploy") == []
    assert lines == [line for env in ("euc1", "apse1", "use1", "euw1")
                     for line in (f"{env} restore: v1", f"{env} restored")]
    assert {key: value for key, value in history(config)[-1].items() if key != "at"} == {
        "action": "rollback", "release": "v1", "status": "complete", "regions": {}}
    assert not (config.parent / ".globalctl" / "rollouts").exists()  # a rollback keeps no state file

    cloud.fail[("restore", "apse1")] = DeployFailed("apse1: restoring app ended UPDATE_ROLLBACK_COMPLETE")
    with pytest.raises(GlobalctlError, match="rollback to v1 failed in apse1$"):
        service.rollback(plan, lambda *_: None)
    assert cloud.done("restore")[4:] == ["euc1", "apse1", "use1", "euw1"]
    assert history(config)[-1]["status"] == "failed"


def test_the_bake_lasts_at_least_the_bound_of_the_alarms_the_deploy_left(config):
    cloud = FakeCloud()
    cloud.alarm_bound = AlarmBound("app-p99", 300, 2, 60, 180)  # the release lengthened an alarm's period
    outcome, lines, _ = run(config, cloud, bake_seconds=240, regions=["euw1"])
    assert outcome.ok and cloud.baked == {"euw1": 300}
    assert "euw1 bake lengthened to 300 s for app-p99: 2 x 60 s + 180 s" in lines
    assert state(config)["results"]["euw1"]["bake_seconds"] == 300


def test_an_explicit_bake_longer_than_the_bound_is_kept_and_no_alarm_means_nothing_to_watch(config):
    cloud = FakeCloud()
    outcome, _, _ = run(config, cloud, bake_seconds=45, regions=["euw1"])
    assert outcome.ok and cloud.baked == {"euw1": 45}
    cloud = FakeCloud()
    cloud.alarm_bound = None
    outcome, lines, _ = run(config, cloud, regions=["euw1"])
    assert outcome.ok and "euw1 bake no alarm deployed: nothing to watch" in lines


def test_bake_zero_watches_no_alarm(config):
    cloud = FakeCloud()
    outcome, _, _ = run(config, cloud, bake_seconds=0)
    assert outcome.ok and cloud.done("alarms") == [] and cloud.baked == {}


def test_a_region_drained_by_a_killed_run_is_put_back_by_resume(config):
    class Killed(BaseException):
        """The process dying between the drain and the next write of the state file."""

    def die() -> None:
        raise Killed()

    cloud = FakeCloud()
    cloud.hooks[("observed drained", "use1")] = die
    with pytest.raises(Killed):
        run(config, cloud)
    assert cloud.weights["use1"] == 0 and state(config)["results"]["use1"]["drained"] is True
    cloud.hooks.clear()
    service = RolloutService(Context(config), operations=cloud)
    resumption = service.resume()
    assert service.executor(resumption.left, lambda *_: None, resumption.state).run().status == "complete"
    assert cloud.weights == dict.fromkeys(REGIONS, 1)


def test_a_region_an_operator_drained_before_the_rollout_stays_drained(config):
    cloud = FakeCloud()
    cloud.weights["apse1"] = 0
    outcome, lines, _ = run(config, cloud)
    assert outcome.ok and cloud.weights["apse1"] == 0 and "undrain" not in cloud.of("apse1")
    assert "apse1 drain skipped: already drained" in lines


def test_a_region_running_other_code_than_the_releases_first_region_fails_its_code_gate(config):
    cloud = FakeCloud()
    cloud.code["use1"] = {"Api/ApiFunction": "sha-of-a-stale-build"}
    outcome, _, _ = run(config, cloud, failure_tolerance=1)
    assert not outcome.ok
    result = state(config)["results"]["use1"]
    assert result["status"] == "rolled back"
    assert result["reason"] == "gate: code gate: Api/ApiFunction not the code of release v2 (as its first region deployed it)"
    recorded = json.loads((config.parent / ".globalctl" / "releases" / "v2" / "code.sha256.json").read_text())
    assert recorded == {"Api/ApiFunction": "sha-of-v2"}  # the canary's, the first gated


def test_a_resumed_rollout_reuses_its_build_and_a_failed_build_touches_nothing(config):
    cloud = FakeCloud()
    cloud.fail[("build", "v2")] = GlobalctlError("sam build of v2 failed: Error: PythonPipBuilder:ResolveDependencies")
    outcome, lines, _ = run(config, cloud)
    assert (outcome.ok, outcome.status) == (False, "build failed") and cloud.actions == [("build", "v2")]
    assert "build failed sam build of v2 failed: Error: PythonPipBuilder:ResolveDependencies" in lines
    cloud = FakeCloud()
    records = Records(config)
    plan = plan_rollout(topo.load(config), "v2")
    records.start(plan)
    resumption = RolloutService(Context(config), operations=cloud).resume()
    Executor(resumption.left, cloud, records, lambda *_: None, regions=list(REGIONS), state=resumption.state).run()
    assert cloud.actions[0] == ("build (resumed)", "v2")


def test_a_rollback_checks_each_region_runs_the_code_its_release_recorded(config):
    records = Records(config)
    for env, region in REGIONS.items():
        records.keep_release("v1", Snapshot(env, "app", region, template="{}", tags={"release": "v1"}))
    records.release_code("v1", {"Api/ApiFunction": "sha-of-v1"})
    cloud = FakeCloud()
    cloud.code = {env: {"Api/ApiFunction": "sha-of-v1"} for env in REGIONS}
    cloud.code["use1"] = {"Api/ApiFunction": "sha-of-something-else"}  # its recorded package is gone
    service = RolloutService(Context(config), operations=cloud)
    plan = service.rollback_plan("v1", None, max_concurrent=1)
    with pytest.raises(GlobalctlError, match="rollback to v1 failed in use1"):
        service.rollback(plan, lambda *_: None)
    assert cloud.done("restore") == ["euc1", "apse1", "use1", "euw1"]


# --- a region added to a running deployment --------------------------------------------------------

def test_a_new_region_is_never_drained_or_baked_and_its_gates_read_the_backfill_and_both_ways(config):
    cloud = FakeCloud()
    cloud.new = {"euc1"}
    outcome, lines, _ = run(config, cloud, new_regions=["euc1"])
    assert (outcome.ok, outcome.status) == (True, "complete")
    # The backfill item is written through a serving region once the build is done, before the
    # table wave gives the new region its replica, and removed at the end.
    assert cloud.actions[:2] == [("build", "v2"), ("write item", "euw1")] and cloud.actions[-1] == ("remove item", "euw1")
    assert not cloud.items
    euc1 = [action for action, env in cloud.actions[2:-1] if env == "euc1"]
    assert euc1 == ["snapshot", "deploy", "health", "smoke", "replication", "snapshot"]
    # euc1's gates: its item read in euw1; the backfill item (written in euw1) and a fresh write of
    # euw1's read in euc1.
    assert [pair for pair in cloud.read if "euc1" in pair[0] or pair[1] == "euc1"] == [
        ("globalctl-canary-euc1", "euw1"), ("globalctl-backfill-v2", "euc1"), ("globalctl-canary-euw1", "euc1")]
    assert "drain" not in euc1 and "alarms" not in euc1 and "euc1" not in cloud.baked
    assert cloud.left_out["routing"] == set()  # the routing, last, routes it


def test_a_new_region_is_not_the_canary_while_a_region_serves(config):
    top = topo.load(config)
    assert plan_rollout(top, "v2", regions=["euc1", "use1"], new_regions=["euc1"]).canary.env == "use1"
    with pytest.raises(PlanError, match="canary 'euc1' is a new region"):
        plan_rollout(top, "v2", canary="euc1", new_regions=["euc1"])
    # A first deployment has no serving region: the first one is the canary, as always.
    first = plan_rollout(top, "v2", new_regions=list(REGIONS))
    assert first.canary.env == "euw1" and all(t.new for t in first.region_targets)
    plan = plan_rollout(top, "v2", new_regions=["euc1"])
    assert [t.label() for t in plan.region_targets][-1] == "new euc1 (eu-central-1)"
    assert any(line.startswith("new region euc1: record -> deploy -> gate") for line in plan.describe())
    assert Plan.from_dict(plan.to_dict()) == plan


def test_a_new_region_failing_its_gates_is_deleted_and_never_routed_the_others_untouched(config):
    cloud = FakeCloud()
    cloud.new = {"euc1"}
    cloud.fail[("health", "euc1")] = GateFailed("health", "/health answered 502")
    outcome, _, _ = run(config, cloud, new_regions=["euc1"], failure_tolerance=1)
    assert outcome.status == "complete with failures"
    assert cloud.done("restore") == ["euc1"]  # its record is "no stack": restoring it deletes the stack
    assert "drain" not in cloud.of("euc1")
    assert cloud.left_out["routing"] == {"euc1"}  # the routing never includes it
    assert "euc1" not in cloud.site_directory  # nor the demo site's region directory
    assert statuses(config)["euc1"] == "rolled back"
    assert all(statuses(config)[env] == "deployed" for env in ("euw1", "use1", "apse1"))


def test_a_region_directory_that_cannot_be_written_is_reported_and_the_rollout_completes(config):
    cloud = FakeCloud()
    cloud.fail[("site", "routing")] = RuntimeError("AccessDenied: ssm:PutParameter")
    outcome, lines, _ = run(config, cloud)
    assert outcome.status == "complete"
    assert "routing site region directory not written: AccessDenied: ssm:PutParameter" in lines
    assert cloud.weights == dict.fromkeys(REGIONS, 1)  # the routing it followed is left as deployed


def test_a_new_region_failing_with_no_tolerance_rolls_the_release_back_and_no_routing_runs(config):
    cloud = FakeCloud()
    cloud.new = {"euc1"}
    cloud.fail[("replication", "euc1")] = GateFailed("replication", "not readable")
    outcome, _, _ = run(config, cloud, new_regions=["euc1"])
    assert outcome.status == "rolled back"
    assert "routing" not in cloud.done("deploy")
    assert cloud.done("restore") == ["euc1", "apse1", "use1", "euw1"]


def test_a_new_region_whose_replica_lacks_the_item_written_before_it_fails_the_backfill_gate(config):
    class NoBackfill(FakeCloud):
        def gate_replication(self, api: RegionApi, other: RegionApi, item_id: str, release: str) -> float:
            if item_id.startswith("globalctl-backfill-") and other.env == "euc1":
                raise GateFailed("replication", "not readable in euc1 (eu-central-1) yet after 10 s")
            return super().gate_replication(api, other, item_id, release)

    cloud = NoBackfill()
    cloud.new = {"euc1"}
    outcome, lines, _ = run(config, cloud, new_regions=["euc1"])
    assert outcome.status == "rolled back"
    assert state(config)["results"]["euc1"]["reason"].startswith(
        "gate: backfill gate: globalctl-backfill-v2, written in euw1 before the replica existed: not readable")
    assert "routing" not in cloud.done("deploy") and cloud.done("restore")[0] == "euc1"
    assert not cloud.items  # the backfill item is removed even so
