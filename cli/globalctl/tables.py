"""The global table as DynamoDB reports it in its home region (mode, replicas, witness, deletion
protection), and its removal: protection turned off replica by replica, then every replica
deleted, the home region's last.

DeleteTable in a replica's region deletes that replica of a multi-region eventually consistent
table (AWS refuses it for a region that sourced a new replica in the last 24 h: go-to-k/cdkd#1442);
an MRSC table's other replicas must go together in one UpdateTable (DynamoDB developer guide,
"Deleting MRSC global tables", delete-gt-mrsc.html), then its last table with DeleteTable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from globalctl import aws
from globalctl.exceptions import GlobalctlError

TABLE_TIMEOUT_SECONDS = 1800
POLL_SECONDS = 2.0


@dataclass
class TableState:
    """The deployed global table as DynamoDB reports it in its home region."""

    name: str
    home: str
    mode: str = "EVENTUAL"
    regions: list[str] = field(default_factory=list)  # every replica region, the home region last
    protected: list[str] = field(default_factory=list)  # replica regions with deletion protection on
    witness: str | None = None


def describe(region: str, name: str) -> dict | None:
    client = aws.client("dynamodb", region)
    try:
        return client.describe_table(TableName=name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        return None


def table_state(home: str, name: str) -> TableState | None:
    """The table and each replica's deletion protection; None when there is no table."""
    table = describe(home, name)
    if table is None:
        return None
    others = [r["RegionName"] for r in table.get("Replicas", []) if r["RegionName"] != home]
    witnesses = table.get("GlobalTableWitnesses", [])
    state = TableState(name, home, table.get("MultiRegionConsistency", "EVENTUAL"), [*others, home],
                       witness=witnesses[0]["RegionName"] if witnesses else None)
    for region in state.regions:
        replica = table if region == home else describe(region, name)
        if replica and replica.get("DeletionProtectionEnabled"):
            state.protected.append(region)
    return state


def unprotect(state: TableState, say: Callable[[str], None]) -> None:
    """Deletion protection off on every replica that still has it."""
    for region in state.regions:
        replica = describe(region, state.name)
        if replica and replica.get("DeletionProtectionEnabled"):
            aws.client("dynamodb", region).update_table(TableName=state.name, DeletionProtectionEnabled=False)
            say(f"  table      {state.name} ({region}): deletion protection off")


def delete(state: TableState) -> None:
    """Delete every replica of the global table, the home region's last."""
    from botocore.exceptions import ClientError

    try:
        if state.mode == "STRONG" and len(state.regions) > 1:
            updates: dict[str, Any] = {"ReplicaUpdates": [{"Delete": {"RegionName": r}} for r in state.regions[:-1]]}
            if state.witness:
                updates["GlobalTableWitnessUpdates"] = [{"Delete": {"RegionName": state.witness}}]
            aws.client("dynamodb", state.home).update_table(TableName=state.name, **updates)
            _wait_replicas_gone(state)
            regions = [state.home]
        else:
            regions = state.regions
        for region in regions:
            client = aws.client("dynamodb", region)
            try:
                client.delete_table(TableName=state.name)
            except client.exceptions.ResourceNotFoundException:
                continue
            _wait_table_gone(region, state.name)
    except ClientError as error:
        raise GlobalctlError(f"deleting table {state.name}: {error}") from None


def _wait_table_gone(region: str, name: str) -> None:
    deadline = time.monotonic() + TABLE_TIMEOUT_SECONDS
    while describe(region, name) is not None:
        if time.monotonic() > deadline:
            raise GlobalctlError(f"table {name} in {region} still exists after {TABLE_TIMEOUT_SECONDS} s")
        time.sleep(POLL_SECONDS)


def wait_replica_gone(home: str, name: str, region: str, timeout: float = TABLE_TIMEOUT_SECONDS) -> None:
    """Until the table in its home region no longer lists a replica in `region`."""
    deadline = time.monotonic() + timeout
    while region in {r["RegionName"] for r in (describe(home, name) or {}).get("Replicas", [])}:
        if time.monotonic() > deadline:
            raise GlobalctlError(f"the {region} replica of {name} is still there after {timeout:.0f} s")
        time.sleep(POLL_SECONDS)


def _wait_replicas_gone(state: TableState) -> None:
    deadline = time.monotonic() + TABLE_TIMEOUT_SECONDS
    while (describe(state.home, state.name) or {}).get("Replicas"):
        if time.monotonic() > deadline:
            raise GlobalctlError(f"table {state.name}: replicas still listed after {TABLE_TIMEOUT_SECONDS} s")
        time.sleep(POLL_SECONDS)


# DynamoDB developer guide: an MRSC table is created with exactly three regions (or two and a
# witness) in one region set, from an empty table ("Creating a global table configured for MRSC"),
# and is deleted by removing two replicas in one call; "you can't delete only one replica table
# from an MRSC global table" ("Deleting an MRSC global table",
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/delete-gt-mrsc.html).
MRSC_FIXED = ("the global table is STRONG (MRSC), whose replicas are fixed at creation: exactly three "
              "regions, or two and a witness, in one region set, with no replica added or removed one at a "
              "time (DynamoDB developer guide, \"Deleting an MRSC global table\"); to serve other regions, "
              "create a new MRSC table in the region set you want and move the data to it, or use "
              "ConsistencyMode=EVENTUAL")


def check_replicas_can_change(table_parameters: dict[str, str], what: str) -> None:
    """GlobalctlError when the table's consistency mode forbids changing its replicas."""
    if table_parameters.get("ConsistencyMode", "EVENTUAL").upper() == "STRONG":
        raise GlobalctlError(f"{what} is refused: {MRSC_FIXED}")
