"""globalctl.traffic without a cloud: shares read off a weighted rule, Route 53's 18% vote of the
health checkers, and the weights of each step of a shift."""

from __future__ import annotations

import pytest

from globalctl import routing_policy as rp
from globalctl import traffic
from globalctl.exceptions import GlobalctlError
from tests.support.policies import POLICIES, THREE


def deployed(kind: str, weights=None, health=None) -> traffic.Deployed:
    policy = rp.parse(POLICIES[3][kind], THREE)
    checks = {env: f"hc-{env}" for env in THREE}
    document = rp.document(policy, {env: f"{env}.{region}.example" for env, region in THREE.items()}, checks, weights)
    return traffic.Deployed("traffic-policy", policy, rp.live_weights(policy, weights),
                            {env: True for env in THREE} | (health or {}), checks, document)


def test_a_weighted_rule_is_shown_as_each_region_s_share():
    routed = traffic.where(deployed("weighted"), ["eu-west-2"])[0]
    assert routed.shares == pytest.approx({"eu-west-1": 0.6, "us-east-1": 0.3, "ap-southeast-1": 0.1})
    assert routed.path[0] == "weighted-regions" and not routed.failed_open


def test_an_unhealthy_weighted_region_has_no_share():
    routed = traffic.where(deployed("weighted", health={"euw1": False}), ["eu-west-2"])[0]
    assert routed.shares == pytest.approx({"us-east-1": 0.75, "ap-southeast-1": 0.25})


def test_a_single_answer_with_its_rule_path_and_failing_open_when_nothing_is_healthy():
    found = deployed("failover", health={"euw1": False})
    routed = traffic.where(found, ["ap-southeast-2"])[0]
    assert routed.shares == {"us-east-1": 1.0}
    assert routed.path == ["failover-1", "failover-2", "guard-use1"] and not routed.failed_open
    nothing = traffic.where(deployed("failover", health={env: False for env in THREE}), ["ap-southeast-2"])[0]
    assert nothing.failed_open


@pytest.mark.parametrize(("reports", "healthy"), [
    ([], True),  # no checker has reported yet: a new health check is healthy
    (["Success"] * 4 + ["Failure"] * 12, True),  # 25% of the checkers: more than 18%
    (["Success"] * 2 + ["Failure"] * 14, False),  # 12.5%
])
def test_route53_counts_a_health_check_healthy_above_18_percent_of_its_checkers(reports, healthy):
    observations = [{"Region": f"checker-{i}", "StatusReport": {"Status": f"{status}: x", "CheckedTime": "t1"}}
                    for i, status in enumerate(reports)]
    assert traffic._checkers_say_healthy(observations) is healthy


def test_each_checker_counts_once_with_its_newest_report():
    observations = [{"Region": "one", "StatusReport": {"Status": "Success: 200", "CheckedTime": "2026-12-04T10:00:02Z"}},
                    {"Region": "one", "StatusReport": {"Status": "Failure: 503", "CheckedTime": "2026-12-04T10:00:01Z"}}]
    assert traffic._checkers_say_healthy(observations)
    observations[0]["StatusReport"]["CheckedTime"] = "2026-12-04T09:59:59Z"
    assert not traffic._checkers_say_healthy(observations)


def test_a_shift_goes_in_steps_no_wider_than_asked_and_keeps_the_others_proportions():
    steps = traffic.steps_to({"euw1": 1, "use1": 1, "apse1": 2}, "euw1", 80, 30)
    assert [round(traffic.share_of(s, "euw1"), 1) for s in steps] == [52.5, 80.2]
    for weights in steps:
        assert all(0 <= w <= 255 for w in weights.values())
        assert weights["apse1"] == pytest.approx(2 * weights["use1"], abs=1)


def test_zero_drains_the_region_and_a_hundred_drains_the_others():
    weights = {"euw1": 10, "use1": 30}
    assert traffic.weights_for_share(weights, "euw1", 0) == {"use1": 30, "euw1": 0}
    assert traffic.weights_for_share(weights, "euw1", 100) == {"use1": 0, "euw1": 10}


@pytest.mark.parametrize(("weights", "percent", "step", "message"), [
    ({"euw1": 1, "use1": 1}, 101, 10, "--to must be a percentage from 0 to 100, got 101"),
    ({"euw1": 1, "use1": 1}, 50, 0, "--step must be more than 0, got 0"),
    ({"euw1": 1, "use1": 0}, 50, 10, "every other region has weight 0: euw1 can have only 100% or nothing"),
])
def test_impossible_shifts_are_refused_in_one_line(weights, percent, step, message):
    with pytest.raises(GlobalctlError, match=message.replace("%", "%").replace("(", r"\(")):
        traffic.steps_to(weights, "euw1", percent, step)


def test_a_shift_or_drain_outlives_a_rollout_until_samconfig_declares_new_weights(tmp_path):
    from globalctl import parameters
    from globalctl import topology as topo
    from tests.support.policies import overrides
    from tests.support.samconfigs import samconfig_text
    from tests.templates.conftest import fake_outputs

    def rendered(declared: str, live: dict, deployed: dict | None) -> str:
        config = tmp_path / "samconfig.toml"
        config.write_text(samconfig_text(THREE, routing_overrides=overrides(
            {"RoutingPolicy": "weighted", "RoutingWeights": declared})))
        topology = topo.load(config)
        return parameters.routing_parameters(topology, fake_outputs(topology), live, deployed=deployed)["Weights"]

    shifted = {"euw1": 200, "use1": 0, "apse1": 55}
    same = {"RoutingPolicy": "weighted", "RoutingWeights": "euw1:60,use1:30,apse1:10"}
    assert rendered("euw1:60,use1:30,apse1:10", shifted, None) == "60,30,10"  # first deploy: as declared
    assert rendered("euw1:60,use1:30,apse1:10", shifted, same) == "200,0,55"  # the live weights stay
    assert rendered("euw1:50,use1:50,apse1:0", shifted, same) == "50,50,0"  # a new declaration wins
    assert rendered("euw1:60,use1:30,apse1:10", shifted, {**same, "RoutingPolicy": "latency"}) == "60,30,10"


def test_a_rollout_gives_a_drained_region_back_the_weight_it_had_so_a_shift_survives(tmp_path, monkeypatch):
    from globalctl import routing
    from globalctl.context import Context
    from globalctl.rollout.operations import AwsOperations
    from tests.support.samconfigs import samconfig_text

    config = tmp_path / "samconfig.toml"
    config.write_text(samconfig_text(THREE))
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(routing, "weights", lambda _topology: {"euw1": 200, "use1": 21, "apse1": 0})
    monkeypatch.setattr(routing, "set_weight", lambda _topology, env, weight: calls.append((env, weight)) or True)
    monkeypatch.setattr(routing, "serving_weight", lambda _topology, env: 60)  # what samconfig declares
    operations = AwsOperations(Context(config))
    for env in ("euw1", "apse1"):
        operations.drain(env)
        operations.restore_traffic(env)
    assert calls == [("euw1", 0), ("euw1", 200), ("apse1", 0), ("apse1", 60)]  # apse1 was drained already
