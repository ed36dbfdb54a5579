"""Global-table replication, STRONG (MRSC): quorum, synchronous replication, catch-up."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localcloud.dynamodb import (
    STRONG,
    InvalidTopology,
    QuorumUnavailable,
    ReplicatedWriteConflict,
    ReplicationGroup,
)

from .test_replication import Stores, item, key

US_EAST_1, US_EAST_2, US_WEST_2 = "us-east-1", "us-east-2", "us-west-2"
THREE = [US_EAST_1, US_EAST_2, US_WEST_2]


@pytest.fixture
def stores() -> Stores:
    return Stores(THREE)


@pytest.fixture
def make_group(stores: Stores) -> Iterator[Callable[..., ReplicationGroup]]:
    groups: list[ReplicationGroup] = []

    def make(regions: list[str] = THREE, witness: str | None = None) -> ReplicationGroup:
        group = ReplicationGroup("items", regions, STRONG, witness, stores.apply,
                                 retry_initial_s=0.001, retry_max_s=0.01)
        groups.append(group)
        return group

    yield make
    for group in groups:
        group.close()


def strong_write(group: ReplicationGroup, stores: Stores, region: str, name: str,
                 image: dict[str, Any] | None) -> None:
    """What the lead's handler does: ask first, apply locally, then commit."""
    with group.begin_strong_write(region, key(name)) as write:
        stores.write(region, name, image)
        write.commit(image)


def test_a_committed_write_is_already_in_every_reachable_replica(make_group, stores) -> None:
    group = make_group()
    strong_write(group, stores, US_EAST_1, "a", item("a", 1, US_EAST_1))

    # No waiting: the commit applied it in the caller's thread.
    for region in THREE:
        assert stores.snapshot(region) == {"a": item("a", 1, US_EAST_1)}
    assert all(flag for *_, flag in stores.applied)
    assert group.backlog() == {pair: 0 for pair in group.backlog()}


def test_a_cut_region_cannot_write_while_the_majority_can(make_group, stores) -> None:
    group = make_group()
    group.cut(US_WEST_2)

    with pytest.raises(QuorumUnavailable, match="no quorum") as refused:
        group.begin_strong_write(US_WEST_2, key("a"))
    assert (refused.value.aws_error_code, refused.value.http_status) == ("InternalServerError", 500)
    assert not group.has_quorum(US_WEST_2) and not group.can_serve_strong_read(US_WEST_2)

    strong_write(group, stores, US_EAST_2, "a", item("a", 1, US_EAST_2))
    assert stores.snapshot(US_EAST_1) == {"a": item("a", 1, US_EAST_2)}
    assert stores.snapshot(US_WEST_2) == {}
    assert group.backlog()[(US_EAST_2, US_WEST_2)] == 1

    group.restore(US_WEST_2)
    assert group.wait_converged(5)
    assert stores.snapshot(US_WEST_2) == {"a": item("a", 1, US_EAST_2)}
    strong_write(group, stores, US_WEST_2, "b", item("b", 1, US_WEST_2))
    assert stores.snapshot(US_EAST_1)["b"] == item("b", 1, US_WEST_2)


def test_the_witness_counts_for_quorum_but_holds_no_data(make_group, stores) -> None:
    group = make_group(regions=[US_EAST_1, US_EAST_2], witness=US_WEST_2)
    assert group.members == [US_EAST_1, US_EAST_2, US_WEST_2]
    group.cut(US_EAST_2)

    # us-east-1 + the witness are 2 of 3.
    strong_write(group, stores, US_EAST_1, "a", item("a", 1, US_EAST_1))
    assert stores.snapshot(US_EAST_1) == {"a": item("a", 1, US_EAST_1)}
    assert stores.snapshot(US_WEST_2) == {}  # nothing is ever applied in the witness Region

    group.cut(US_WEST_2)
    with pytest.raises(QuorumUnavailable):
        group.begin_strong_write(US_EAST_1)
    with pytest.raises(QuorumUnavailable):
        group.begin_strong_write(US_WEST_2)  # the witness takes no writes at all

    group.restore(US_WEST_2)
    group.restore(US_EAST_2)
    assert group.wait_converged(5)
    assert stores.snapshot(US_EAST_2) == {"a": item("a", 1, US_EAST_1)}


def test_a_region_catching_up_refuses_writes_and_strong_reads(make_group, stores) -> None:
    group = make_group()
    group.cut(US_WEST_2)
    strong_write(group, stores, US_EAST_1, "a", item("a", 1, US_EAST_1))
    group.delay_ms(US_WEST_2, 60_000)  # keeps the backlog in place after the restore
    group.restore(US_WEST_2)

    assert group.has_quorum(US_WEST_2)
    assert not group.can_serve_strong_read(US_WEST_2)
    with pytest.raises(QuorumUnavailable, match="catching up"):
        group.begin_strong_write(US_WEST_2)
    group.delay_ms(US_WEST_2, 0)
    assert group.wait_converged(5)
    assert group.can_serve_strong_read(US_WEST_2)


def test_a_replica_catches_up_from_a_peer_when_the_writer_is_isolated(make_group, stores) -> None:
    group = make_group()
    group.cut(US_EAST_2)
    strong_write(group, stores, US_EAST_1, "a", item("a", 1, US_EAST_1))  # in us-west-2 too
    group.cut(US_EAST_1)
    group.restore(US_EAST_2)

    assert group.wait_converged(5)
    assert stores.snapshot(US_EAST_2) == {"a": item("a", 1, US_EAST_1)}
    strong_write(group, stores, US_EAST_2, "a", item("a", 2, US_EAST_2))
    assert stores.snapshot(US_WEST_2) == {"a": item("a", 2, US_EAST_2)}


def test_writing_an_item_being_written_in_another_region_conflicts(make_group, stores) -> None:
    group = make_group()
    first = group.begin_strong_write(US_EAST_1, key("a"))

    with pytest.raises(ReplicatedWriteConflict) as conflict:
        group.begin_strong_write(US_EAST_2, key("a"))
    assert conflict.value.aws_error_code == "ReplicatedWriteConflictException"
    group.begin_strong_write(US_EAST_2, key("b")).release()  # other items are free

    first.commit(item("a", 1, US_EAST_1))
    strong_write(group, stores, US_EAST_2, "a", item("a", 2, US_EAST_2))
    for region in THREE:
        assert stores.snapshot(region)["a"] == item("a", 2, US_EAST_2)


def test_a_refused_local_write_releases_the_item(make_group, stores) -> None:
    group = make_group()
    with pytest.raises(ValueError, match="condition failed"):
        with group.begin_strong_write(US_EAST_1, key("a")):
            raise ValueError("condition failed")  # e.g. ConditionalCheckFailedException
    strong_write(group, stores, US_EAST_2, "a", item("a", 1, US_EAST_2))
    assert stores.snapshot(US_EAST_1) == {"a": item("a", 1, US_EAST_2)}


def test_concurrent_strong_writes_in_three_regions_stay_identical(make_group, stores) -> None:
    group = make_group()
    conflicts = []

    def writer(region: str) -> None:
        for n in range(60):
            try:
                strong_write(group, stores, region, f"k{n % 3}", item(f"k{n % 3}", n, region))
            except ReplicatedWriteConflict:
                conflicts.append(region)

    threads = [threading.Thread(target=writer, args=(r,)) for r in THREE]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert group.wait_converged(5)
    assert stores.snapshot(US_EAST_1) == stores.snapshot(US_EAST_2) == stores.snapshot(US_WEST_2)
    assert len(stores.snapshot(US_EAST_1)) == 3


def test_mrsc_tables_take_no_eventual_writes_and_no_replica_changes(make_group) -> None:
    group = make_group()
    with pytest.raises(InvalidTopology):
        group.local_write(US_EAST_1, key("a"), None)
    with pytest.raises(InvalidTopology):
        group.add_replica("us-west-1", [])
    with pytest.raises(InvalidTopology):
        group.remove_replica(US_WEST_2)
