"""The facts the checkov skips rest on, checked in the templates, so a justification cannot go stale.

Each test names the skip it backs: if the template changes so the stated reason is no longer
true, the test fails. When a skip is replaced by a real fix, its test goes with it. Reasons that
are design judgements (no VPC, no customer managed key for logs) have nothing to assert here; the
README's security section states them.
"""

from __future__ import annotations

import re
from typing import Any

from tests.security import templates

ROOT = templates.ROOT
SECRET_LIKE = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|CREDENTIAL|API_?KEY", re.IGNORECASE)


def template(name: str) -> dict[str, Any]:
    loaded = templates.load(ROOT / name)
    assert loaded is not None, name
    return loaded


def resource(name: str, logical_id: str, skipped: str) -> dict[str, Any]:
    found = template(name)["Resources"][logical_id]
    skips = [s.get("id") for s in found.get("Metadata", {}).get("checkov", {}).get("skip", [])]
    assert skipped in skips, f"{name} {logical_id} no longer skips {skipped}: delete this fact test with the skip"
    return found


def test_pitr_is_enabled_in_every_replica_slot_ckv_aws_165():
    replicas = resource("global/table.yaml", "Table", "CKV_AWS_165")["Properties"]["Replicas"]
    assert len(replicas) == 8  # the padded slots; checkov only looks at a literal Replicas[0]
    for slot in replicas:
        condition, spec, otherwise = slot["Fn::If"]
        assert otherwise == {"Ref": "AWS::NoValue"}
        assert spec["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, condition


def test_dead_letter_queue_is_encrypted_with_sse_sqs_ckv_aws_27():
    properties = resource("regional/stream.yaml", "StreamDeadLetterQueue", "CKV_AWS_27")["Properties"]
    assert properties["SqsManagedSseEnabled"] is True
    assert "KmsMasterKeyId" not in properties  # the two are exclusive; the skip says SSE-SQS


def test_api_function_is_only_invoked_synchronously_by_api_gateway_ckv_aws_116():
    events = resource("regional/api.yaml", "ApiFunction", "CKV_AWS_116")["Properties"]["Events"]
    assert {event["Type"] for event in events.values()} == {"HttpApi"}


def test_stream_processor_failures_go_to_the_mapping_destination_ckv_aws_116():
    events = resource("regional/stream.yaml", "StreamProcessorFunction", "CKV_AWS_116")["Properties"]["Events"]
    assert [event["Type"] for event in events.values()] == ["DynamoDB"]
    (mapping,) = events.values()
    assert mapping["Properties"]["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS", "Destination": {"Fn::GetAtt": ["StreamDeadLetterQueue", "Arn"]}}


def test_replica_stream_lookup_answers_cloudformation_on_every_path_ckv_aws_116():
    stack = template("regional/stream.yaml")["Resources"]
    lookup = resource("regional/stream.yaml", "ReplicaStreamLookupFunction", "CKV_AWS_116")
    assert "Events" not in lookup["Properties"]  # only the custom resource invokes it
    assert stack["ReplicaStream"]["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["ReplicaStreamLookupFunction", "Arn"]}
    # That it answers on every path, errors included, is tested on the handler itself:
    # tests/functions/functional/test_stream_and_cr.py (test_unexpected_error_still_answers_failed and others).


def test_stream_processor_concurrency_is_one_batch_per_shard_ckv_aws_115():
    events = resource("regional/stream.yaml", "StreamProcessorFunction", "CKV_AWS_115")["Properties"]["Events"]
    for event in events.values():
        assert event["Properties"].get("ParallelizationFactor", 1) == 1


def test_function_environments_hold_no_secret_ckv_aws_173():
    for name in ("regional/api.yaml", "regional/stream.yaml"):
        loaded = template(name)
        names = set(loaded.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
        for logical_id, found in loaded["Resources"].items():
            if found["Type"] == "AWS::Serverless::Function":
                resource(name, logical_id, "CKV_AWS_173")
                names |= set(found["Properties"].get("Environment", {}).get("Variables", {}))
        assert names and not [n for n in names if SECRET_LIKE.search(n)], f"{name}: {sorted(names)}"


def test_no_function_is_attached_to_a_vpc_ckv_aws_117():
    for name in ("regional/api.yaml", "regional/stream.yaml"):
        loaded = template(name)
        assert "VpcConfig" not in loaded.get("Globals", {}).get("Function", {})
        for logical_id, found in loaded["Resources"].items():
            if found["Type"] == "AWS::Serverless::Function":
                assert "VpcConfig" not in resource(name, logical_id, "CKV_AWS_117")["Properties"]
