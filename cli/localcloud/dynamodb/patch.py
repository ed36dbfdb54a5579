"""DynamoDB global tables (version 2019.11.21) on moto 5.2.5.

- AWS::DynamoDB::GlobalTable creates a replica table in every listed region, each with its own
  stream, and keeps the consistency mode (moto skips the type entirely);
- every write to a replica is handed to the replication engine (replication.py),
  which delivers it to the other replicas; replicated writes land in each replica's own stream;
- in STRONG mode (MRSC) a write (or a strongly consistent read) in a region that cannot reach a
  majority is refused before it is applied, and an accepted write is applied to the reachable replicas before the call returns;
- DeleteTable on a replica, or UpdateTable's ReplicaUpdates Delete, takes it out of its global table;
  UpdateTable's ReplicaUpdates Create (or a region added to the GlobalTable's Replicas) adds one,
  backfilled in the background: CREATING, then ACTIVE once every existing item is copied;
- each replica's PointInTimeRecoverySpecification (a per-replica setting in the GlobalTable schema)
  is applied to that replica, so DescribeContinuousBackups in its region answers as AWS would;
- one UpdateItem is one stream record (moto writes a key-only INSERT first for a new item);
- stream records carry the table's own region in awsRegion (moto writes "us-east-1"), and moto's
  own stream-to-Lambda delivery (which runs nothing without Docker and drops the records) is off:
  the local event source mapping pollers read the shard instead.
"""

from __future__ import annotations

import contextlib
import re
import threading
from typing import Any, Iterator

from moto.core.common_models import CloudFormationModel
from moto.dynamodb.exceptions import JsonRESTError
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import StreamRecord, StreamShard, Table

from ..cloudformation import EXTRA_MODELS
from ..hooks import hooks
from .replication import ReplicationError, ReplicationGroup, replicating, replicating_scope

_groups_lock = threading.Lock()
# (account, table name) -> the replication group of a global table
GROUPS: dict[tuple[str, str], Any] = {}
CUT_REGIONS: set[str] = set()
BACKFILL_TIMEOUT_SECONDS = 600
_REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
# The client call this thread serves: its UpdateItem's pending stream records ("coalesce") and
# its MRSC writes waiting for their stream record ("strong").
_this_call = threading.local()


def group_for(account_id: str, table_name: str) -> Any | None:
    with _groups_lock:
        return GROUPS.get((account_id, table_name))


def apply_replicated(account_id: str, table_name: str, region: str, key: dict[str, Any],
                     image: dict[str, Any] | None) -> None:
    """Write a change that arrived from another replica, without replicating it again."""
    table = dynamodb_backends[account_id][region].get_table(table_name)
    with replicating_scope():
        if image is None:
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            table.delete_item(hash_key, range_key)
        else:
            table.put_item(image)


# --- the stream shard: own region, own delivery, and the replication tap ------------------------

def _stream_add(self: StreamShard, old: Any, new: Any) -> None:
    pending = getattr(_this_call, "coalesce", None)
    if pending is not None:  # inside one UpdateItem: only its net change is a stream record
        pending.append((self, old, new))
        return
    _record(self, old, new)


def _one_record_per_update_item() -> None:
    """moto's UpdateItem of a new item first puts the bare key, then updates it: two stream records
    (the first a key-only INSERT) where DynamoDB writes one."""
    original = DynamoDBBackend.update_item

    def update_item(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        outer = getattr(_this_call, "coalesce", None)
        _this_call.coalesce = []
        try:
            result = original(self, *args, **kwargs)
            changes, _this_call.coalesce = _this_call.coalesce, outer
        finally:
            _this_call.coalesce = outer
        if changes:
            shard, first_old, _ = changes[0]
            _stream_add(shard, first_old, changes[-1][2])
        return result

    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]


def _record(self: StreamShard, old: Any, new: Any) -> None:
    lock = self.__dict__.setdefault("_localcloud_lock", threading.Lock())
    view = self.table.stream_specification["StreamViewType"]  # type: ignore[index]
    event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    with lock:
        seq = len(self.items) + self.starting_sequence_number
        record = StreamRecord(self.table, view, event_name, old, new, seq)
        record.record["awsRegion"] = self.table.region_name
        record.record["eventVersion"] = "1.1"
        self.items.append(record)
    hooks.stream_record_added(self.account_id, self.table.region_name, self.table.name)
    if replicating():
        return
    group = group_for(self.account_id, self.table.name)
    if group is None:
        return
    rec = new if new is not None else old
    key = {self.table.hash_key_attr: rec.hash_key.to_json()}
    if self.table.range_key_attr:
        key[self.table.range_key_attr] = rec.range_key.to_json()
    image = new.to_json()["Attributes"] if new is not None else None
    pending = _strong_writes().pop(id(group), None)
    if pending is not None:
        pending.commit(image, key)
    elif group.mode == "EVENTUAL":
        group.local_write(self.table.region_name, key, image)


# --- client writes: serialised with replication; MRSC refuses before applying --------------------

def _strong_writes() -> dict[int, Any]:
    if not hasattr(_this_call, "strong"):
        _this_call.strong = {}
    return _this_call.strong


def _guarded(method_name: str) -> None:
    original = getattr(DynamoDBBackend, method_name)

    def guarded(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        if replicating():
            return original(self, *args, **kwargs)
        writes = [(name, key, group) for name, key in _writes(self, method_name, args, kwargs)
                  if (group := group_for(self.account_id, name)) is not None]
        if not writes:
            return original(self, *args, **kwargs)
        with contextlib.ExitStack() as stack:
            for name, key, group in writes:
                if group.mode != "STRONG":
                    # A replicated change must not land between this write and its stamp.
                    stack.enter_context(group.write_lock())
                    continue
                if method_name == "transact_write_items":
                    raise JsonRESTError("ValidationException",
                                        "Transactions are not supported on tables with multi-Region strong consistency")
                try:
                    write = stack.enter_context(group.begin_strong_write(self.region_name, key))
                except ReplicationError as refused:
                    raise JsonRESTError(refused.aws_error_code, str(refused)) from None
                _strong_writes()[id(group)] = write
                stack.callback(_strong_writes().pop, id(group), None)
            return original(self, *args, **kwargs)

    setattr(DynamoDBBackend, method_name, guarded)


def _writes(backend: DynamoDBBackend, method_name: str, args: tuple, kwargs: dict) -> Iterator[tuple[str, dict]]:
    """(table name, item key) of each item a write call touches."""
    if method_name == "transact_write_items":
        items = kwargs.get("transact_items") or (args[0] if args else [])
        for item in items:
            for operation in item.values():
                if isinstance(operation, dict) and "TableName" in operation:
                    yield operation["TableName"], operation.get("Key") or operation.get("Item") or {}
        return
    name = kwargs.get("table_name") or (args[0] if args else None)
    if not name:
        return
    if method_name == "put_item":
        attrs = kwargs.get("item_attrs") or (args[1] if len(args) > 1 else {})
        try:
            table = backend.get_table(name)
        except Exception:  # noqa: BLE001 - moto reports the missing table itself
            return
        key_names = [k for k in (table.hash_key_attr, table.range_key_attr) if k]
        yield name, {k: attrs[k] for k in key_names if k in attrs}
    else:
        yield name, kwargs.get("key") or (args[1] if len(args) > 1 else {})


# --- AWS::DynamoDB::GlobalTable -------------------------------------------------------------------

class GlobalTable(CloudFormationModel):
    # "Update requires: Replacement" in the AWS::DynamoDB::GlobalTable reference: a change set
    # reports these as a replacement, the data-losing change `globalctl plan` refuses.
    REPLACED_BY = ("TableName", "KeySchema", "LocalSecondaryIndexes")
    def __init__(self, account_id: str, region: str, name: str, replicas: list[str], mode: str,
                 witness: str | None, protection: dict[str, bool]):
        self.account_id = account_id
        self.region = region
        self.name = name
        self.replicas = replicas
        self.mode = mode
        self.witness = witness
        self.protection = protection

    @staticmethod
    def cloudformation_name_type() -> str:
        return "TableName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::DynamoDB::GlobalTable"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "StreamArn", "TableId")

    def _home_table(self) -> Table:
        return dynamodb_backends[self.account_id][self.region].get_table(self.name)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        table = self._home_table()
        if attribute_name == "Arn":
            return table.table_arn
        if attribute_name == "StreamArn":
            return table.describe()["TableDescription"].get("LatestStreamArn")
        if attribute_name == "TableId":
            return table.table_id
        raise JsonRESTError("ValidationError", f"GlobalTable has no attribute {attribute_name}")

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> GlobalTable:
        properties = cloudformation_json["Properties"]
        spec = _spec(properties, region_name)
        if region_name not in spec["replicas"]:
            raise JsonRESTError("ValidationError", "the stack's own region must hold a replica of the global table")
        for region in spec["replicas"]:
            _create_replica(account_id, region, resource_name, properties, spec["protection"][region])
            _apply_point_in_time_recovery(account_id, region, resource_name, spec["pitr"][region])
        table = cls(account_id, region_name, resource_name, spec["replicas"], spec["mode"], spec["witness"],
                    spec["protection"])
        _register(table)
        return table

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: GlobalTable, new_resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> GlobalTable:
        properties = cloudformation_json["Properties"]
        spec = _spec(properties, region_name)
        if spec["mode"] != original_resource.mode:
            raise JsonRESTError("ValidationError", "MultiRegionConsistency cannot change after creation")
        added = [r for r in spec["replicas"] if r not in original_resource.replicas]
        removed = [r for r in original_resource.replicas if r not in spec["replicas"]]
        for region in removed:
            if original_resource.protection.get(region):
                raise JsonRESTError("ValidationError", f"replica {region} has deletion protection enabled")
        group = group_for(account_id, original_resource.name)
        source = original_resource._home_table()
        for region in added:
            _create_replica(account_id, region, original_resource.name, properties, spec["protection"][region])
            # The new replica is backfilled from an existing one while both keep taking writes,
            # as AWS does; the group applies the seed and copies changes still in flight.
            group.add_replica(region, _seed(source), source_region=original_resource.region)
        for region in added:  # CloudFormation completes the update once every new replica is ACTIVE
            if not group.wait_active(region, timeout=BACKFILL_TIMEOUT_SECONDS):
                raise JsonRESTError("ValidationError", f"the replica in {region} did not become ACTIVE "
                                                       f"within {BACKFILL_TIMEOUT_SECONDS} s")
        for region in removed:
            group.remove_replica(region)
            dynamodb_backends[account_id][region].delete_table(original_resource.name)
        for region in spec["replicas"]:
            table = dynamodb_backends[account_id][region].get_table(original_resource.name)
            table.deletion_protection_enabled = spec["protection"][region]
            _apply_point_in_time_recovery(account_id, region, original_resource.name, spec["pitr"][region])
        original_resource.replicas = spec["replicas"]
        original_resource.protection = spec["protection"]
        return original_resource

    def delete(self, account_id: str, region: str) -> None:
        protected = [r for r in self.replicas if self.protection.get(r)]
        if protected:
            raise JsonRESTError("ValidationError",
                                f"Resource cannot be deleted as it is currently protected against deletion "
                                f"(replicas {', '.join(protected)}); disable deletion protection first")
        _unregister(self)
        for replica in self.replicas:
            backend = dynamodb_backends[self.account_id][replica]
            if self.name in backend.tables:
                backend.delete_table(self.name)


def _seed(table: Table) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """The table's items, read only when iterated (under the group's write lock)."""
    for item in list(table.all_items()):
        key = {table.hash_key_attr: item.hash_key.to_json()}
        if table.range_key_attr:
            key[table.range_key_attr] = item.range_key.to_json()
        yield key, item.to_json()["Attributes"]


def _spec(properties: dict[str, Any], region_name: str) -> dict[str, Any]:
    replicas = [r["Region"] for r in properties.get("Replicas", [])]
    if len(set(replicas)) != len(replicas):
        raise JsonRESTError("ValidationError", "each region may hold only one replica")
    mode = properties.get("MultiRegionConsistency", "EVENTUAL")
    witnesses = [w["Region"] for w in properties.get("GlobalTableWitnesses", [])]
    if mode == "STRONG" and len(replicas) + len(witnesses) != 3:
        raise JsonRESTError("ValidationError",
                            "MultiRegionConsistency STRONG needs exactly 3 replicas, or 2 replicas and a witness")
    specs = properties.get("Replicas", [])
    protection = {r["Region"]: _true(r.get("DeletionProtectionEnabled", False)) for r in specs}
    pitr = {r["Region"]: r.get("PointInTimeRecoverySpecification") or {} for r in specs}
    return {"replicas": replicas, "mode": mode, "witness": witnesses[0] if witnesses else None,
            "protection": protection, "pitr": pitr}


def _true(value: Any) -> bool:
    # Parameters reach the resource as strings ("true"), literals as booleans.
    return str(value).lower() == "true"


def _apply_point_in_time_recovery(account_id: str, region: str, name: str, spec: dict[str, Any]) -> None:
    """The replica's own PITR setting (a replica without the key has PITR off, as on AWS)."""
    wanted: dict[str, Any] = {"PointInTimeRecoveryEnabled": _true(spec.get("PointInTimeRecoveryEnabled", False))}
    if wanted["PointInTimeRecoveryEnabled"] and "RecoveryPeriodInDays" in spec:
        wanted["RecoveryPeriodInDays"] = int(spec["RecoveryPeriodInDays"])
    dynamodb_backends[account_id][region].update_continuous_backups(name, wanted)


def _create_replica(account_id: str, region: str, name: str, properties: dict[str, Any], protected: bool) -> Table:
    backend = dynamodb_backends[account_id][region]
    table = backend.create_table(
        name,
        schema=properties["KeySchema"],
        throughput=properties.get("WriteProvisionedThroughputSettings"),
        attr=properties["AttributeDefinitions"],
        global_indexes=properties.get("GlobalSecondaryIndexes"),
        indexes=properties.get("LocalSecondaryIndexes"),
        streams=dict(properties["StreamSpecification"]) if properties.get("StreamSpecification") else None,
        billing_mode=properties.get("BillingMode", "PAY_PER_REQUEST"),
        sse_specification=properties.get("SSESpecification"),
        tags=[],
        deletion_protection_enabled=protected,
        warm_throughput=None,
    )
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and "AttributeName" in ttl:
        backend.update_time_to_live(name, {"Enabled": bool(ttl.get("Enabled")), "AttributeName": ttl["AttributeName"]})
    return table


def _register(table: GlobalTable) -> None:
    _register_group(table.account_id, table.name, table.replicas, table.mode, table.witness)


def _register_group(account_id: str, name: str, replicas: list[str], mode: str, witness: str | None) -> Any:
    """The replication group of a global table (replacing one of the same name)."""
    key = (account_id, name)
    with _groups_lock:
        old = GROUPS.pop(key, None)
    if old is not None:
        old.close()

    def apply(region: str, item_key: dict[str, Any], image: dict[str, Any] | None) -> None:
        apply_replicated(account_id, name, region, item_key, image)

    def replicated(source: str, receiving: str, latency_ms: float) -> None:
        # ReplicationLatency, in the source region, per receiving region ("DynamoDB metrics and
        # dimensions", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html)
        hooks.publish_metric(account_id, source, "AWS/DynamoDB", "ReplicationLatency",
                             {"TableName": name, "ReceivingRegion": receiving}, latency_ms, "Milliseconds")

    group = ReplicationGroup(name, list(replicas), mode, witness, apply, on_replicated=replicated)
    with _groups_lock:
        GROUPS[key] = group
        cut = set(CUT_REGIONS)
    for region in cut & set(replicas):
        group.cut(region)
    return group


def set_cut(region: str, cut: bool) -> None:
    """Cut (or restore) every replication link of a region, now and for tables made later."""
    with _groups_lock:
        (CUT_REGIONS.add if cut else CUT_REGIONS.discard)(region)
        groups = list(GROUPS.values())
    for group in groups:
        # A replica removed while cut off still holds writes the others never got: heal restores it.
        if region in group.replicas or (not cut and group.is_cut(region)):
            (group.cut if cut else group.restore)(region)


def _unregister(table: GlobalTable) -> None:
    with _groups_lock:
        group = GROUPS.pop((table.account_id, table.name), None)
    if group is not None:
        group.close()


def _leaving_the_group_on_delete() -> None:
    """DeleteTable on a replica removes that replica from its global table (the others stop
    replicating to it); the last one, or any of an MRSC table, ends the group."""
    original = DynamoDBBackend.delete_table

    def delete_table(self: DynamoDBBackend, name: str) -> Table:
        table = original(self, name)
        group = group_for(self.account_id, name)
        if group is not None and self.region_name in group.replicas:
            if group.mode == "EVENTUAL" and len(group.replicas) > 1:
                group.remove_replica(self.region_name)
            else:
                with _groups_lock:
                    GROUPS.pop((self.account_id, name), None)
                group.close()
        return table

    DynamoDBBackend.delete_table = delete_table  # type: ignore[method-assign]


def _replica_updates() -> None:
    """UpdateTable's ReplicaUpdates / GlobalTableWitnessUpdates, which moto ignores: a Delete removes
    that region's replica (and takes it out of the global table). Removing the replicas of an MRSC
    table, as AWS requires before deleting it, ends its group: the last table stands alone."""
    from moto.dynamodb.exceptions import ResourceNotFoundException
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.update_table

    def update_table(self: Any) -> Any:
        name = self.body["TableName"]
        for update in self.body.get("ReplicaUpdates") or []:
            if "Create" in update:
                _create_replica_by_api(self.current_account, self.region, name, update["Create"])
                continue
            region = (update.get("Delete") or {}).get("RegionName")
            if region is None:
                continue
            backend = dynamodb_backends[self.current_account][region]
            if name not in backend.tables:
                raise ResourceNotFoundException(f"No replica of {name} in {region}")
            backend.delete_table(name)
        group = group_for(self.current_account, name)
        for update in self.body.get("GlobalTableWitnessUpdates") or []:
            if "Delete" in update and group is not None and group.mode == "STRONG":
                with _groups_lock:
                    GROUPS.pop((self.current_account, name), None)
                group.close()
        return original(self)

    DynamoHandler.update_table = update_table  # type: ignore[method-assign]


def _create_replica_by_api(account_id: str, region: str, name: str, create: dict[str, Any]) -> None:
    """UpdateTable's ReplicaUpdates Create (global tables version 2019.11.21): the table, global or
    not yet, gains a replica in the named region, with its schema, indexes, stream, billing and
    encryption, backfilled in the background (ReplicaStatus CREATING, then ACTIVE) while every
    replica keeps taking writes. As on AWS, an MRSC table takes no replica one at a time."""
    from moto.dynamodb.exceptions import ResourceNotFoundException

    target = create.get("RegionName") or ""
    if not _REGION_NAME.fullmatch(target):
        raise JsonRESTError("ValidationException", f"Invalid region name: {target!r}")
    source = dynamodb_backends[account_id][region]
    if name not in source.tables:
        raise ResourceNotFoundException(f"Requested resource not found: Table: {name} not found")
    table = source.get_table(name)
    group = group_for(account_id, name)
    if group is not None and group.mode == "STRONG":
        raise JsonRESTError("ValidationException", "Replicas cannot be added to a global table with multi-Region "
                                                   "strong consistency; create a new MRSC table with its replicas instead")
    if target == region or (group is not None and target in group.replicas):
        raise JsonRESTError("ValidationException", f"Table {name} already has a replica in {target}")
    if name in dynamodb_backends[account_id][target].tables:
        raise JsonRESTError("ValidationException", f"Failed to create a replica of table {name} in {target}: "
                                                   f"a table of that name already exists there")
    if not (table.stream_specification or {}).get("StreamEnabled"):
        # Replication reads the table's changes: version 2019.11.21 turns the stream on itself.
        source.update_table_streams(table, {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    replica = dynamodb_backends[account_id][target].create_table(
        name, schema=table.schema, throughput=None, attr=table.attr,
        global_indexes=[_index_spec(index) for index in table.global_indexes] or None,
        indexes=[_index_spec(index) for index in table.indexes] or None,
        streams={k: v for k, v in (table.stream_specification or {}).items() if k in ("StreamEnabled", "StreamViewType")},
        billing_mode=table.billing_mode or "PAY_PER_REQUEST",
        sse_specification=dict(table.sse_specification) if table.sse_specification else None,
        tags=[], deletion_protection_enabled=False, warm_throughput=None)
    if table.ttl.get("AttributeName"):
        dynamodb_backends[account_id][target].update_time_to_live(
            name, {"Enabled": table.ttl.get("TimeToLiveStatus") == "ENABLED", "AttributeName": table.ttl["AttributeName"]})
    del replica
    if group is None:
        group = _register_group(account_id, name, [region], "EVENTUAL", None)
    group.add_replica(target, _seed(table), source_region=region)


def _index_spec(index: Any) -> dict[str, Any]:
    described = index.describe()
    return {k: described[k] for k in ("IndexName", "KeySchema", "Projection") if k in described}


def _strong_reads_need_quorum() -> None:
    """MRSC: a strongly consistent read (ConsistentRead=true) needs the region's quorum and a
    caught-up replica, as a write does; an isolated region serves eventually consistent reads only.
    moto does not pass ConsistentRead to its backend, so the check sits on the request."""
    from moto.dynamodb.responses import DynamoHandler

    def guarded(original: Any) -> Any:
        def read(self: Any) -> Any:
            if self.body.get("ConsistentRead"):
                group = group_for(self.current_account, self.body.get("TableName", ""))
                if group is not None and group.mode == "STRONG" and not group.can_serve_strong_read(self.region):
                    raise JsonRESTError("InternalServerError", "this region cannot reach a majority of the "
                                                               "global table's regions for a strongly consistent read")
            return original(self)

        return read

    for name in ("get_item", "query", "scan"):
        setattr(DynamoHandler, name, guarded(getattr(DynamoHandler, name)))


def _describe_with_replicas(original: Any) -> Any:
    def describe(self: Table, base_key: str = "TableDescription") -> dict[str, Any]:
        result = original(self, base_key)
        group = group_for(self.account_id, self.name)
        if group is not None and self.region_name in group.replicas:
            body = result[base_key]
            body["GlobalTableVersion"] = "2019.11.21"
            body["Replicas"] = [{"RegionName": r, "ReplicaStatus": _status(group, r)} for r in group.replicas
                                if r != self.region_name]
            body["MultiRegionConsistency"] = group.mode
            if group.witness:
                body["GlobalTableWitnesses"] = [{"RegionName": group.witness, "WitnessStatus": "ACTIVE"}]
        return result

    return describe


def _status(group: Any, region: str) -> str:
    try:
        return group.replica_status(region)
    except Exception:  # noqa: BLE001 - left the table between the two reads
        return "DELETING"


def install() -> None:
    StreamShard.add = _stream_add  # type: ignore[method-assign]
    _leaving_the_group_on_delete()
    _replica_updates()
    _strong_reads_need_quorum()
    _one_record_per_update_item()
    Table.describe = _describe_with_replicas(Table.describe)  # type: ignore[method-assign]
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        _guarded(name)
    EXTRA_MODELS[GlobalTable.cloudformation_type()] = GlobalTable
