"""Global-table replication, EVENTUAL (MREC): last writer wins, nothing lost across cuts."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localcloud.dynamodb import (
    EVENTUAL,
    InvalidTopology,
    ReplicationGroup,
    WriteStamp,
    replicating,
    validate_topology,
)

REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-1"]
EU, US, AP = REGIONS


def key(name: str) -> dict[str, Any]:
    return {"id": {"S": name}}


def item(name: str, value: int, origin: str) -> dict[str, Any]:
    return {"id": {"S": name}, "v": {"N": str(value)}, "origin_region": {"S": origin}}


class Stores:
    """One dict per replica, standing in for the moto tables; records every apply."""

    def __init__(self, regions: list[str]) -> None:
        self.data: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in regions}
        self.applied: list[tuple[str, str, dict[str, Any] | None, bool]] = []
        self.fail: Callable[[str, str], bool] = lambda region, name: False
        self._lock = threading.Lock()

    def write(self, region: str, name: str, image: dict[str, Any] | None) -> None:
        with self._lock:
            if image is None:
                self.data[region].pop(name, None)
            else:
                self.data[region][name] = image

    def apply(self, region: str, k: dict[str, Any], image: dict[str, Any] | None) -> None:
        name = k["id"]["S"]
        if self.fail(region, name):
            raise RuntimeError(f"table in {region} is busy")
        self.applied.append((region, name, image, replicating()))
        self.write(region, name, image)

    def snapshot(self, region: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self.data[region])


def client_write(group: ReplicationGroup, stores: Stores, region: str, name: str,
                 image: dict[str, Any] | None) -> WriteStamp:
    """What the lead's hook does: apply in the region's table, then report it, under the lock."""
    with group.write_lock():
        stores.write(region, name, image)
        return group.local_write(region, key(name), image)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.002)
    return condition()


@pytest.fixture
def stores() -> Stores:
    return Stores(REGIONS)


@pytest.fixture
def make_group(stores: Stores) -> Iterator[Callable[..., ReplicationGroup]]:
    groups: list[ReplicationGroup] = []

    def make(regions: list[str] = REGIONS, clock: Callable[[], int] = time.time_ns) -> ReplicationGroup:
        group = ReplicationGroup("items", regions, EVENTUAL, None, stores.apply, clock,
                                 retry_initial_s=0.001, retry_max_s=0.01)
        groups.append(group)
        return group

    yield make
    for group in groups:
        group.close()


def test_a_write_reaches_every_replica_flagged_as_replicated(make_group, stores) -> None:
    group = make_group()
    client_write(group, stores, EU, "a", item("a", 1, EU))

    assert group.wait_converged(5)
    for region in REGIONS:
        assert stores.snapshot(region) == {"a": item("a", 1, EU)}
    assert sorted(r for r, *_ in stores.applied) == sorted([US, AP])
    assert all(flag for *_, flag in stores.applied)
    assert not replicating()
    assert group.stats()["delivered"] == 2


def test_a_delete_replicates_as_a_delete(make_group, stores) -> None:
    group = make_group()
    client_write(group, stores, EU, "a", item("a", 1, EU))
    client_write(group, stores, US, "b", item("b", 1, US))
    assert group.wait_converged(5)
    client_write(group, stores, AP, "a", None)

    assert group.wait_converged(5)
    for region in REGIONS:
        assert stores.snapshot(region) == {"b": item("b", 1, US)}


def test_a_replicated_change_reported_as_local_write_is_refused(make_group, stores) -> None:
    group = make_group()
    refused: list[str] = []

    def echoing_apply(region: str, k: dict[str, Any], image: dict[str, Any] | None) -> None:
        try:  # a lead hook that forgot to check replicating()
            group.local_write(region, k, image)
        except RuntimeError as exc:
            refused.append(region)
            assert "replicating()" in str(exc)
        stores.apply(region, k, image)

    group._apply = echoing_apply  # the hook sits behind the lead's apply
    client_write(group, stores, EU, "a", item("a", 1, EU))

    assert group.wait_converged(5)
    assert sorted(refused) == sorted([US, AP])
    assert group.backlog() == {pair: 0 for pair in group.backlog()}


def test_a_cut_region_queues_both_ways_and_catches_up_on_restore(make_group, stores) -> None:
    group = make_group()
    group.cut(EU)
    assert group.is_cut(EU)
    for n in range(3):
        client_write(group, stores, EU, f"eu{n}", item(f"eu{n}", n, EU))
    client_write(group, stores, US, "us0", item("us0", 0, US))

    assert wait_until(lambda: "us0" in stores.snapshot(AP))
    assert not group.wait_converged(0.05)
    backlog = group.backlog()
    assert backlog[(EU, US)] == backlog[(EU, AP)] == 3
    assert backlog[(US, EU)] == 1 and backlog[(US, AP)] == 0
    assert set(stores.snapshot(EU)) == {"eu0", "eu1", "eu2"}
    assert set(stores.snapshot(US)) == set(stores.snapshot(AP)) == {"us0"}
    assert group.lag_ms() > 0

    group.restore(EU)
    assert group.wait_converged(5)
    assert not group.is_cut(EU)
    assert group.lag_ms() == 0.0
    expected = {f"eu{n}": item(f"eu{n}", n, EU) for n in range(3)} | {"us0": item("us0", 0, US)}
    for region in REGIONS:
        assert stores.snapshot(region) == expected


def test_changes_from_one_source_arrive_in_order(make_group, stores) -> None:
    group = make_group()
    group.cut(US)
    for n in range(1, 6):
        client_write(group, stores, EU, "a", item("a", n, EU))
    group.restore(US)

    assert group.wait_converged(5)
    arrived = [image["v"]["N"] for region, _, image, _ in stores.applied if region == US]
    assert arrived == ["1", "2", "3", "4", "5"]


def test_concurrent_writes_settle_last_writer_wins_in_every_replica(make_group, stores) -> None:
    now = {"ns": 0}
    group = make_group(clock=lambda: now["ns"])
    for region in REGIONS:
        group.cut(region)
    stamps = {}
    for region, at in ((EU, 100), (US, 300), (AP, 200)):
        now["ns"] = at
        stamps[region] = client_write(group, stores, region, "a", item("a", at, region))
    for region in REGIONS:
        group.restore(region)

    assert group.wait_converged(5)
    assert stamps[US] == WriteStamp(300, US) == max(stamps.values())
    for region in REGIONS:
        assert stores.snapshot(region) == {"a": item("a", 300, US)}
    # The older writes were dropped where the newest had already landed.
    assert group.stats()["superseded"] >= 2


def test_equal_timestamps_break_the_tie_on_origin_region(make_group, stores) -> None:
    group = make_group(clock=lambda: 1_000)
    for region in REGIONS:
        group.cut(region)
    for region in REGIONS:
        assert client_write(group, stores, region, "a", item("a", 1, region)) == WriteStamp(1_000, region)
    for region in REGIONS:
        group.restore(region)

    assert group.wait_converged(5)
    winner = max(REGIONS)  # "us-east-1": same timestamp, the greater origin region wins
    for region in REGIONS:
        assert stores.snapshot(region) == {"a": item("a", 1, winner)}
    assert WriteStamp(5, "eu-west-1") < WriteStamp(5, "us-east-1") < WriteStamp(6, "ap-southeast-1")


def test_a_local_write_outranks_the_version_its_replica_holds(make_group, stores) -> None:
    # The US write arrives in EU first; EU's clock has not moved, yet its later write must win,
    # or EU would keep its write while the others keep the US one.
    group = make_group(clock=lambda: 1_000)
    us_stamp = client_write(group, stores, US, "a", item("a", 1, US))
    assert group.wait_converged(5)
    eu_stamp = client_write(group, stores, EU, "a", item("a", 2, EU))

    assert eu_stamp > us_stamp
    assert group.wait_converged(5)
    for region in REGIONS:
        assert stores.snapshot(region) == {"a": item("a", 2, EU)}


def test_stamps_are_unique_and_increase_within_a_region(make_group, stores) -> None:
    group = make_group(clock=lambda: 7)
    stamps = [client_write(group, stores, EU, f"k{n % 3}", item(f"k{n % 3}", n, EU)) for n in range(20)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 20


def test_failed_applies_are_retried_until_they_succeed(make_group, stores) -> None:
    failures = {"left": 3}

    def flaky(region: str, name: str) -> bool:
        if region == AP and failures["left"]:
            failures["left"] -= 1
            return True
        return False

    stores.fail = flaky
    group = make_group()
    client_write(group, stores, EU, "a", item("a", 1, EU))

    assert group.wait_converged(5)
    assert stores.snapshot(AP) == {"a": item("a", 1, EU)}
    assert group.stats()["apply_failures"] == 3
    assert group.last_errors() == {}


def test_a_failing_link_reports_its_error_and_keeps_the_change(make_group, stores) -> None:
    stores.fail = lambda region, name: region == AP
    group = make_group()
    client_write(group, stores, EU, "a", item("a", 1, EU))

    assert wait_until(lambda: (EU, AP) in group.last_errors())
    assert "busy" in group.last_errors()[(EU, AP)]
    assert group.backlog()[(EU, AP)] == 1
    stores.fail = lambda region, name: False
    assert group.wait_converged(5)
    assert stores.snapshot(AP) == {"a": item("a", 1, EU)}


def test_a_slow_link_holds_changes_until_the_delay_passes(make_group, stores) -> None:
    group = make_group()
    group.delay_ms(US, 60_000)
    client_write(group, stores, EU, "a", item("a", 1, EU))

    assert wait_until(lambda: "a" in stores.snapshot(AP))
    assert group.backlog()[(EU, US)] == 1 and stores.snapshot(US) == {}
    group.delay_ms(US, 0)
    assert group.wait_converged(5)
    assert stores.snapshot(US) == {"a": item("a", 1, EU)}


def test_add_replica_seeds_from_a_source_and_converges(make_group, stores) -> None:
    stores.data["eu-central-1"] = {}
    group = make_group(regions=[EU, US])
    client_write(group, stores, EU, "a", item("a", 1, EU))
    assert group.wait_converged(5)
    group.cut(EU)
    client_write(group, stores, EU, "b", item("b", 1, EU))  # still on its way to US

    group.add_replica("eu-central-1", ((key(n), img) for n, img in stores.snapshot(US).items()),
                      source_region=US)
    client_write(group, stores, US, "c", item("c", 1, US))
    group.restore(EU)

    assert group.wait_converged(5)
    expected = {"a": item("a", 1, EU), "b": item("b", 1, EU), "c": item("c", 1, US)}
    for region in (EU, US, "eu-central-1"):
        assert stores.snapshot(region) == expected
    assert set(group.replicas) == {EU, US, "eu-central-1"}
    with pytest.raises(InvalidTopology):
        group.add_replica(US, [])


def test_a_new_replica_is_creating_until_its_copy_is_complete_and_writes_go_on_meanwhile(make_group, stores) -> None:
    stores.data["eu-central-1"] = {}
    group = make_group(regions=[EU, US])
    for n in range(300):
        client_write(group, stores, EU, f"i{n}", item(f"i{n}", n, EU))
    assert group.wait_converged(5)
    copying = threading.Event()
    release = threading.Event()
    real_apply = stores.apply

    def slow_apply(region: str, k: dict[str, Any], image: dict[str, Any] | None) -> None:
        if region == "eu-central-1" and k["id"]["S"] == "i250":
            copying.set()
            release.wait(5)
        real_apply(region, k, image)

    group._apply = slow_apply  # the copy stalls on one item: the replica must stay CREATING
    group.add_replica("eu-central-1", ((key(n), img) for n, img in stores.snapshot(EU).items()), source_region=EU)
    assert copying.wait(5)
    assert group.replica_status("eu-central-1") == "CREATING"
    assert not group.wait_active("eu-central-1", timeout=0.05)
    # Writes everywhere go on while the copy is stalled, and they reach the new replica too.
    client_write(group, stores, US, "i0", item("i0", 1000, US))
    client_write(group, stores, EU, "fresh", item("fresh", 1, EU))
    client_write(group, stores, EU, "i1", None)
    release.set()

    assert group.wait_active("eu-central-1", timeout=5)
    assert group.replica_status("eu-central-1") == "ACTIVE"
    assert group.wait_converged(5)
    expected = stores.snapshot(EU)
    assert expected["i0"] == item("i0", 1000, US) and "i1" not in expected and "fresh" in expected
    for region in (US, "eu-central-1"):
        assert stores.snapshot(region) == expected


def test_the_copy_never_overwrites_a_newer_version_nor_brings_a_deleted_item_back(stores) -> None:
    stores.data["eu-central-1"] = {}
    group = ReplicationGroup("items", [EU, US], EVENTUAL, None, stores.apply, background=False)
    for region, name, image in ((EU, "kept", item("kept", 1, EU)), (EU, "gone", item("gone", 1, EU))):
        with group.write_lock():
            stores.write(region, name, image)
            group.local_write(region, key(name), image)
    while group.deliverable_links():
        group.deliver_next(*group.deliverable_links()[0])
    with group.write_lock():  # deleted in EU, the delete not yet delivered to US
        stores.write(EU, "gone", None)
        group.local_write(EU, key("gone"), None)

    # The copy comes from US, which still holds "gone": its stamp is older than EU's delete.
    group.add_replica("eu-central-1", [(key(n), img) for n, img in stores.snapshot(US).items()], source_region=US)
    while group.deliverable_links():
        group.deliver_next(*group.deliverable_links()[0])
    assert group.replica_status("eu-central-1") == "ACTIVE"
    assert stores.snapshot("eu-central-1") == stores.snapshot(EU) == stores.snapshot(US) == {"kept": item("kept", 1, EU)}


def test_remove_replica_stops_replicating_to_it(make_group, stores) -> None:
    group = make_group()
    group.remove_replica(AP)
    client_write(group, stores, EU, "a", item("a", 1, EU))

    assert group.wait_converged(5)
    assert stores.snapshot(US) == {"a": item("a", 1, EU)} and stores.snapshot(AP) == {}
    assert all(AP not in pair for pair in group.backlog())
    with pytest.raises(InvalidTopology):
        group.local_write(AP, key("a"), None)


def test_close_stops_every_delivery_thread(stores) -> None:
    group = ReplicationGroup("closing", REGIONS, EVENTUAL, None, stores.apply)
    group.cut(EU)
    client_write(group, stores, EU, "a", item("a", 1, EU))
    group.close()

    assert not [t for t in threading.enumerate() if t.name.startswith("replicate-closing-")]


@pytest.mark.parametrize(
    ("mode", "regions", "witness", "message"),
    [
        ("LOCAL", [EU], None, "EVENTUAL or STRONG"),
        (EVENTUAL, [], None, "one or more"),
        (EVENTUAL, [EU, EU], None, "distinct"),
        (EVENTUAL, [EU, US], AP, "only with"),
        ("STRONG", ["us-east-1", "us-east-2"], None, "exactly three"),
        ("STRONG", ["us-east-1", "us-east-2", "us-west-2"], "us-west-1", "exactly three"),
        ("STRONG", ["us-east-1", "us-east-2"], "us-east-2", "different Region"),
    ],
)
def test_invalid_topologies_are_refused(mode, regions, witness, message) -> None:
    with pytest.raises(InvalidTopology, match=message) as raised:
        validate_topology(mode, regions, witness)
    assert raised.value.aws_error_code == "ValidationException"


def test_concurrent_writers_under_random_cuts_converge(make_group, stores) -> None:
    group = make_group()
    stamps: dict[str, list[tuple[WriteStamp, dict[str, Any] | None]]] = {}
    record_lock = threading.Lock()

    def writer(region: str, seed: int) -> None:
        rng = random.Random(seed)
        for n in range(150):
            name = f"k{rng.randrange(4)}"
            image = None if rng.random() < 0.2 else item(name, n, region)
            stamp = client_write(group, stores, region, name, image)
            with record_lock:
                stamps.setdefault(name, []).append((stamp, image))

    threads = [threading.Thread(target=writer, args=(r, i)) for i, r in enumerate(REGIONS)]
    for thread in threads:
        thread.start()
    chaos = random.Random(99)
    while any(t.is_alive() for t in threads):
        region = chaos.choice(REGIONS)
        group.cut(region) if chaos.random() < 0.5 else group.restore(region)
    for thread in threads:
        thread.join()
    for region in REGIONS:
        group.restore(region)

    assert group.wait_converged(10)
    expected = {name: max(writes, key=lambda w: w[0])[1] for name, writes in stamps.items()}
    expected = {name: image for name, image in expected.items() if image is not None}
    for region in REGIONS:
        assert stores.snapshot(region) == expected


write_op = st.one_of(
    st.tuples(st.just("put"), st.sampled_from(REGIONS), st.sampled_from(["a", "b", "c"]), st.integers(0, 9)),
    st.tuples(st.just("delete"), st.sampled_from(REGIONS), st.sampled_from(["a", "b", "c"]), st.none()),
    st.tuples(st.just("cut"), st.sampled_from(REGIONS), st.none(), st.none()),
    st.tuples(st.just("restore"), st.sampled_from(REGIONS), st.none(), st.none()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(write_op, max_size=30), frozen_clock=st.booleans())
def test_replicas_converge_to_the_highest_stamp_per_item(ops, frozen_clock) -> None:
    stores = Stores(REGIONS)
    clock = (lambda: 1_000) if frozen_clock else time.time_ns
    group = ReplicationGroup("items", REGIONS, EVENTUAL, None, stores.apply, clock,
                             retry_initial_s=0.001, retry_max_s=0.01)
    try:
        writes: dict[str, list[tuple[WriteStamp, dict[str, Any] | None]]] = {}
        for action, region, name, value in ops:
            if action == "cut":
                group.cut(region)
            elif action == "restore":
                group.restore(region)
            else:
                image = item(name, value, region) if action == "put" else None
                stamp = client_write(group, stores, region, name, image)
                writes.setdefault(name, []).append((stamp, image))
        for region in REGIONS:
            group.restore(region)

        assert group.wait_converged(10)
        winners = {name: max(ws, key=lambda w: w[0])[1] for name, ws in writes.items()}
        expected = {name: image for name, image in winners.items() if image is not None}
        for region in REGIONS:
            assert stores.snapshot(region) == expected
    finally:
        group.close()
