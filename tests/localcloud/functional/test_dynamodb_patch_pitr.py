"""localcloud.dynamodb.patch: point-in-time recovery per replica of an AWS::DynamoDB::GlobalTable.

In the GlobalTable schema PointInTimeRecoverySpecification sits under each replica's
ReplicaSpecification, not on the table (cfn-lint's bundled resource schema, the CloudFormation
registry's). Plain moto 5.2.5 skips the GlobalTable type entirely, so no replica exists for
DescribeContinuousBackups to answer about; the extension applies each replica's own setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import unique
from .test_dynamodb_patch import global_table_template

ROOT = Path(__file__).resolve().parents[3]
REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-1"]


def pitr(aws: Any, region: str, table: str) -> dict[str, Any]:
    backups = aws("dynamodb", region).describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    return backups["PointInTimeRecoveryDescription"]


def with_pitr(template: dict[str, Any], settings: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    for replica in template["Resources"]["Table"]["Properties"]["Replicas"]:
        spec = settings.get(replica["Region"])
        if spec is not None:
            replica["PointInTimeRecoverySpecification"] = spec
    return template


def test_the_shipped_table_template_enables_pitr_in_every_replica(aws, stacks):
    stack, table = unique("gtpitr"), unique("pitr")
    created = stacks("eu-west-1").create(stack, (ROOT / "global" / "table.yaml").read_text(), TableName=table,
                                         ReplicaRegions=",".join(REGIONS), DeletionProtection="false")
    try:
        assert created["StackStatus"] == "CREATE_COMPLETE"
        for region in REGIONS:
            assert pitr(aws, region, table)["PointInTimeRecoveryStatus"] == "ENABLED", region
    finally:
        assert stacks("eu-west-1").delete(stack) == "DELETE_COMPLETE"


def test_each_replica_keeps_its_own_pitr_setting_through_an_update(aws, stacks):
    stack, table = unique("gtpitr"), unique("pitr")
    first = with_pitr(global_table_template(table, REGIONS), {
        "eu-west-1": {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7},
        "us-east-1": {"PointInTimeRecoveryEnabled": True},
        "ap-southeast-1": None,  # no specification: PITR stays off, the DynamoDB default
    })
    assert stacks("eu-west-1").create(stack, first)["StackStatus"] == "CREATE_COMPLETE"
    try:
        assert pitr(aws, "eu-west-1", table)["PointInTimeRecoveryStatus"] == "ENABLED"
        assert pitr(aws, "eu-west-1", table)["RecoveryPeriodInDays"] == 7
        assert pitr(aws, "us-east-1", table)["PointInTimeRecoveryStatus"] == "ENABLED"
        assert pitr(aws, "ap-southeast-1", table)["PointInTimeRecoveryStatus"] == "DISABLED"

        second = with_pitr(global_table_template(table, REGIONS), {
            "eu-west-1": {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7},
            "us-east-1": {"PointInTimeRecoveryEnabled": False},
            "ap-southeast-1": {"PointInTimeRecoveryEnabled": True},
        })
        assert stacks("eu-west-1").update(stack, second)["StackStatus"] == "UPDATE_COMPLETE"
        assert pitr(aws, "eu-west-1", table)["PointInTimeRecoveryStatus"] == "ENABLED"
        assert pitr(aws, "us-east-1", table)["PointInTimeRecoveryStatus"] == "DISABLED"
        assert pitr(aws, "ap-southeast-1", table)["PointInTimeRecoveryStatus"] == "ENABLED"
    finally:
        assert stacks("eu-west-1").delete(stack) == "DELETE_COMPLETE"
