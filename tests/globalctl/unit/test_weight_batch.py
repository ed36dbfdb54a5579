"""Concurrent drains and restores share routing-stack updates (group commit), each judged alone."""

from __future__ import annotations

import threading

import pytest

from globalctl import routing as traffic
from globalctl.exceptions import GlobalctlError


class _Stack:
    """The routing stack as the batch sees it: its weights, and every update made (slow on purpose)."""

    def __init__(self, envs: list[str], first_update_started: threading.Event, release: threading.Event,
                 fail: bool = False) -> None:
        self.envs, self.fail = envs, fail
        self.deployed = {env: 1 for env in envs}
        self.updates: list[dict[str, int]] = []
        self.first_update_started, self.release = first_update_started, release

    def routing(self, topology):
        return "routing", "us-east-1", {"Envs": ",".join(self.envs), "Weights": ""}

    def weights(self, topology):
        return dict(self.deployed)

    def update(self, stack_name, region, parameters, envs, current):
        self.first_update_started.set()
        assert self.release.wait(10)
        if self.fail:
            raise GlobalctlError("the routing stack update ended UPDATE_ROLLBACK_COMPLETE")
        self.updates.append(dict(current))
        self.deployed = dict(current)
        return True


class _Topology:
    def env(self, name):
        return name


@pytest.fixture
def stack(monkeypatch):
    def make(envs, fail=False):
        started, release = threading.Event(), threading.Event()
        fake = _Stack(envs, started, release, fail)
        monkeypatch.setattr(traffic, "routing_stack", fake.routing)
        monkeypatch.setattr(traffic, "weights", fake.weights)
        monkeypatch.setattr(traffic, "_update_weights", fake.update)
        monkeypatch.setattr(traffic, "_BATCHER", traffic._WeightBatch())
        return fake
    return make


def _drain_concurrently(envs_to_drain, fake, weight=0):
    results: dict[str, object] = {}

    def drain(env):
        try:
            results[env] = traffic.set_weight(_Topology(), env, weight)
        except GlobalctlError as error:
            results[env] = error

    first = threading.Thread(target=drain, args=(envs_to_drain[0],))
    first.start()
    assert fake.first_update_started.wait(10)  # the first drain's update is in flight...
    others = [threading.Thread(target=drain, args=(env,)) for env in envs_to_drain[1:]]
    for thread in others:
        thread.start()
    while len(traffic._BATCHER._queue) < len(others):  # ...while the others queue behind it
        threading.Event().wait(0.01)
    fake.release.set()
    for thread in [first, *others]:
        thread.join(10)
    return results


def test_a_wave_of_five_drains_takes_two_routing_updates_not_five(stack):
    fake = stack(["euw1", "use1", "apse1", "usw2", "euc1", "apne1"])
    results = _drain_concurrently(["use1", "apse1", "usw2", "euc1", "apne1"], fake)
    assert results == {env: True for env in ["use1", "apse1", "usw2", "euc1", "apne1"]}
    assert len(fake.updates) == 2
    assert fake.updates[0] == {"euw1": 1, "use1": 0, "apse1": 1, "usw2": 1, "euc1": 1, "apne1": 1}
    assert fake.deployed == {"euw1": 1, "use1": 0, "apse1": 0, "usw2": 0, "euc1": 0, "apne1": 0}


def test_the_change_that_would_drain_every_region_fails_alone(stack):
    fake = stack(["euw1", "use1", "apse1"])
    results = _drain_concurrently(["euw1", "use1", "apse1"], fake)
    assert results["euw1"] is True and results["use1"] is True
    assert isinstance(results["apse1"], GlobalctlError) and "drain every region" in str(results["apse1"])
    assert fake.deployed == {"euw1": 0, "use1": 0, "apse1": 1}


def test_an_unchanged_weight_is_no_update_and_an_unknown_env_is_refused(stack):
    fake = stack(["euw1", "use1"])
    fake.release.set()
    assert traffic.set_weight(_Topology(), "use1", 1) is False
    with pytest.raises(GlobalctlError, match="does not route apse1"):
        traffic.set_weight(_Topology(), "apse1", 0)
    assert fake.updates == []


def test_a_failed_update_fails_every_change_it_carried(stack):
    fake = stack(["euw1", "use1", "apse1"], fail=True)
    results = _drain_concurrently(["use1", "apse1"], fake)
    assert all(isinstance(result, GlobalctlError) and "UPDATE_ROLLBACK_COMPLETE" in str(result)
               for result in results.values())
    assert fake.deployed == {"euw1": 1, "use1": 1, "apse1": 1}
