"""localcloud.route53.patch: traffic policies, health-check status and in-place health check updates.

Plain moto 5.2.5 answers 404 to every traffic-policy call, skips AWS::Route53::TrafficPolicy*,
reports every health check healthy, and has no update handler for AWS::Route53::HealthCheck
(../shared/design.md, "measured gaps").
AWS behaviour: Route 53 API Reference (CreateTrafficPolicy, CreateTrafficPolicyVersion,
CreateTrafficPolicyInstance, UpdateTrafficPolicyInstance, GetHealthCheckStatus), "Traffic Policy
Document Format"; errors InvalidTrafficPolicyDocument (CreateTrafficPolicy) and
NoSuchTrafficPolicyInstance (GetTrafficPolicyInstance); CloudFormation: AWS::Route53::HealthCheck HealthCheckConfig FailureThreshold
"Update requires: No interruption".
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.hooks import hooks

from .conftest import ACCOUNT, unique


def latency_policy(eu_value: str = "192.0.2.10", us_value: str = "192.0.2.20") -> str:
    return json.dumps({
        "AWSPolicyFormatVersion": "2015-10-01",
        "RecordType": "A",
        "Endpoints": {"eu": {"Type": "value", "Value": eu_value}, "us": {"Type": "value", "Value": us_value}},
        "StartRule": "by-latency",
        "Rules": {"by-latency": {"RuleType": "latency", "Regions": [
            {"Region": "eu-west-1", "EndpointReference": "eu"},
            {"Region": "us-east-1", "EndpointReference": "us"}]}},
    })


def hosted_zone(route53: Any) -> tuple[str, str]:
    """(bare zone id, zone name) of a new public hosted zone."""
    name = f"{unique('zone')}.example.com"
    zone = route53.create_hosted_zone(Name=name, CallerReference=str(uuid.uuid4()))["HostedZone"]
    return zone["Id"].rsplit("/", 1)[-1], name


@pytest.fixture
def routing_changes(monkeypatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(hooks, "routing_changed", seen.append)
    return seen


def test_traffic_policy_and_versions(aws):
    route53 = aws("route53")
    name = unique("policy")
    created = route53.create_traffic_policy(Name=name, Document=latency_policy(), Comment="first")
    policy = created["TrafficPolicy"]
    assert (policy["Name"], policy["Version"], policy["Type"]) == (name, 1, "A")
    assert created["Location"].endswith(f"/trafficpolicy/{policy['Id']}/1")

    got = route53.get_traffic_policy(Id=policy["Id"], Version=1)["TrafficPolicy"]
    assert json.loads(got["Document"]) == json.loads(latency_policy())
    assert got["Comment"] == "first"

    second = route53.create_traffic_policy_version(Id=policy["Id"], Document=latency_policy(eu_value="192.0.2.11"))
    assert second["TrafficPolicy"]["Version"] == 2
    assert second["TrafficPolicy"]["Id"] == policy["Id"]
    versions = route53.list_traffic_policy_versions(Id=policy["Id"])["TrafficPolicies"]
    assert [v["Version"] for v in versions] == [1, 2]
    assert "192.0.2.11" in route53.get_traffic_policy(Id=policy["Id"], Version=2)["TrafficPolicy"]["Document"]

    summaries = {s["Id"]: s for s in route53.list_traffic_policies()["TrafficPolicySummaries"]}
    assert summaries[policy["Id"]]["LatestVersion"] == 2
    assert summaries[policy["Id"]]["TrafficPolicyCount"] == 2

    with pytest.raises(ClientError) as duplicate:
        route53.create_traffic_policy(Name=name, Document=latency_policy())
    assert duplicate.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    route53.delete_traffic_policy(Id=policy["Id"], Version=1)
    assert [v["Version"] for v in route53.list_traffic_policy_versions(Id=policy["Id"])["TrafficPolicies"]] == [2]


@pytest.mark.parametrize("document", [
    "not json",
    json.dumps({"AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A", "Endpoints": {},
                "StartEndpoint": "missing"}),
    json.dumps({"AWSPolicyFormatVersion": "1999-01-01", "RecordType": "A",
                "Endpoints": {"e": {"Type": "value", "Value": "192.0.2.1"}}, "StartEndpoint": "e"}),
])
def test_an_invalid_document_is_refused(aws, document):
    route53 = aws("route53")
    name = unique("bad")
    with pytest.raises(ClientError) as refused:
        route53.create_traffic_policy(Name=name, Document=document)
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidTrafficPolicyDocument"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert name not in {s["Name"] for s in route53.list_traffic_policies()["TrafficPolicySummaries"]}


def test_traffic_policy_instance_lifecycle(aws, routing_changes):
    route53 = aws("route53")
    zone_id, zone_name = hosted_zone(route53)
    policy = route53.create_traffic_policy(Name=unique("policy"), Document=latency_policy())["TrafficPolicy"]
    route53.create_traffic_policy_version(Id=policy["Id"], Document=latency_policy(us_value="192.0.2.21"))

    instance = route53.create_traffic_policy_instance(
        HostedZoneId=zone_id, Name=f"api.{zone_name}", TTL=60, TrafficPolicyId=policy["Id"],
        TrafficPolicyVersion=1)["TrafficPolicyInstance"]
    assert (instance["Name"], instance["TTL"], instance["State"]) == (f"api.{zone_name}.", 60, "Applied")
    assert instance["TrafficPolicyType"] == "A"
    assert routing_changes == [ACCOUNT]

    got = route53.get_traffic_policy_instance(Id=instance["Id"])["TrafficPolicyInstance"]
    assert (got["HostedZoneId"], got["TrafficPolicyId"], got["TrafficPolicyVersion"]) == (zone_id, policy["Id"], 1)
    by_zone = route53.list_traffic_policy_instances_by_hosted_zone(HostedZoneId=zone_id)["TrafficPolicyInstances"]
    assert [i["Id"] for i in by_zone] == [instance["Id"]]

    updated = route53.update_traffic_policy_instance(Id=instance["Id"], TTL=30, TrafficPolicyId=policy["Id"],
                                                     TrafficPolicyVersion=2)["TrafficPolicyInstance"]
    assert (updated["TTL"], updated["TrafficPolicyVersion"]) == (30, 2)
    assert route53.get_traffic_policy_instance(Id=instance["Id"])["TrafficPolicyInstance"]["TrafficPolicyVersion"] == 2

    with pytest.raises(ClientError):  # a version an instance uses cannot be deleted
        route53.delete_traffic_policy(Id=policy["Id"], Version=2)

    route53.delete_traffic_policy_instance(Id=instance["Id"])
    assert routing_changes == [ACCOUNT] * 3
    with pytest.raises(ClientError) as gone:
        route53.get_traffic_policy_instance(Id=instance["Id"])
    assert gone.value.response["Error"]["Code"] == "NoSuchTrafficPolicyInstance"
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    route53.delete_traffic_policy(Id=policy["Id"], Version=2)


def test_an_instance_outside_its_hosted_zone_is_refused(aws):
    route53 = aws("route53")
    zone_id, _ = hosted_zone(route53)
    policy = route53.create_traffic_policy(Name=unique("policy"), Document=latency_policy())["TrafficPolicy"]
    with pytest.raises(ClientError) as refused:
        route53.create_traffic_policy_instance(HostedZoneId=zone_id, Name="api.elsewhere.example.org", TTL=60,
                                               TrafficPolicyId=policy["Id"], TrafficPolicyVersion=1)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_traffic_policy_resources_in_a_stack(aws, stacks):
    route53 = aws("route53")
    zone_id, zone_name = hosted_zone(route53)
    name, policy_name = unique("tp"), unique("policy")
    template = {
        "Resources": {
            "Policy": {"Type": "AWS::Route53::TrafficPolicy", "Properties": {
                "Name": policy_name, "Document": json.loads(latency_policy())}},
            "Instance": {"Type": "AWS::Route53::TrafficPolicyInstance", "Properties": {
                "HostedZoneId": zone_id, "Name": f"www.{zone_name}", "TTL": 60,
                "TrafficPolicyId": {"Ref": "Policy"},
                "TrafficPolicyVersion": {"Fn::GetAtt": ["Policy", "Version"]}}},
        },
        "Outputs": {"PolicyId": {"Value": {"Ref": "Policy"}}, "InstanceId": {"Value": {"Ref": "Instance"}}},
    }
    assert stacks("us-east-1").create(name, template)["StackStatus"] == "CREATE_COMPLETE"
    outputs = stacks("us-east-1").outputs(name)

    policy = route53.get_traffic_policy(Id=outputs["PolicyId"], Version=1)["TrafficPolicy"]
    assert policy["Name"] == policy_name
    instance = route53.get_traffic_policy_instance(Id=outputs["InstanceId"])["TrafficPolicyInstance"]
    assert (instance["Name"], instance["TrafficPolicyId"]) == (f"www.{zone_name}.", outputs["PolicyId"])

    assert stacks("us-east-1").delete(name) == "DELETE_COMPLETE"
    with pytest.raises(ClientError):
        route53.get_traffic_policy_instance(Id=outputs["InstanceId"])
    assert outputs["PolicyId"] not in {s["Id"] for s in route53.list_traffic_policies()["TrafficPolicySummaries"]}


def test_health_check_status_reports_the_local_checkers_observations(aws, monkeypatch):
    route53 = aws("route53")
    check = route53.create_health_check(CallerReference=str(uuid.uuid4()), HealthCheckConfig={
        "Type": "HTTPS", "FullyQualifiedDomainName": "abc.execute-api.eu-west-1.amazonaws.com",
        "Port": 443, "ResourcePath": "/health", "RequestInterval": 10, "FailureThreshold": 3})["HealthCheck"]
    checked = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    asked: list[str] = []

    def observations(health_check_id: str) -> list[dict[str, Any]]:
        asked.append(health_check_id)
        return [{"Region": "eu-west-1", "IPAddress": "127.0.0.1", "StatusReport": {
            "Status": "Failure: HTTP Status Code 503, Service Unavailable", "CheckedTime": checked}}]

    monkeypatch.setattr(hooks, "health_observations", observations)
    status = route53.get_health_check_status(HealthCheckId=check["Id"])["HealthCheckObservations"]
    assert asked == [check["Id"]]
    assert [(o["Region"], o["IPAddress"]) for o in status] == [("eu-west-1", "127.0.0.1")]
    assert status[0]["StatusReport"]["Status"].startswith("Failure: HTTP Status Code 503")
    assert status[0]["StatusReport"]["CheckedTime"] == checked

    monkeypatch.setattr(hooks, "health_observations", lambda _id: None)  # no checker has run yet
    assert route53.get_health_check_status(HealthCheckId=check["Id"])["HealthCheckObservations"] == []


def test_health_check_updated_by_a_stack_keeps_its_id(aws, stacks, routing_changes):
    name = unique("hc")

    def template(threshold: int) -> dict[str, Any]:
        return {"Resources": {"Check": {"Type": "AWS::Route53::HealthCheck", "Properties": {"HealthCheckConfig": {
            "Type": "HTTPS", "FullyQualifiedDomainName": f"{name}.execute-api.eu-west-1.amazonaws.com",
            "Port": 443, "ResourcePath": "/health", "RequestInterval": 10, "FailureThreshold": threshold}}}},
            "Outputs": {"CheckId": {"Value": {"Ref": "Check"}}}}

    stacks("us-east-1").create(name, template(3))
    check_id = stacks("us-east-1").outputs(name)["CheckId"]
    route53 = aws("route53")
    assert route53.get_health_check(HealthCheckId=check_id)["HealthCheck"]["HealthCheckConfig"]["FailureThreshold"] == 3
    version = route53.get_health_check(HealthCheckId=check_id)["HealthCheck"]["HealthCheckVersion"]

    assert stacks("us-east-1").update(name, template(1))["StackStatus"] == "UPDATE_COMPLETE"
    assert stacks("us-east-1").outputs(name)["CheckId"] == check_id
    check = route53.get_health_check(HealthCheckId=check_id)["HealthCheck"]
    assert check["HealthCheckConfig"]["FailureThreshold"] == 1
    assert check["HealthCheckVersion"] == version + 1
    assert check_id in {c["Id"] for c in route53.list_health_checks()["HealthChecks"]}
    assert len(routing_changes) == 2  # created, then updated


def _latency(name: str, env: str, region: str) -> dict[str, Any]:
    return {"Name": name, "Type": "A", "SetIdentifier": env, "Region": region,
            "AliasTarget": {"DNSName": f"{env}.execute-api.{region}.amazonaws.com", "HostedZoneId": "ZTARGET",
                            "EvaluateTargetHealth": True}}


def test_record_set_groups_update_and_delete_one_record_at_a_time(aws, stacks, routing_changes):
    """A group is one change batch: an update swaps its records and leaves every other record of
    the same name alone; deleting a group, or one record of a set, takes exactly its records.
    (Plain moto cannot update or delete a group, and a RecordSet's delete takes its whole set.)"""
    route53 = aws("route53")
    zone_id, zone_name = hosted_zone(route53)
    name, stack = f"api.{zone_name}", unique("records")

    def template(group: list[dict[str, Any]], single: bool = True) -> dict[str, Any]:
        resources: dict[str, Any] = {"Group": {"Type": "AWS::Route53::RecordSetGroup",
                                               "Properties": {"HostedZoneId": zone_id, "RecordSets": group}}}
        if single:
            resources["Single"] = {"Type": "AWS::Route53::RecordSet",
                                   "Properties": {"HostedZoneId": zone_id, **_latency(name, "apse1", "ap-southeast-1")}}
        return {"Resources": resources}

    def latency_set() -> list[str]:
        records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        return sorted(r["SetIdentifier"] for r in records if r["Name"].rstrip(".") == name)

    euw1, use1 = _latency(name, "euw1", "eu-west-1"), _latency(name, "use1", "us-east-1")
    assert stacks("us-east-1").create(stack, template([euw1, use1]))["StackStatus"] == "CREATE_COMPLETE"
    assert latency_set() == ["apse1", "euw1", "use1"]
    assert stacks("us-east-1").update(stack, template([euw1]))["StackStatus"] == "UPDATE_COMPLETE"
    assert latency_set() == ["apse1", "euw1"]
    assert stacks("us-east-1").update(stack, template([euw1], single=False))["StackStatus"] == "UPDATE_COMPLETE"
    assert latency_set() == ["euw1"]
    assert stacks("us-east-1").delete(stack) == "DELETE_COMPLETE"
    assert latency_set() == []
    assert len(routing_changes) >= 4
