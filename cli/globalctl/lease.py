"""One change at a time: the deployment lease every globalctl that can change the deployment takes
first (rollout, rollback, failover drain and restore, destroy), wherever it runs.

The lease is one item in a DynamoDB table of its own in the home region, shared by every machine
that deploys (two CI pipelines, two operators). It is taken with a conditional PutItem that
succeeds only when no lease is there or the one there has expired, renewed by its holder with a
conditional UpdateItem on its token while the change runs, and deleted by its holder at the end
(again only with its token, so a holder whose lease expired and was taken over cannot delete the
new one). A crashed holder stops renewing: its lease expires on its own after LEASE_SECONDS.

Expiry is judged by the `expires_at` attribute in the condition, not by DynamoDB's TTL: TTL
deletes expired items "within a few days" (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html),
so it only tidies up. Conditional writes are strongly consistent on the item they write
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate),
which is what makes two takers race safely. The table is created by globalctl on the first take,
on demand, because it must exist before any stack does; it is not a global table (one home, no
replication race between two regions' writes).

Clocks: `expires_at` is the holder's clock; a taker compares with its own. Machines whose clocks
differ by more than a few seconds shorten or lengthen each other's leases by that much, which is
why the lease lasts far longer than the renewal interval.
"""

from __future__ import annotations

import getpass
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from globalctl import aws
from globalctl.exceptions import GlobalctlError
from globalctl.topology import Topology

LEASE_SECONDS = float(os.environ.get("GLOBALCTL_LEASE_SECONDS", "120"))
KEY = "deployment"


class LeaseHeld(GlobalctlError):
    """Another change holds the lease."""


class LeaseLost(GlobalctlError):
    """This change's lease expired or was broken while it ran."""


@dataclass(frozen=True)
class LeaseInfo:
    owner: str
    operation: str
    acquired_at: float
    expires_at: float
    token: str

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> LeaseInfo:
        return cls(item["owner"]["S"], item["operation"]["S"], float(item["acquired_at"]["N"]),
                   float(item["expires_at"]["N"]), item["token"]["S"])

    def describe(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.acquired_at))
        left = self.expires_at - now
        expiry = f"expires in {left:.0f} s" if left > 0 else f"expired {-left:.0f} s ago"
        return f"{self.operation} by {self.owner} since {since} ({expiry})"


def table_name(topology: Topology) -> str:
    base = topology.regions[0].stack_name if topology.regions else "globalctl"
    return f"{base}-globalctl-lease"


def home_region(topology: Topology) -> str:
    if topology.home_region:
        return topology.home_region
    if not topology.regions:
        raise GlobalctlError(f"{topology.config_path}: no region environment, so no home region for the lease")
    return topology.regions[0].region


def default_owner() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()} pid {os.getpid()}"


class Lease:
    """The deployment lease of one topology."""

    def __init__(self, topology: Topology, owner: str | None = None, seconds: float = LEASE_SECONDS):
        self.table = table_name(topology)
        self.region = home_region(topology)
        self.owner = owner or default_owner()
        self.seconds = seconds
        self._ddb = aws.client("dynamodb", self.region)

    # --- the table ----------------------------------------------------------------------------------

    def _ensure_table(self) -> None:
        errors = self._ddb.exceptions
        try:
            self._ddb.describe_table(TableName=self.table)
            return
        except errors.ResourceNotFoundException:
            pass
        try:
            self._ddb.create_table(TableName=self.table, BillingMode="PAY_PER_REQUEST",
                                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                   KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                   Tags=[{"Key": "managed-by", "Value": "globalctl"}])
        except errors.ResourceInUseException:
            pass  # another taker created it first
        self._ddb.get_waiter("table_exists").wait(TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        try:
            self._ddb.update_time_to_live(TableName=self.table, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": "expires_at"})
        except self._ddb.exceptions.ClientError:
            pass  # TTL only tidies; the lease's expiry is in its condition

    # --- the lease ----------------------------------------------------------------------------------

    def current(self) -> LeaseInfo | None:
        with aws.reachable():
            return self._current()

    def _current(self) -> LeaseInfo | None:
        try:
            item = self._ddb.get_item(TableName=self.table, Key={"pk": {"S": KEY}}, ConsistentRead=True).get("Item")
        except self._ddb.exceptions.ResourceNotFoundException:
            return None
        return LeaseInfo.from_item(item) if item else None

    def acquire(self, operation: str) -> LeaseInfo:
        """Take the lease for `operation`; LeaseHeld naming the holder when another change has it."""
        with aws.reachable():
            return self._acquire(operation)

    def _acquire(self, operation: str) -> LeaseInfo:
        self._ensure_table()
        now = time.time()
        info = LeaseInfo(self.owner, operation, now, now + self.seconds, uuid.uuid4().hex)
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item={"pk": {"S": KEY}, "owner": {"S": info.owner}, "operation": {"S": info.operation},
                      "acquired_at": {"N": repr(info.acquired_at)}, "expires_at": {"N": repr(info.expires_at)},
                      "token": {"S": info.token}},
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": repr(now)}})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            holder = self._current()
            held = holder.describe() if holder else "another change (it just ended: try again)"
            raise LeaseHeld(f"another change holds the deployment lease: {held}") from None
        return info

    def renew(self, info: LeaseInfo) -> LeaseInfo:
        expires = time.time() + self.seconds
        try:
            self._ddb.update_item(TableName=self.table, Key={"pk": {"S": KEY}},
                                  UpdateExpression="SET expires_at = :expires",
                                  ConditionExpression="#token = :token",
                                  ExpressionAttributeNames={"#token": "token"},
                                  ExpressionAttributeValues={":expires": {"N": repr(expires)},
                                                             ":token": {"S": info.token}})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            raise LeaseLost("the deployment lease was broken or taken over while this change ran") from None
        return LeaseInfo(info.owner, info.operation, info.acquired_at, expires, info.token)

    def release(self, info: LeaseInfo) -> None:
        try:
            self._ddb.delete_item(TableName=self.table, Key={"pk": {"S": KEY}}, ConditionExpression="#token = :token",
                                  ExpressionAttributeNames={"#token": "token"},
                                  ExpressionAttributeValues={":token": {"S": info.token}})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            pass  # not ours any more (broken, or expired and taken): nothing of ours to delete

    def break_(self) -> LeaseInfo | None:
        """Delete whatever lease is there (an operator's explicit act); the lease that was broken."""
        holder = self.current()
        if holder is not None:
            self._ddb.delete_item(TableName=self.table, Key={"pk": {"S": KEY}})
        return holder

    @contextmanager
    def held(self, operation: str, on_lost: Callable[[str], None] | None = None) -> Iterator[LeaseInfo]:
        """The lease for the duration of the block, renewed while it runs, released at its end."""
        info = self.acquire(operation)
        try:
            with self.renewing(info, on_lost) as current:
                yield current
        finally:
            self.release(info)

    @contextmanager
    def renewing(self, info: LeaseInfo, on_lost: Callable[[str], None] | None = None) -> Iterator[LeaseInfo]:
        """Renew `info` every third of its length while the block runs. `on_lost` hears once, from the
        renewal thread, when the lease is gone (broken, or expired and taken over)."""
        stop = threading.Event()
        holder = {"info": info}

        def renew() -> None:
            while not stop.wait(self.seconds / 3):
                try:
                    holder["info"] = self.renew(holder["info"])
                except LeaseLost as lost:
                    if on_lost:
                        on_lost(str(lost))
                    return
                except Exception as error:  # noqa: BLE001 - a failed renewal is retried at the next tick
                    if time.time() > holder["info"].expires_at:
                        if on_lost:
                            on_lost(f"the deployment lease could not be renewed before it expired: {error}")
                        return

        renewer = threading.Thread(target=renew, name="lease-renewal", daemon=True)
        renewer.start()
        try:
            yield info
        finally:
            stop.set()
            renewer.join(timeout=5)
