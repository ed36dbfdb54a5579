"""The rollout planner: wave order, canary, concurrency, tolerance, resume, serialisation, rollback.

Topologies are real samconfig files written to a temporary directory and read by topology.load.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from globalctl import topology as topo
from globalctl import bake
from globalctl.exceptions import GlobalctlError, PlanError, UnknownEnvironmentError
from globalctl.rollout.plan import (
    Phase,
    Plan,
    Target,
    Wave,
    phases,
    plan_rollback,
    plan_rollout,
    release_id,
    stop_after_failures,
)
from tests.support import ROOT

SHIPPED = topo.load(ROOT / "samconfig.toml")

# samconfig order of the generated topologies; env names as the shipped samconfig names them.
REGIONS = [
    ("euw1", "eu-west-1"),
    ("use1", "us-east-1"),
    ("apse1", "ap-southeast-1"),
    ("euc1", "eu-central-1"),
    ("usw2", "us-west-2"),
    ("apne1", "ap-northeast-1"),
]

TABLE = '''
[table.deploy.parameters]
stack_name = "global-backend-table"
region = "{home}"
template_file = "global/table.yaml"
parameter_overrides = "TableName=global-items"
'''
ROUTING = '''
[routing.deploy.parameters]
stack_name = "global-backend-routing"
region = "us-east-1"
template_file = "global/routing.yaml"
'''
REGION = '''
[{env}.deploy.parameters]
stack_name = "global-backend-{env}"
region = "{region}"
capabilities = "CAPABILITY_IAM CAPABILITY_AUTO_EXPAND"
parameter_overrides = "TableName=global-items Release=unreleased"
'''


def samconfig(regions: list[tuple[str, str]], *, table: bool = True, routing: bool = True,
              globals_at: str = "around") -> str:
    """A samconfig with the given region envs; `globals_at` puts table/routing around, first or last."""
    home = regions[0][1] if regions else "eu-west-1"
    global_blocks = {"table": TABLE.format(home=home) if table else "", "routing": ROUTING if routing else ""}
    region_blocks = "".join(REGION.format(env=env, region=region) for env, region in regions)
    head = "version = 0.1\n[default.build.parameters]\ncached = true\n"
    if globals_at == "first":
        return head + global_blocks["routing"] + global_blocks["table"] + region_blocks
    if globals_at == "last":
        return head + region_blocks + global_blocks["routing"] + global_blocks["table"]
    return head + global_blocks["table"] + region_blocks + global_blocks["routing"]


def load(directory: Path, regions: list[tuple[str, str]], **kwargs) -> topo.Topology:
    config = directory / "samconfig.toml"
    config.write_text(samconfig(regions, **kwargs))
    return topo.load(config)


@pytest.fixture
def six(tmp_path: Path) -> topo.Topology:
    return load(tmp_path, REGIONS)


@pytest.fixture
def shipped() -> topo.Topology:
    return SHIPPED


def envs(wave: Wave) -> list[str]:
    return [target.env for target in wave.targets]


def check_rollout(plan: Plan, top: topo.Topology, selected: list[str], canary: str, max_concurrent: int,
                  *, table: bool = True, routing: bool = True) -> None:
    """Every invariant of a rollout plan, checked against the topology it was made from."""
    assert plan.action == "rollout"
    assert [wave.number for wave in plan.waves] == list(range(1, len(plan.waves) + 1))
    waves = list(plan.waves)
    if table and top.table:
        first = waves.pop(0)
        assert first.targets == (Target("table", "table", top.table.region, "global-backend-table", False),)
    if routing and top.routing:
        last = waves.pop()
        assert last.targets == (Target("routing", "routing", "us-east-1", "global-backend-routing", False),)
    assert all(t.kind == "region" for wave in waves for t in wave.targets), "table/routing only at the ends"
    # The canary alone, right after the table, and the only target flagged canary.
    assert envs(waves[0]) == [canary] and waves[0].targets[0].canary
    assert [t.env for t in plan.targets if t.canary] == [canary]
    assert plan.canary == waves[0].targets[0]
    rest = waves[1:]
    samconfig_order = [env.name for env in top.regions]
    expected_rest = [name for name in samconfig_order if name in selected and name != canary]
    assert [env for wave in rest for env in envs(wave)] == expected_rest
    assert all(1 <= len(wave.targets) <= max_concurrent for wave in rest)
    # Chunks are as full as allowed: only the last region wave may be short.
    assert len(rest) == math.ceil(len(expected_rest) / max_concurrent)
    assert sorted(t.env for t in plan.region_targets) == sorted(selected)
    for target in plan.region_targets:
        env = top.env(target.env)
        assert (target.region, target.stack_name) == (env.region, env.stack_name)


# -- wave shape ---------------------------------------------------------------------------------


@pytest.mark.parametrize("count", range(1, 7))
@pytest.mark.parametrize("max_concurrent", range(1, 5))
def test_waves_for_1_to_6_regions(tmp_path, count, max_concurrent):
    top = load(tmp_path, REGIONS[:count])
    plan = plan_rollout(top, "v1", max_concurrent=max_concurrent)
    check_rollout(plan, top, [env for env, _ in REGIONS[:count]], "euw1", max_concurrent)
    assert len(plan.waves) == 2 + 1 + math.ceil((count - 1) / max_concurrent)


def test_five_regions_two_at_a_time_exact_waves(tmp_path):
    top = load(tmp_path, REGIONS[:5])
    plan = plan_rollout(top, "v1", max_concurrent=2)
    assert [envs(wave) for wave in plan.waves] == [
        ["table"], ["euw1"], ["use1", "apse1"], ["euc1", "usw2"], ["routing"]]


def test_global_envs_anywhere_in_samconfig_still_table_first_routing_last(tmp_path):
    for where in ("first", "last"):
        directory = tmp_path / where
        directory.mkdir()
        top = load(directory, REGIONS[:4], globals_at=where)
        plan = plan_rollout(top, "v1", max_concurrent=3)
        assert [envs(wave) for wave in plan.waves] == [["table"], ["euw1"], ["use1", "apse1", "euc1"], ["routing"]]


def test_without_table_or_routing_env_or_excluded(tmp_path):
    top = load(tmp_path, REGIONS[:3], table=False, routing=False)
    plan = plan_rollout(top, "v1")
    assert [envs(wave) for wave in plan.waves] == [["euw1"], ["use1"], ["apse1"]]
    assert plan.drain is False  # no routing stack: nothing to drain with
    top = load(tmp_path, REGIONS[:3])
    plan = plan_rollout(top, "v1", include_table=False, include_routing=False)
    assert [envs(wave) for wave in plan.waves] == [["euw1"], ["use1"], ["apse1"]]


@settings(max_examples=120, deadline=None)
@given(
    count=st.integers(1, 6),
    data=st.data(),
    max_concurrent=st.integers(1, 5),
    globals_at=st.sampled_from(["around", "first", "last"]),
    table=st.booleans(),
    routing=st.booleans(),
)
def test_any_selection_keeps_every_invariant(count, data, max_concurrent, globals_at, table, routing):
    names = [env for env, _ in REGIONS[:count]]
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True), label="regions")
    canary = data.draw(st.one_of(st.none(), st.sampled_from(chosen)), label="canary")
    with tempfile.TemporaryDirectory() as directory:
        top = load(Path(directory), REGIONS[:count], table=table, routing=routing, globals_at=globals_at)
    plan = plan_rollout(top, "v1", regions=chosen, canary=canary, max_concurrent=max_concurrent)
    # The default canary is the first region named, not the first in samconfig order.
    check_rollout(plan, top, chosen, canary or chosen[0], max_concurrent)
    assert plan.drain is (routing and count >= 2)


# -- canary and region selection -----------------------------------------------------------------


def test_canary_override_runs_alone_then_the_rest_in_samconfig_order(six):
    plan = plan_rollout(six, "v1", canary="euc1", max_concurrent=2)
    assert [envs(wave) for wave in plan.waves] == [
        ["table"], ["euc1"], ["euw1", "use1"], ["apse1", "usw2"], ["apne1"], ["routing"]]
    assert plan.canary == Target("euc1", "region", "eu-central-1", "global-backend-euc1", True)


def test_regions_subset_keeps_samconfig_order_and_first_named_is_canary(six):
    plan = plan_rollout(six, "v1", regions=["apne1", "euw1", "euc1"])
    assert [envs(wave) for wave in plan.waves] == [["table"], ["apne1"], ["euw1"], ["euc1"], ["routing"]]
    plan = plan_rollout(six, "v1", regions=["apne1", "euw1", "euc1"], canary="euc1", max_concurrent=4)
    assert [envs(wave) for wave in plan.waves] == [["table"], ["euc1"], ["euw1", "apne1"], ["routing"]]


def test_repeated_region_names_deploy_once(six):
    plan = plan_rollout(six, "v1", regions=["use1", "use1", "euw1"])
    assert [t.env for t in plan.region_targets] == ["use1", "euw1"]


def test_unknown_region_lists_known_environments(six):
    with pytest.raises(UnknownEnvironmentError) as caught:
        plan_rollout(six, "v1", regions=["euw1", "mars1"])
    assert str(caught.value) == (
        "unknown environment 'mars1' (known: table, euw1, use1, apse1, euc1, usw2, apne1, routing)")
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("name", ["table", "routing"])
def test_global_env_in_regions_is_not_a_region(six, name):
    with pytest.raises(PlanError, match=rf"^'{name}' is not a region environment \(it deploys the {name} stack\)$"):
        plan_rollout(six, "v1", regions=["euw1", name])


def test_canary_must_be_selected(six):
    with pytest.raises(PlanError, match=r"canary 'apne1' is not one of the selected regions \(euw1, use1\)"):
        plan_rollout(six, "v1", regions=["euw1", "use1"], canary="apne1")
    with pytest.raises(PlanError, match="canary 'table' is not one of the selected regions"):
        plan_rollout(six, "v1", canary="table")
    with pytest.raises(UnknownEnvironmentError, match="unknown environment 'mars1'"):
        plan_rollout(six, "v1", canary="mars1")


def test_no_region_at_all(tmp_path):
    top = load(tmp_path, [])
    with pytest.raises(PlanError, match="no region environment to deploy"):
        plan_rollout(top, "v1")
    top = load(tmp_path, REGIONS[:2])
    with pytest.raises(PlanError, match="no region selected"):
        plan_rollout(top, "v1", regions=[])


# -- numbers and release ids ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_concurrent": 0}, "max concurrent must be >= 1, got 0"),
        ({"max_concurrent": -3}, "max concurrent must be >= 1, got -3"),
        ({"max_concurrent": True}, "max concurrent must be a whole number, got True"),
        ({"max_concurrent": 1.5}, "max concurrent must be a whole number, got 1.5"),
        ({"max_concurrent": "2"}, "max concurrent must be a whole number, got '2'"),
        ({"failure_tolerance": -1}, "failure tolerance must be >= 0, got -1"),
        ({"failure_tolerance": 6}, r"failure tolerance 6 must be less than the number of regions selected \(6\)"),
        ({"failure_tolerance": 2, "regions": ["euw1", "use1"]},
         r"failure tolerance 2 must be less than the number of regions selected \(2\)"),
        ({"bake_seconds": -1}, "bake seconds must be >= 0, got -1"),
        ({"bake_seconds": 2.5}, "bake seconds must be a whole number, got 2.5"),
    ],
)
def test_bad_numbers(six, options, message):
    with pytest.raises(PlanError, match=message) as caught:
        plan_rollout(six, "v1", **options)
    assert isinstance(caught.value, GlobalctlError) and caught.value.exit_code == 2


def test_largest_tolerance_and_zero_bake_are_accepted(six):
    plan = plan_rollout(six, "v1", failure_tolerance=5, bake_seconds=0, max_concurrent=10)
    assert (plan.failure_tolerance, plan.bake_seconds, plan.max_concurrent) == (5, 0, 10)
    assert [envs(wave) for wave in plan.waves][2] == ["use1", "apse1", "euc1", "usw2", "apne1"]


@pytest.mark.parametrize("release", ["", "-v1", ".v1", "_v1", "v 1", "v1/2", "v1=2", "v1\n", "é1", "x" * 65, None, 7])
def test_bad_release_ids(six, release):
    with pytest.raises(PlanError, match=r"must match \^\[A-Za-z0-9\]") as caught:
        plan_rollout(six, release)
    assert repr(release) in str(caught.value)


@pytest.mark.parametrize("release", ["v", "7", "x" * 64, "v1.2.3_rc-1", "abc1234-20240506T070809Z"])
def test_good_release_ids(six, release):
    assert plan_rollout(six, release).release == release


# -- phases and drain ----------------------------------------------------------------------------


def test_phases_per_target_kind():
    region = Target("euw1", "region", "eu-west-1", "global-backend", True)
    table = Target("table", "table", "eu-west-1", "global-backend-table")
    routing = Target("routing", "routing", "us-east-1", "global-backend-routing")
    # The bake comes last: after the restore, so the region's alarms see its live traffic.
    assert phases(region, True) == ("record", "drain", "deploy", "gate", "restore", "bake")
    assert phases(region, False) == (Phase.RECORD, Phase.DEPLOY, Phase.GATE, Phase.BAKE)
    assert phases(region, True, bake=False) == ("record", "drain", "deploy", "gate", "restore")
    for stack in (table, routing):
        assert phases(stack, True) == phases(stack, False) == ("record", "deploy", "gate")


def test_drain_planned_only_with_routing_and_another_region(tmp_path):
    assert plan_rollout(load(tmp_path, REGIONS[:2]), "v1").drain is True
    assert plan_rollout(load(tmp_path, REGIONS[:2]), "v1", drain=False).drain is False
    assert plan_rollout(load(tmp_path, REGIONS[:1]), "v1").drain is False
    assert plan_rollout(load(tmp_path, REGIONS[:2], routing=False), "v1").drain is False
    # Selecting one region of several still drains it: the others serve meanwhile.
    assert plan_rollout(load(tmp_path, REGIONS[:3]), "v1", regions=["use1"]).drain is True


def test_targets_reject_impossible_values():
    with pytest.raises(ValueError, match="target kind 'database'"):
        Target("x", "database", "eu-west-1", "s")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="only a region target can be the canary"):
        Target("table", "table", "eu-west-1", "s", canary=True)


# -- failure tolerance ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tolerance", "failed", "canary_failed", "stop"),
    [
        (0, 0, False, False),
        (0, 1, False, True),
        (0, 1, True, True),
        (1, 1, False, False),
        (1, 2, False, True),
        (1, 1, True, True),  # the canary failing stops the rollout whatever the tolerance
        (3, 3, False, False),
        (3, 4, False, True),
        (3, 0, True, True),
    ],
)
def test_tolerance_rule(six, tolerance, failed, canary_failed, stop):
    plan = plan_rollout(six, "v1", failure_tolerance=tolerance)
    assert stop_after_failures(plan, failed, canary_failed) is stop


def test_tolerance_rule_rejects_negative_counts(six):
    with pytest.raises(ValueError):
        stop_after_failures(plan_rollout(six, "v1"), -1, False)


# -- resume --------------------------------------------------------------------------------------


def test_without_drops_done_targets_and_empty_waves_keeping_numbers(six):
    plan = plan_rollout(six, "v1", max_concurrent=2)
    rest = plan.without(["table", "euw1", "use1"])
    assert [(wave.number, envs(wave)) for wave in rest.waves] == [
        (3, ["apse1"]), (4, ["euc1", "usw2"]), (5, ["apne1"]), (6, ["routing"])]
    assert rest.canary is None
    assert (rest.release, rest.max_concurrent, rest.failure_tolerance, rest.drain) == ("v1", 2, 0, True)
    assert rest.describe()[2] == "wave 3: apse1 (ap-southeast-1)"
    assert plan.without([]) == plan
    # Names are checked against this plan, so a resumed plan cannot be reduced by a stale state.
    with pytest.raises(PlanError, match="^table: not in this rollout plan"):
        rest.without(["table"])


def test_without_everything_is_an_empty_plan(six):
    plan = plan_rollout(six, "v1")
    done = plan.without(t.env for t in plan.targets)
    assert done.waves == () and done.targets == ()
    assert done.describe() == [
        "rollout v1: 0 regions in 0 waves (max concurrent 1, failure tolerance 0, drain planned)",
        "bake the alarms' minimum", "nothing left to do"]


def test_without_names_outside_the_plan_is_an_error(six):
    plan = plan_rollout(six, "v1", regions=["euw1", "use1"])
    with pytest.raises(PlanError, match=r"^apne1, mars1: not in this rollout plan"):
        plan.without(["euw1", "mars1", "apne1"])


@settings(max_examples=60, deadline=None)
@given(max_concurrent=st.integers(1, 4), data=st.data())
def test_without_a_done_prefix_leaves_exactly_the_rest(max_concurrent, data):
    with tempfile.TemporaryDirectory() as directory:
        top = load(Path(directory), REGIONS)
    plan = plan_rollout(top, "v1", max_concurrent=max_concurrent)
    done = data.draw(st.integers(0, len(plan.targets)), label="done")
    rest = plan.without(t.env for t in plan.targets[:done])
    assert rest.targets == plan.targets[done:]
    numbers = [wave.number for wave in rest.waves]
    assert numbers == sorted(set(numbers)) and set(numbers) <= {w.number for w in plan.waves}
    assert all(wave.targets for wave in rest.waves)


# -- serialisation -------------------------------------------------------------------------------


def test_to_dict_shape_and_json_round_trip(shipped):
    plan = plan_rollout(shipped, "abc1234-20240506T070809Z", bake_seconds=30)
    data = plan.to_dict()
    assert list(data) == ["action", "release", "max_concurrent", "failure_tolerance", "bake_seconds", "bake_basis",
                          "bake_traffic_rps", "drain", "waves"]
    assert data["waves"][1] == {"number": 2, "targets": [
        {"env": "euw1", "kind": "region", "region": "eu-west-1", "stack_name": "global-backend", "canary": True, "new": False}]}
    assert Plan.from_dict(json.loads(json.dumps(data))) == plan
    rest = plan.without(["table", "euw1"])
    assert Plan.from_dict(json.loads(json.dumps(rest.to_dict()))) == rest
    back = plan_rollback(shipped, "abc1234-20240506T070809Z")
    assert Plan.from_dict(back.to_dict()) == back


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(1, 6), max_concurrent=st.integers(1, 4), bake=st.integers(0, 3600),
    rollback=st.booleans(), data=st.data(),
)
def test_round_trip_any_plan(count, max_concurrent, bake, rollback, data):
    tolerance = data.draw(st.integers(0, count - 1), label="tolerance")
    with tempfile.TemporaryDirectory() as directory:
        top = load(Path(directory), REGIONS[:count])
    make = plan_rollback if rollback else plan_rollout
    plan = make(top, "r1", max_concurrent=max_concurrent, failure_tolerance=tolerance, bake_seconds=bake)
    assert Plan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


def _mutated(plan: Plan, change) -> dict:
    data = json.loads(json.dumps(plan.to_dict()))
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("release"), "KeyError: 'release'"),
        (lambda d: d.update(action="deploy"), "plan action 'deploy'"),
        (lambda d: d.update(release="bad id"), "release id 'bad id' is invalid"),
        (lambda d: d.update(max_concurrent=0), "max concurrent must be >= 1"),
        (lambda d: d.update(failure_tolerance=True), "failure tolerance must be a whole number"),
        (lambda d: d.update(drain="yes"), "drain must be true or false"),
        (lambda d: d["waves"][0]["targets"][0].update(kind="database"), "target kind 'database'"),
        (lambda d: d["waves"][2]["targets"].append(d["waves"][1]["targets"][0]), "more than once"),
        (lambda d: d["waves"][2].update(targets=[]), "a wave has no targets"),
        (lambda d: d["waves"][0].update(number=0), "wave number must be >= 1"),
        (lambda d: d.update(waves=7), "TypeError"),
    ],
)
def test_from_dict_rejects_malformed_documents(shipped, change, message):
    data = _mutated(plan_rollout(shipped, "v1"), change)
    with pytest.raises(PlanError, match="^malformed plan: .*" + message.replace("(", r"\(")):
        Plan.from_dict(data)


def test_from_dict_rejects_non_mappings():
    with pytest.raises(PlanError, match="malformed plan"):
        Plan.from_dict(["not", "a", "plan"])


# -- describe ------------------------------------------------------------------------------------


def test_describe_shipped_topology(shipped):
    assert plan_rollout(shipped, "v1").describe() == [
        "rollout v1: 3 regions in 5 waves (max concurrent 1, failure tolerance 0, drain planned)",
        "bake the alarms' minimum",
        "wave 1: table global-backend-table (eu-west-1)",
        "wave 2: canary euw1 (eu-west-1)",
        "wave 3: use1 (us-east-1)",
        "wave 4: apse1 (ap-southeast-1)",
        "wave 5: routing global-backend-routing (us-east-1)",
        "each region: record -> drain -> deploy -> gate -> restore -> bake",
        "each global stack: record -> deploy -> gate",
    ]


def test_describe_parallel_waves_without_routing(tmp_path):
    top = load(tmp_path, REGIONS[:4], routing=False)
    assert plan_rollout(top, "v2", max_concurrent=3, failure_tolerance=1, bake_seconds=5).describe() == [
        "rollout v2: 4 regions in 3 waves (max concurrent 3, failure tolerance 1, drain not planned)",
        "bake 5 s",
        "wave 1: table global-backend-table (eu-west-1)",
        "wave 2: canary euw1 (eu-west-1)",
        "wave 3: use1 (us-east-1), apse1 (ap-southeast-1), euc1 (eu-central-1)",
        "each region: record -> deploy -> gate -> bake",
        "each global stack: record -> deploy -> gate",
    ]


def test_describe_single_region_without_global_stacks(tmp_path):
    top = load(tmp_path, REGIONS[:1], table=False, routing=False)
    assert plan_rollout(top, "v1", bake_seconds=0).describe() == [
        "rollout v1: 1 region in 1 wave (max concurrent 1, failure tolerance 0, drain not planned)",
        "no bake (--bake 0): alarms not watched",
        "wave 1: canary euw1 (eu-west-1)",
        "each region: record -> deploy -> gate",
    ]


# -- the bake's minimum ----------------------------------------------------------------------------

SHIPPED_ALARM = {"AlarmName": "Api5xxRateAlarm", "EvaluationPeriods": 3, "DatapointsToAlarm": 2,
                 "Metrics": [{"Id": "rate", "Expression": "IF(requests > 0, 100 * errors / requests, 0)"},
                             {"Id": "errors", "MetricStat": {"Period": 60, "Stat": "Sum"}},
                             {"Id": "requests", "MetricStat": {"Period": 60, "Stat": "Sum"}}]}


def test_the_minimum_is_the_slowest_alarms_datapoints_times_period_plus_publication_and_evaluation():
    slow = {"AlarmName": "IteratorAge", "Period": 60, "EvaluationPeriods": 5}  # no DatapointsToAlarm: all 5
    fast = {"AlarmName": "Errors", "Period": 10, "EvaluationPeriods": 1}
    assert bake.bound(SHIPPED_ALARM) == bake.AlarmBound("Api5xxRateAlarm", 240, 2, 60, 120)
    assert bake.minimum([SHIPPED_ALARM, slow, fast]) == bake.AlarmBound("IteratorAge", 420, 5, 60, 120)
    assert bake.minimum([]) is None
    # On the local cloud datapoints are published at once and alarms evaluated every scaled period.
    local = bake.bound(SHIPPED_ALARM, scale=0.05, local=True)
    assert (local.seconds, local.period, local.delay) == (12, 3.0, 6.0)


def test_a_positive_bake_below_the_minimum_is_refused_naming_the_alarm(shipped):
    bound = bake.bound(SHIPPED_ALARM)
    with pytest.raises(PlanError, match=r"^bake 60 s is shorter than the 240 s alarm Api5xxRateAlarm needs to fire "
                                        r"\(Api5xxRateAlarm: 2 x 60 s \+ 120 s\)"):
        plan_rollout(shipped, "v1", bake_seconds=60, bake_minimum=bound)
    assert plan_rollout(shipped, "v1", bake_seconds=240, bake_minimum=bound).bake_text() == (
        "bake 240 s (minimum 240 s for Api5xxRateAlarm: 2 x 60 s + 120 s)")
    assert plan_rollout(shipped, "v1", bake_minimum=bound).bake_text() == (
        "bake the alarms' minimum (now 240 s for Api5xxRateAlarm: 2 x 60 s + 120 s)")
    skipped = plan_rollout(shipped, "v1", bake_seconds=0, bake_minimum=bound)
    assert skipped.bake_text() == "no bake (--bake 0): alarms not watched"
    assert all(Phase.BAKE not in skipped.phases(t) for t in skipped.targets)


# -- rollback ------------------------------------------------------------------------------------


def test_rollback_reverses_regions_canary_last_no_table_routing_last(six):
    plan = plan_rollback(six, "v0")
    assert plan.action == "rollback"
    assert [envs(wave) for wave in plan.waves] == [
        ["apne1"], ["usw2"], ["euc1"], ["apse1"], ["use1"], ["euw1"], ["routing"]]
    assert plan.canary == plan.waves[-2].targets[0] and plan.canary.env == "euw1"
    assert plan.describe()[0].startswith("rollback v0: 6 regions in 7 waves")


def test_rollback_mirrors_rollout_waves(six):
    forward = plan_rollout(six, "v1", max_concurrent=2, include_table=False, include_routing=False)
    back = plan_rollback(six, "v1", max_concurrent=2, include_routing=False)
    assert [envs(wave) for wave in back.waves] == [["apne1"], ["usw2", "euc1"], ["apse1", "use1"], ["euw1"]]
    assert [envs(w) for w in back.waves] == [envs(w)[::-1] for w in reversed(forward.waves)]


def test_rollback_table_only_when_asked_after_regions_before_routing(six):
    plan = plan_rollback(six, "v0", regions=["use1", "euw1"], include_table=True, max_concurrent=3)
    assert [envs(wave) for wave in plan.waves] == [["euw1"], ["use1"], ["table"], ["routing"]]
    assert [wave.number for wave in plan.waves] == [1, 2, 3, 4]


def test_rollback_validates_like_rollout(six):
    with pytest.raises(PlanError, match="release id"):
        plan_rollback(six, "bad id")
    with pytest.raises(PlanError, match="not a region environment"):
        plan_rollback(six, "v0", regions=["table"])
    with pytest.raises(PlanError, match="failure tolerance 1 must be less"):
        plan_rollback(six, "v0", regions=["euw1"], failure_tolerance=1)


@settings(max_examples=60, deadline=None)
@given(count=st.integers(1, 6), max_concurrent=st.integers(1, 4), data=st.data())
def test_rollback_region_order_is_rollout_reversed(count, max_concurrent, data):
    names = [env for env, _ in REGIONS[:count]]
    canary = data.draw(st.sampled_from(names), label="canary")
    with tempfile.TemporaryDirectory() as directory:
        top = load(Path(directory), REGIONS[:count])
    forward = plan_rollout(top, "v1", canary=canary, max_concurrent=max_concurrent)
    back = plan_rollback(top, "v1", canary=canary, max_concurrent=max_concurrent)
    assert back.region_targets == forward.region_targets[::-1]
    assert back.region_targets[-1].canary and back.region_targets[-1].env == canary
    assert envs(back.waves[-2]) == [canary]
    assert [t.kind for t in back.targets if t.kind != "region"] == ["routing"]


# -- release ids ---------------------------------------------------------------------------------


def test_release_id_from_git_and_time():
    moment = datetime(2024, 5, 6, 7, 8, 9, 999, tzinfo=timezone.utc)
    assert release_id("0123456789ABCDEF0123456789abcdef01234567", moment) == "0123456-20240506T070809Z"
    assert release_id("abcdef1", moment) == "abcdef1-20240506T070809Z"
    assert release_id(None, moment) == "local-20240506T070809Z"
    assert release_id("", moment) == "local-20240506T070809Z"
    # A time in another zone is labelled with its UTC instant.
    tokyo = datetime(2024, 5, 6, 16, 8, 9, tzinfo=timezone(timedelta(hours=9)))
    assert release_id(None, tokyo) == "local-20240506T070809Z"


def test_release_id_refuses_naive_time_and_non_hex_sha():
    with pytest.raises(ValueError, match="timezone-aware"):
        release_id("abcdef1", datetime(2024, 5, 6))
    with pytest.raises(ValueError, match="not 7 to 64 hexadecimal digits"):
        release_id("main", datetime(2024, 5, 6, tzinfo=timezone.utc))


@given(
    sha=st.one_of(st.none(), st.text(alphabet="0123456789abcdefABCDEF", min_size=7, max_size=40)),
    moment=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 12, 31), timezones=st.timezones()),
)
def test_release_id_is_always_a_valid_release(sha, moment):
    release = release_id(sha, moment)
    assert plan_rollout(SHIPPED, release).release == release
    assert release.endswith(moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ"))


def test_planner_imports_no_aws_sdk():
    code = (
        "import sys, globalctl.rollout.plan\n"
        "print(','.join(m for m in ('boto3', 'botocore') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert proc.stdout.strip() == ""


def test_bake_traffic_is_bounded_needs_a_bake_and_is_said_in_the_plan(shipped):
    plan = plan_rollout(shipped, "v1", bake_seconds=300, bake_traffic_rps=5)
    assert plan.bake_text() == "bake 300 s, with 5 probe requests/s"
    assert Plan.from_dict(json.loads(json.dumps(plan.to_dict()))).bake_traffic_rps == 5
    for rps, bake_seconds in ((51, None), (-1, None), (5, 0)):
        with pytest.raises(PlanError, match="bake traffic must be 0 to 50 requests/s, and needs a bake"):
            plan_rollout(shipped, "v1", bake_seconds=bake_seconds, bake_traffic_rps=rps)
