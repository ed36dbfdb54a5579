"""localcloud.dynamodb.patch: AWS::DynamoDB::GlobalTable (version 2019.11.21) with real replication.

Plain moto 5.2.5 skips the GlobalTable type (no table in any region), never replicates, and writes
awsRegion "us-east-1" into every stream record (../shared/design.md, "measured gaps").
AWS behaviour checked: DynamoDB Developer Guide, "Global tables - multi-Region replication"
(last writer wins, replicated writes appear in each replica's stream with that replica's awsRegion)
and "Multi-Region strong consistency" (MRSC: exactly three Regions; a replica that cannot reach a
majority refuses writes; DeletionProtectionEnabled on a replica blocks deleting the table).
"""

from __future__ import annotations

import io
import zipfile
from typing import Any, Callable, Iterator

import pytest
from botocore.exceptions import ClientError

from localcloud.dynamodb import patch as ext
from localcloud.invocation import InvokeOutcome

from .conftest import ACCOUNT, unique, wait_for

EVENTUAL_REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-1"]
STRONG_REGIONS = ["us-east-1", "us-east-2", "us-west-2"]
WAIT = 10.0  # an upper bound: every poll returns as soon as the condition holds


def global_table_template(table: str, regions: list[str], mode: str = "EVENTUAL",
                          protected: tuple[str, ...] = ()) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "TableName": table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "Replicas": [{"Region": r, "DeletionProtectionEnabled": r in protected} for r in regions],
    }
    if mode == "STRONG":
        properties["MultiRegionConsistency"] = "STRONG"
    # AWS requires a stream on a multi-replica MREC table and allows one on MRSC; global/table.yaml
    # declares it in both modes (the local replication is fed from the stream).
    properties["StreamSpecification"] = {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    return {"Resources": {"Table": {"Type": "AWS::DynamoDB::GlobalTable", "Properties": properties}},
            "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Table", "Arn"]}},
                        "StreamArn": {"Value": {"Fn::GetAtt": ["Table", "StreamArn"]}}}}


@pytest.fixture
def global_table(stacks) -> Iterator[Callable[..., str]]:
    """global_table(regions, mode) -> the name of a new global table, deployed from regions[0]."""
    made: list[tuple[str, str]] = []

    def deploy(regions: list[str], mode: str = "EVENTUAL") -> str:
        stack, table = unique("gt"), unique("items")
        created = stacks(regions[0]).create(stack, global_table_template(table, regions, mode))
        assert created["StackStatus"] == "CREATE_COMPLETE"
        made.append((regions[0], stack))
        return table

    yield deploy
    for region, stack in made:  # deleting the stack also stops the table's replication threads
        stacks(region).delete(stack)


def item(aws: Any, region: str, table: str, pk: str, consistent: bool = True) -> dict[str, Any] | None:
    return aws("dynamodb", region).get_item(TableName=table, Key={"pk": {"S": pk}},
                                            ConsistentRead=consistent).get("Item")


def stream_records(aws: Any, region: str, table: str) -> list[dict[str, Any]]:
    stream_arn = aws("dynamodb", region).describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = aws("dynamodbstreams", region)
    records = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records += streams.get_records(ShardIterator=iterator)["Records"]
    return records


def test_global_table_has_a_replica_with_its_stream_in_every_region(aws, global_table):
    table = global_table(EVENTUAL_REGIONS)
    for region in EVENTUAL_REGIONS:
        described = aws("dynamodb", region).describe_table(TableName=table)["Table"]
        assert described["TableArn"].startswith(f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/")
        assert described["GlobalTableVersion"] == "2019.11.21"
        assert described["MultiRegionConsistency"] == "EVENTUAL"
        assert sorted(r["RegionName"] for r in described["Replicas"]) == sorted(
            r for r in EVENTUAL_REGIONS if r != region)
        assert described["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert f":{region}:" in described["LatestStreamArn"]


def test_a_write_replicates_and_lands_in_each_replica_stream_with_its_region(aws, global_table):
    table = global_table(EVENTUAL_REGIONS)
    aws("dynamodb", "eu-west-1").put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"S": "from-eu"}})

    for region in ("us-east-1", "ap-southeast-1"):
        replicated = wait_for(lambda region=region: item(aws, region, table, "a"), WAIT)
        assert replicated["v"] == {"S": "from-eu"}

    for region in EVENTUAL_REGIONS:
        records = wait_for(lambda region=region: stream_records(aws, region, table), WAIT)
        assert [(r["eventName"], r["awsRegion"]) for r in records] == [("INSERT", region)]
        assert records[0]["dynamodb"]["Keys"] == {"pk": {"S": "a"}}
        assert records[0]["dynamodb"]["NewImage"]["v"] == {"S": "from-eu"}


def test_conflicting_writes_converge_to_one_value(aws, global_table):
    table = global_table(EVENTUAL_REGIONS)
    for region in EVENTUAL_REGIONS:  # the same item written in every region at (nearly) once
        aws("dynamodb", region).put_item(TableName=table, Item={"pk": {"S": "c"}, "v": {"S": region}})
    assert ext.group_for(ACCOUNT, table).wait_converged(WAIT)

    seen = {region: item(aws, region, table, "c") for region in EVENTUAL_REGIONS}
    values = {region: found["v"]["S"] for region, found in seen.items() if found}
    assert len(values) == len(EVENTUAL_REGIONS), seen
    assert len(set(values.values())) == 1, values
    assert set(values.values()) <= set(EVENTUAL_REGIONS)


def test_strong_table_refuses_writes_in_a_region_without_quorum(aws, global_table):
    table = global_table(STRONG_REGIONS, "STRONG")
    described = aws("dynamodb", "us-east-2").describe_table(TableName=table)["Table"]
    assert described["MultiRegionConsistency"] == "STRONG"

    ext.set_cut("us-east-1", True)
    try:
        with pytest.raises(ClientError) as refused:
            aws("dynamodb", "us-east-1").put_item(TableName=table, Item={"pk": {"S": "cut"}, "v": {"S": "1"}})
        assert refused.value.response["Error"]["Code"] == "InternalServerError"
        for region in STRONG_REGIONS:  # eventually consistent: all an isolated MRSC region serves
            assert item(aws, region, table, "cut", consistent=False) is None

        # The other two regions still form a majority: a write there is applied before it returns.
        aws("dynamodb", "us-east-2").put_item(TableName=table, Item={"pk": {"S": "ok"}, "v": {"S": "2"}})
        assert item(aws, "us-east-2", table, "ok")["v"] == {"S": "2"}
        assert item(aws, "us-west-2", table, "ok")["v"] == {"S": "2"}
        assert item(aws, "us-east-1", table, "ok", consistent=False) is None  # cut off: it hears nothing
        # A strongly consistent read needs the quorum too; an eventually consistent one is served.
        with pytest.raises(ClientError) as strong_read:
            aws("dynamodb", "us-east-1").get_item(TableName=table, Key={"pk": {"S": "ok"}}, ConsistentRead=True)
        assert strong_read.value.response["Error"]["Code"] == "InternalServerError"
        assert aws("dynamodb", "us-east-2").get_item(TableName=table, Key={"pk": {"S": "ok"}},
                                                    ConsistentRead=True)["Item"]["v"] == {"S": "2"}
    finally:
        ext.set_cut("us-east-1", False)
    assert ext.group_for(ACCOUNT, table).wait_converged(WAIT)
    assert wait_for(lambda: item(aws, "us-east-1", table, "ok", consistent=False), WAIT)["v"] == {"S": "2"}
    assert item(aws, "us-east-1", table, "ok")["v"] == {"S": "2"}  # caught up: strong reads again


def test_deletion_protection_on_a_replica_makes_stack_deletion_fail(aws, stacks):
    stack, table = unique("gtprot"), unique("protected")
    regions = EVENTUAL_REGIONS
    stacks("eu-west-1").create(stack, global_table_template(table, regions, protected=("us-east-1",)))

    assert stacks("eu-west-1").delete(stack) == "DELETE_FAILED"
    for region in regions:
        assert aws("dynamodb", region).describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE"
    assert aws("dynamodb", "us-east-1").describe_table(TableName=table)["Table"]["DeletionProtectionEnabled"]

    # Lifting the protection through the stack lets the deletion through, in every region.
    updated = stacks("eu-west-1").update(stack, global_table_template(table, regions))
    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    assert stacks("eu-west-1").delete(stack) == "DELETE_COMPLETE"
    for region in regions:
        assert table not in aws("dynamodb", region).list_tables()["TableNames"]
    assert ext.group_for(ACCOUNT, table) is None


def test_stream_records_stay_for_the_local_pollers_and_carry_the_table_region(aws, monkeypatch):
    """moto's own delivery to a mapped function runs nothing and drops the records it touched."""
    region, table = "ap-southeast-1", unique("mapped")
    added: list[tuple[str, str, str]] = []
    invoked: list[str] = []
    monkeypatch.setattr(ext.hooks, "stream_record_added", lambda *args: added.append(args))
    monkeypatch.setattr(ext.hooks, "invoke", lambda arn, event: invoked.append(arn) or InvokeOutcome())
    stream_arn = aws("dynamodb", region).create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    role = aws("iam", region).create_role(RoleName=unique("role"), AssumeRolePolicyDocument="{}")["Role"]
    function = unique("consumer")
    aws("lambda", region).create_function(FunctionName=function, Runtime="python3.13", Role=role["Arn"],
                                          Handler="index.handler", Code={"ZipFile": _empty_zip()})
    aws("lambda", region).create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=function,
                                                      StartingPosition="TRIM_HORIZON")

    aws("dynamodb", region).put_item(TableName=table, Item={"pk": {"S": "k"}, "v": {"N": "1"}})
    aws("dynamodb", region).put_item(TableName=table, Item={"pk": {"S": "k"}, "v": {"N": "2"}})

    assert invoked == []  # nothing ran inside moto; the local pollers deliver instead
    assert added == [(ACCOUNT, region, table)] * 2
    records = stream_records(aws, region, table)
    assert [(r["eventName"], r["awsRegion"]) for r in records] == [("INSERT", region), ("MODIFY", region)]
    assert records[1]["dynamodb"]["OldImage"]["v"] == {"N": "1"}
    assert records[1]["dynamodb"]["NewImage"]["v"] == {"N": "2"}


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def test_a_replica_added_by_a_stack_update_is_backfilled_and_a_removed_one_goes(aws, stacks):
    stack, table = unique("gtgrow"), unique("growing")
    two, three = ["eu-west-1", "us-east-1"], ["eu-west-1", "us-east-1", "ap-southeast-1"]
    stacks("eu-west-1").create(stack, global_table_template(table, two))
    try:
        for n in range(5):
            aws("dynamodb", "eu-west-1").put_item(TableName=table, Item={"pk": {"S": f"old-{n}"}})

        assert stacks("eu-west-1").update(stack, global_table_template(table, three))["StackStatus"] \
            == "UPDATE_COMPLETE"
        assert ext.group_for(ACCOUNT, table).wait_converged(WAIT)
        scanned = aws("dynamodb", "ap-southeast-1").scan(TableName=table, ConsistentRead=True)["Items"]
        assert sorted(i["pk"]["S"] for i in scanned) == [f"old-{n}" for n in range(5)]
        aws("dynamodb", "us-east-1").put_item(TableName=table, Item={"pk": {"S": "new"}})
        assert wait_for(lambda: item(aws, "ap-southeast-1", table, "new"), WAIT)
        described = aws("dynamodb", "eu-west-1").describe_table(TableName=table)["Table"]
        assert sorted(r["RegionName"] for r in described["Replicas"]) == ["ap-southeast-1", "us-east-1"]

        without_us = ["eu-west-1", "ap-southeast-1"]
        assert stacks("eu-west-1").update(stack, global_table_template(table, without_us))["StackStatus"] \
            == "UPDATE_COMPLETE"
        assert table not in aws("dynamodb", "us-east-1").list_tables()["TableNames"]
        described = aws("dynamodb", "eu-west-1").describe_table(TableName=table)["Table"]
        assert [r["RegionName"] for r in described["Replicas"]] == ["ap-southeast-1"]
        aws("dynamodb", "ap-southeast-1").put_item(TableName=table, Item={"pk": {"S": "after"}})
        assert wait_for(lambda: item(aws, "eu-west-1", table, "after"), WAIT)
    finally:
        stacks("eu-west-1").delete(stack)


def test_deleting_a_replica_table_takes_it_out_of_its_global_table(aws, stacks):
    # Without the hook the deleted region stayed in the replication group: its links kept running
    # and the surviving replicas still listed it as ACTIVE.
    from localcloud.dynamodb.patch import group_for

    name = unique("leaving")
    stacks("eu-west-1").create(name, {"Resources": {"Table": {"Type": "AWS::DynamoDB::GlobalTable", "Properties": {
        "TableName": name, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        "Replicas": [{"Region": "eu-west-1"}, {"Region": "us-east-1"}, {"Region": "ap-southeast-1"}]}}}})
    aws("dynamodb", "ap-southeast-1").delete_table(TableName=name)
    assert group_for(ACCOUNT, name).replicas == ["eu-west-1", "us-east-1"]
    replicas = aws("dynamodb", "eu-west-1").describe_table(TableName=name)["Table"]["Replicas"]
    assert [r["RegionName"] for r in replicas] == ["us-east-1"]
    aws("dynamodb", "eu-west-1").put_item(TableName=name, Item={"id": {"S": "after"}})
    assert group_for(ACCOUNT, name).wait_converged(10)
    assert "Item" in aws("dynamodb", "us-east-1").get_item(TableName=name, Key={"id": {"S": "after"}})


def test_replica_updates_delete_the_other_replicas_of_a_strong_table(aws, stacks):
    # moto ignores ReplicaUpdates: deleting an MRSC table (remove the other replicas and the
    # witness first, as AWS requires) would never get past its first step.
    from localcloud.dynamodb.patch import group_for

    name = unique("mrscgone")
    stacks("us-east-1").create(name, {"Resources": {"Table": {"Type": "AWS::DynamoDB::GlobalTable", "Properties": {
        "TableName": name, "BillingMode": "PAY_PER_REQUEST", "MultiRegionConsistency": "STRONG",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        "Replicas": [{"Region": "us-east-1"}, {"Region": "us-east-2"}, {"Region": "us-west-2"}]}}}})
    aws("dynamodb", "us-east-1").update_table(TableName=name, ReplicaUpdates=[
        {"Delete": {"RegionName": "us-east-2"}}, {"Delete": {"RegionName": "us-west-2"}}])
    for region in ("us-east-2", "us-west-2"):
        assert name not in aws("dynamodb", region).list_tables()["TableNames"]
    assert group_for(ACCOUNT, name) is None
    aws("dynamodb", "us-east-1").put_item(TableName=name, Item={"id": {"S": "alone"}})  # no quorum needed now
    aws("dynamodb", "us-east-1").delete_table(TableName=name)
    assert name not in aws("dynamodb", "us-east-1").list_tables()["TableNames"]


def test_update_table_replica_updates_create_and_delete_as_in_awss_global_tables_walkthrough(aws):
    # "Tutorials: Creating global tables" (version 2019.11.21): create a table, then UpdateTable
    # with ReplicaUpdates Create; the new replica is backfilled and replicates both ways. The local
    # cloud used to refuse this call.
    from localcloud.dynamodb.patch import group_for

    name = unique("walkthrough")
    eu = aws("dynamodb", "eu-west-1")
    eu.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    try:
        for n in range(50):
            eu.put_item(TableName=name, Item={"pk": {"S": f"before-{n}"}, "n": {"N": str(n)}})

        answer = eu.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": "us-east-1"}}])
        assert [r["RegionName"] for r in answer["TableDescription"]["Replicas"]] == ["us-east-1"]
        assert answer["TableDescription"]["Replicas"][0]["ReplicaStatus"] in ("CREATING", "ACTIVE")
        wait_for(lambda: eu.describe_table(TableName=name)["Table"]["Replicas"][0]["ReplicaStatus"] == "ACTIVE", WAIT)

        us = aws("dynamodb", "us-east-1")
        described = us.describe_table(TableName=name)["Table"]
        assert described["GlobalTableVersion"] == "2019.11.21"
        assert [r["RegionName"] for r in described["Replicas"]] == ["eu-west-1"]
        assert described["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
        assert described["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        copied = us.scan(TableName=name, ConsistentRead=True)["Items"]
        assert sorted(int(i["n"]["N"]) for i in copied) == list(range(50))
        us.put_item(TableName=name, Item={"pk": {"S": "from-us"}})
        eu.put_item(TableName=name, Item={"pk": {"S": "from-eu"}})
        assert wait_for(lambda: item(aws, "eu-west-1", name, "from-us"), WAIT)
        assert wait_for(lambda: item(aws, "us-east-1", name, "from-eu"), WAIT)

        with pytest.raises(ClientError, match="already has a replica in us-east-1"):
            eu.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": "us-east-1"}}])
        with pytest.raises(ClientError, match="Invalid region name"):
            eu.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": "moon-1"}}])

        eu.update_table(TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": "us-east-1"}}])
        assert name not in us.list_tables()["TableNames"]
        assert "Replicas" not in eu.describe_table(TableName=name)["Table"] or \
            eu.describe_table(TableName=name)["Table"]["Replicas"] == []
        assert group_for(ACCOUNT, name) is None or group_for(ACCOUNT, name).replicas == ["eu-west-1"]
    finally:
        eu.delete_table(TableName=name)


def test_a_strong_table_takes_no_replica_through_update_table(aws, global_table):
    # MRSC: "Replicas cannot be added to or removed from" an MRSC table one at a time (DynamoDB
    # developer guide, "Deleting an MRSC global table": delete two replicas in one call).
    table = global_table(STRONG_REGIONS, "STRONG")
    with pytest.raises(ClientError, match="multi-Region strong consistency"):
        aws("dynamodb", "us-east-1").update_table(TableName=table, ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
    assert table not in aws("dynamodb", "eu-west-1").list_tables()["TableNames"]
