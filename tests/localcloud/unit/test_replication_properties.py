"""Global-table replication (EVENTUAL, MREC) as a hypothesis state machine: any sequence of puts and
deletes in any replicas, any delivery interleaving the links allow, cuts, heals, failed applies and
replicas added or removed on the way, converges to the same content in every replica, and that
content is the last writer's per item.

What AWS promises (version 2019.11.21, MREC):
- "last writer wins reconciliation between concurrent updates ... all of the replicas will agree on
  the latest update, and converge toward a state in which they all have identical data"
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html);
- each item carries a private last-write timestamp and a replicated write is applied only if its
  timestamp is greater than the stored one; items replicate individually
  (https://docs.aws.amazon.com/prescriptive-guidance/latest/dynamodb-global-tables/overview.html).
A delete is a write like any other: for the replicas to converge, a put older than a delete must
lose to it wherever it arrives later, so the delete's timestamp outlives the item.

The expected state is computed here from the write log alone (the stamp each write got, and which
write is the greatest per item), never read back from the group. Deliveries run in this thread
through ``ReplicationGroup(background=False)``: hypothesis picks which link delivers next.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from localcloud.dynamodb import EVENTUAL, InvalidTopology, ReplicationGroup, WriteStamp, replicating

# Replicas start from the first 2-4; the rest are there to be added later (never re-added once
# removed: a region's links are keyed by its name).
POOL = ["eu-west-1", "us-east-1", "ap-southeast-1", "us-west-2", "eu-central-1", "sa-east-1", "ap-northeast-1"]
KEYS = ["a", "b", "c"]
MAX_REPLICAS = 5


def key(name: str) -> dict[str, Any]:
    return {"id": {"S": name}}


def image(name: str, serial: int, origin: str) -> dict[str, Any]:
    return {"id": {"S": name}, "serial": {"N": str(serial)}, "origin_region": {"S": origin}}


@dataclass(frozen=True)
class Write:
    serial: int
    region: str
    name: str
    stamp: WriteStamp
    image: dict[str, Any] | None


class ApplyRefused(RuntimeError):
    """The replica's table refused a replicated change (the link must keep it and retry)."""


class Tables:
    """Each replica's table (name -> image), written by clients and by the group's apply."""

    def __init__(self, regions: list[str]) -> None:
        self.data: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in regions}
        self.refuse_next = False

    def write(self, region: str, name: str, new: dict[str, Any] | None) -> None:
        if new is None:
            self.data[region].pop(name, None)
        else:
            self.data[region][name] = new

    def apply(self, region: str, k: dict[str, Any], new: dict[str, Any] | None) -> None:
        assert replicating(), "a replicated change must be applied inside the replicating scope"
        if self.refuse_next:
            self.refuse_next = False
            raise ApplyRefused(f"table in {region} is busy")
        self.write(region, k["id"]["S"], new)

    def seed(self, region: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        # Lazy, so the scan happens under the group's write lock, as the lead's _seed does.
        for name, item in list(self.data[region].items()):
            yield key(name), item


def expected_content(log: list[Write]) -> dict[str, dict[str, Any]]:
    """Per item, the image of the write with the greatest stamp; items whose last write is a
    delete are absent."""
    last: dict[str, Write] = {}
    for write in log:
        if write.name not in last or write.stamp > last[write.name].stamp:
            last[write.name] = write
    return {name: w.image for name, w in last.items() if w.image is not None}


class GlobalTableMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.group: ReplicationGroup | None = None

    @initialize(
        replicas=st.integers(2, 4),
        # Regions' clocks disagree by a few ticks (and ties happen): the stamp rule must still
        # let a write that has seen another one beat it.
        skews=st.lists(st.integers(-3, 3), min_size=len(POOL), max_size=len(POOL)),
    )
    def create(self, replicas: int, skews: list[int]) -> None:
        regions = POOL[:replicas]
        self.spare = POOL[replicas:]
        self.removed: list[str] = []
        self.skew = dict(zip(POOL, skews))
        self.now = 100
        self.writer = regions[0]
        self.tables = Tables(regions)
        self.log: list[Write] = []
        self.group = ReplicationGroup("items", regions, EVENTUAL, None, self.tables.apply, self._clock,
                                      background=False)

    def _clock(self) -> int:
        return self.now + self.skew[self.writer]

    # ------------------------------------------------------------------------------ client writes

    def _client_write(self, region: str, name: str, new: dict[str, Any] | None) -> None:
        assert self.group is not None
        held = self.tables.data[region].get(name)
        self.writer = region
        with self.group.write_lock():
            self.tables.write(region, name, new)
            stamp = self.group.local_write(region, key(name), new)
        if held is not None:
            # The write replaces a version this replica holds, so it must outrank it, whatever the
            # clocks say; otherwise the replica would keep its write and the others the older one.
            seen = self.log[int(held["serial"]["N"])]
            assert stamp > seen.stamp, (stamp, seen)
        mine = [w.stamp for w in self.log if w.region == region]
        assert not mine or stamp > max(mine), "stamps must grow within a region"
        self.log.append(Write(len(self.log), region, name, stamp, new))

    @rule(data=st.data(), name=st.sampled_from(KEYS), after=st.integers(0, 2))
    def put(self, data: st.DataObject, name: str, after: int) -> None:
        region = data.draw(st.sampled_from(self.group.replicas), label="region")
        self.now += after
        self._client_write(region, name, image(name, len(self.log), region))

    @rule(data=st.data(), name=st.sampled_from(KEYS), after=st.integers(0, 2))
    def delete(self, data: st.DataObject, name: str, after: int) -> None:
        region = data.draw(st.sampled_from(self.group.replicas), label="region")
        self.now += after
        if name not in self.tables.data[region]:
            # DeleteItem of an absent item changes nothing: no stream record, nothing replicated.
            return
        self._client_write(region, name, None)

    # ------------------------------------------------------------------------------ deliveries

    @precondition(lambda self: self.group is not None and self.group.deliverable_links())
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        src, dst = data.draw(st.sampled_from(sorted(self.group.deliverable_links())), label="link")
        backlog = self.group.backlog()[(src, dst)]
        assert self.group.deliver_next(src, dst)
        assert self.group.backlog().get((src, dst), 0) == backlog - 1

    @precondition(lambda self: self.group is not None and self.group.deliverable_links())
    @rule(data=st.data())
    def deliver_but_the_apply_fails(self, data: st.DataObject) -> None:
        src, dst = data.draw(st.sampled_from(sorted(self.group.deliverable_links())), label="link")
        backlog, table = self.group.backlog()[(src, dst)], dict(self.tables.data[dst])
        self.tables.refuse_next = True
        try:
            self.group.deliver_next(src, dst)
        except ApplyRefused:
            # Refused: the change stays at the head of its link, the replica is untouched.
            assert self.group.backlog()[(src, dst)] == backlog
            assert (src, dst) in self.group.last_errors()
        else:
            # Superseded by a newer version already there: dropped without touching the table.
            assert self.tables.refuse_next, "the table applied a change it was told to refuse"
            self.tables.refuse_next = False
            assert self.group.backlog().get((src, dst), 0) == backlog - 1
        assert self.tables.data[dst] == table

    # ------------------------------------------------------------------------------ faults

    @rule(data=st.data())
    def cut(self, data: st.DataObject) -> None:
        region = data.draw(st.sampled_from(self.group.replicas), label="region")
        self.group.cut(region)
        assert not any(region in pair for pair in self.group.deliverable_links())

    @rule(data=st.data())
    def restore(self, data: st.DataObject) -> None:
        self.group.restore(data.draw(st.sampled_from(self.group.replicas), label="region"))

    # ------------------------------------------------------------------------------ membership

    @precondition(lambda self: self.group is not None and self.spare and len(self.group.replicas) < MAX_REPLICAS)
    @rule(data=st.data())
    def add_replica(self, data: st.DataObject) -> None:
        region = self.spare.pop(0)
        source = data.draw(st.sampled_from(self.group.replicas), label="source")
        self.tables.data[region] = {}
        self.group.add_replica(region, self.tables.seed(source), source_region=source)
        assert self.tables.data[region] == self.tables.data[source]

    @precondition(lambda self: self.group is not None and len(self.group.replicas) > 2)
    @rule(data=st.data())
    def remove_replica(self, data: st.DataObject) -> None:
        region = data.draw(st.sampled_from(self.group.replicas), label="region")
        self.group.remove_replica(region)
        self.removed.append(region)
        with pytest.raises(InvalidTopology):
            self.group.local_write(region, key("a"), None)

    # ------------------------------------------------------------------------------ convergence

    def _heal_and_drain(self) -> None:
        for region in self.group.members + self.removed:
            if self.group.is_cut(region):
                self.group.restore(region)
        for _ in range(10_000):
            links = sorted(self.group.deliverable_links())
            if not links:
                break
            self.group.deliver_next(*links[0])

    def _assert_converged(self) -> None:
        stuck = {pair: n for pair, n in self.group.backlog().items() if n}
        assert not stuck, f"changes never delivered after heal: {stuck}"
        expected = expected_content(self.log)
        for region in self.group.replicas:
            assert self.tables.data[region] == expected, region

    @rule()
    def heal_and_drain(self) -> None:
        self._heal_and_drain()
        self._assert_converged()

    @invariant()
    def replicas_hold_only_written_versions(self) -> None:
        if self.group is None:
            return
        for region in self.group.replicas:
            for name, held in self.tables.data[region].items():
                write = self.log[int(held["serial"]["N"])]
                assert write.name == name and write.image == held

    def teardown(self) -> None:
        # The final heal: whatever happened before, every replica ends identical and right.
        if self.group is not None:
            self._heal_and_drain()
            self._assert_converged()


GlobalTableMachine.TestCase.settings = settings(
    max_examples=400,  # a step costs microseconds (no threads, no sleeps): about 3 s in all
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestReplicasConverge = GlobalTableMachine.TestCase


# ---------------------------------------------------------------------------------- fixed races

REGIONS = POOL[:3]
EU, US, AP = REGIONS


class Fixture:
    """A three-replica group on a settable clock, delivering only when told to."""

    def __init__(self) -> None:
        self.now = 0
        self.tables = Tables(REGIONS)
        self.group = ReplicationGroup("items", REGIONS, EVENTUAL, None, self.tables.apply, lambda: self.now,
                                      background=False)

    def write(self, region: str, name: str, new: dict[str, Any] | None, at: int) -> WriteStamp:
        self.now = at
        with self.group.write_lock():
            self.tables.write(region, name, new)
            return self.group.local_write(region, key(name), new)

    def drain(self, order: list[tuple[str, str]]) -> None:
        for src, dst in order:
            while self.group.deliver_next(src, dst):
                pass
        for src, dst in sorted(self.group.backlog()):
            while self.group.deliver_next(src, dst):
                pass


@pytest.mark.parametrize("delete_is_newer", [True, False])
@pytest.mark.parametrize("delete_arrives_first", [True, False])
def test_a_delete_racing_a_put_from_another_region(delete_is_newer: bool, delete_arrives_first: bool) -> None:
    f = Fixture()
    f.write(EU, "a", image("a", 0, EU), at=10)
    f.drain([])
    put_at, delete_at = (20, 30) if delete_is_newer else (30, 20)
    f.write(US, "a", image("a", 1, US), at=put_at)   # US has not seen the delete
    f.write(AP, "a", None, at=delete_at)             # AP has not seen the put
    delete_first = [(AP, EU), (US, EU), (AP, US), (US, AP)]
    f.drain(delete_first if delete_arrives_first else delete_first[::-1])

    expected = {} if delete_is_newer else {"a": image("a", 1, US)}
    for region in REGIONS:
        assert f.tables.data[region] == expected, region


def test_a_put_older_than_a_delete_loses_to_it_where_the_item_is_already_gone() -> None:
    # EU never held "a" when the older put reaches it after the delete: the delete's stamp must
    # still be remembered there, or the put would resurrect the item in EU only.
    f = Fixture()
    f.write(US, "a", image("a", 0, US), at=10)
    f.group.deliver_next(US, AP)
    f.write(AP, "a", None, at=20)
    f.group.deliver_next(AP, EU)   # the delete of an item EU does not hold
    f.group.deliver_next(US, EU)   # then the older put
    f.drain([])
    for region in REGIONS:
        assert f.tables.data[region] == {}, region
    assert f.group.stats()["superseded"] >= 1


# ------------------------------------------------------------- membership changes (found above)
# Each of these failed before replication.py was mended; the state machine found them.

def test_a_new_replica_keeps_the_stamp_of_a_delete_its_source_made() -> None:
    f = Fixture()
    f.group.remove_replica(AP)
    f.write(EU, "a", image("a", 0, EU), at=5)
    f.write(US, "a", image("a", 1, US), at=10)   # still on its way to EU
    f.write(EU, "a", None, at=20)                # EU deletes; newer than the US put
    f.tables.data["eu-central-1"] = {}
    f.group.add_replica("eu-central-1", f.tables.seed(EU), source_region=EU)
    f.drain([])

    for region in (EU, US, "eu-central-1"):
        assert f.tables.data[region] == {}, region


def test_a_removed_replicas_accepted_writes_reach_a_replica_added_after_its_removal() -> None:
    f = Fixture()
    f.write(AP, "a", image("a", 0, AP), at=10)   # accepted in AP, not yet replicated
    f.group.remove_replica(AP)
    f.tables.data["eu-central-1"] = {}
    f.group.add_replica("eu-central-1", f.tables.seed(EU), source_region=EU)
    f.drain([])

    for region in (EU, US, "eu-central-1"):
        assert f.tables.data[region] == {"a": image("a", 0, AP)}, region
    assert not any(f.group.backlog().values())


def test_a_replica_removed_while_cut_off_delivers_its_accepted_writes_once_reachable() -> None:
    f = Fixture()
    f.group.cut(AP)
    f.write(AP, "a", image("a", 0, AP), at=10)
    f.group.remove_replica(AP)
    f.drain([])
    assert f.group.backlog() == {(AP, EU): 1, (AP, US): 1, (EU, US): 0, (US, EU): 0}

    f.group.restore(AP)
    f.drain([])
    for region in (EU, US):
        assert f.tables.data[region] == {"a": image("a", 0, AP)}, region
    with pytest.raises(InvalidTopology):
        f.group.cut(AP)  # it is gone: only its leftover writes could still be waiting for it
