"""The global templates rendered for concrete topologies: the table's replicas and the routing's
health checks, records and traffic policy document follow the region list, a fourth region
included, and a drained region leaves the routing but keeps its health check."""

from __future__ import annotations

import dataclasses
import json

import pytest

from globalctl import parameters, routing_policy, routing_records
from globalctl import topology as topo
from globalctl.checks import MAX_REGIONS
from tests.templates.cfn_eval import Renderer, load_template
from tests.support import ROOT
from localcloud.route53.policy import validate
from tests.support.policies import POLICIES, REGIONS, overrides
from tests.support.samconfigs import samconfig_text
from tests.templates.conftest import fake_outputs


@pytest.fixture(scope="module")
def table_template():
    return load_template(ROOT / "global" / "table.yaml")


@pytest.fixture(scope="module")
def routing_template():
    return load_template(ROOT / "global" / "routing.yaml")


def test_templates_have_a_slot_for_every_region_the_checks_admit(table_template, routing_template):
    replicas = [c for c in table_template["Conditions"] if c.startswith("Replica")]
    slots = [c for c in routing_template["Conditions"] if c.startswith("Slot")]
    assert len(replicas) == len(slots) == MAX_REGIONS


def test_table_has_one_replica_per_region_in_order(table_template, four_regions):
    params = parameters.table_parameters(four_regions)
    assert params["ReplicaRegions"] == "eu-west-1,us-east-1,ap-southeast-1,eu-central-1"
    table = Renderer(table_template, params).resources()["Table"]
    assert table["Type"] == "AWS::DynamoDB::GlobalTable"
    props = table["Properties"]
    assert [r["Region"] for r in props["Replicas"]] == ["eu-west-1", "us-east-1", "ap-southeast-1", "eu-central-1"]
    for replica in props["Replicas"]:
        assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert replica["DeletionProtectionEnabled"] == "true"
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["MultiRegionConsistency"] == "EVENTUAL"
    assert "GlobalTableWitnesses" not in props


def test_strong_table_has_no_ttl_and_keeps_the_mode(table_template):
    props = Renderer(table_template, {"ReplicaRegions": "us-east-1,us-east-2", "ConsistencyMode": "STRONG",
                                      "WitnessRegion": "us-west-2"}).resources()["Table"]["Properties"]
    assert props["MultiRegionConsistency"] == "STRONG"
    assert "TimeToLiveSpecification" not in props
    assert props["GlobalTableWitnesses"] == [{"Region": "us-west-2"}]
    assert [r["Region"] for r in props["Replicas"]] == ["us-east-1", "us-east-2"]


def _routing(routing_template, topology, weights=None, mode="traffic-policy", with_domain=False):
    # Deployed before with the same declaration: the weights given are the live ones. The mode as if
    # samconfig declared it.
    routing = topology.routing
    declared = dataclasses.replace(routing, parameters={**routing.parameters, "RoutingMode": mode})
    topology = dataclasses.replace(topology, environments=tuple(declared if env is routing else env
                                                                for env in topology.environments))
    params = parameters.routing_parameters(topology, fake_outputs(topology, with_domain), weights,
                                           deployed=declared.parameters)
    return Renderer(routing_template, params).resources()


def test_routing_has_a_health_check_per_region_on_its_own_host(routing_template, four_regions):
    resources = _routing(routing_template, four_regions)
    checks = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::Route53::HealthCheck"}
    assert sorted(checks) == [f"HealthCheck{i}" for i in range(4)]
    for i, env in enumerate(four_regions.regions):
        config = checks[f"HealthCheck{i}"]["HealthCheckConfig"]
        assert config["FullyQualifiedDomainName"] == f"api{i}.execute-api.{env.region}.amazonaws.com"
        assert config["Type"] == "HTTPS" and config["ResourcePath"] == "/health"
        assert config["RequestInterval"] in ("10", "30")
        assert 1 <= int(config["FailureThreshold"]) <= 10


def _policy_document(resources) -> dict:
    return json.loads(resources["TrafficPolicy"]["Properties"]["Document"])


def test_traffic_policy_is_a_latency_rule_over_every_region_guarded_by_health(routing_template, four_regions):
    resources = _routing(routing_template, four_regions)
    doc = _policy_document(resources)
    assert doc["AWSPolicyFormatVersion"] == "2015-10-01" and validate(doc) == []
    rule = doc["Rules"][doc["StartRule"]]
    assert rule["RuleType"] == "latency"
    assert [(e["Region"], e["RuleReference"]) for e in rule["Regions"]] == [
        (env.region, f"guard-{env.name}") for env in four_regions.regions]
    for i, env in enumerate(four_regions.regions):
        guard = doc["Rules"][f"guard-{env.name}"]
        assert guard["Primary"] == guard["Secondary"] == {"EndpointReference": env.name,
                                                          "HealthCheck": f"<Ref HealthCheck{i}>"}
    assert doc["Endpoints"]["euc1"] == {"Type": "value", "Value": "api3.execute-api.eu-central-1.amazonaws.com"}
    instance = resources["TrafficPolicyInstance"]["Properties"]
    assert instance["Name"] == "api.global-backend.example."
    assert not any(v["Type"] == "AWS::Route53::RecordSet" for v in resources.values())


def _policy_topology(tmp_path, size: int, params: dict[str, str]) -> topo.Topology:
    config = tmp_path / "samconfig.toml"
    config.write_text(samconfig_text(REGIONS[size], routing_overrides=overrides(params)))
    return topo.load(config)


@pytest.mark.parametrize("size", [3, 5])
@pytest.mark.parametrize("kind", sorted(POLICIES[3]))
@pytest.mark.parametrize("drained", [None, "use1"], ids=["all serving", "use1 drained"])
def test_every_policy_deploys_as_globalctl_renders_it(routing_template, tmp_path, size, kind, drained):
    """The stack's document (its endpoints and guard rules, then globalctl's rules) is the
    document globalctl simulates, for every policy, drained or not; Route 53's rules accept it."""
    topology = _policy_topology(tmp_path, size, POLICIES[size][kind])
    weights = {drained: 0} if drained else None
    doc = _policy_document(_routing(routing_template, topology, weights))
    assert validate(doc) == []
    policy = routing_policy.parse(topology.routing.parameters, {e.name: e.region for e in topology.regions})
    outputs = fake_outputs(topology)
    expected = routing_policy.document(
        policy, {e.name: outputs[e.name]["RoutingTarget"] for e in topology.regions},
        {e.name: f"<Ref HealthCheck{i}>" for i, e in enumerate(topology.regions)},
        {drained: 0} if drained else None)
    assert doc == expected


def test_a_drained_region_is_the_last_resort_and_keeps_its_health_check(routing_template, four_regions):
    resources = _routing(routing_template, four_regions, weights={"use1": 0})
    doc = _policy_document(resources)
    start = doc["Rules"][doc["StartRule"]]
    assert start["RuleType"] == "failover"
    serving = doc["Rules"][start["Primary"]["RuleReference"]]["Regions"]
    assert [e["RuleReference"] for e in serving] == ["guard-euw1", "guard-apse1", "guard-euc1"]
    last = doc["Rules"][start["Secondary"]["RuleReference"]]["Regions"]
    assert [e["RuleReference"] for e in last] == ["guard-use1"]
    assert "use1" in doc["Endpoints"] and "HealthCheck1" in resources


@pytest.mark.parametrize("size", [3, 5])
@pytest.mark.parametrize("kind", sorted(POLICIES[3]))
@pytest.mark.parametrize("drained", [None, "use1"], ids=["all serving", "use1 drained"])
def test_records_mode_creates_the_record_sets_globalctl_renders(routing_template, tmp_path, size, kind, drained):
    """The nested records stack, given what the routing stack passes it, creates exactly the record
    sets routing_records renders (whose answers equal the traffic policy's: test_routing_records)."""
    topology = _policy_topology(tmp_path, size, {**POLICIES[size][kind], "RoutingMode": "latency-records"})
    weights = {drained: 0} if drained else None
    parent = _routing(routing_template, topology, weights, mode="latency-records", with_domain=True)
    assert "TrafficPolicy" not in parent
    child = Renderer(load_template(ROOT / "global" / "routing-records.yaml"),
                     parent["RecordsRouting"]["Properties"]["Parameters"]).resources()
    created = []
    for resource in child.values():
        records = resource["Properties"].get("RecordSets") or [resource["Properties"]]
        created += [{k: v for k, v in record.items() if k != "HostedZoneId"} for record in records]
    policy = routing_policy.parse(topology.routing.parameters, {e.name: e.region for e in topology.regions})
    outputs = fake_outputs(topology, with_domain=True)
    expected = routing_records.record_sets(
        policy, "api.global-backend.example", "<Ref Zone>",  # the template's default RecordName
        {e.name: outputs[e.name]["RoutingTarget"] for e in topology.regions},
        {e.name: outputs[e.name]["RoutingTargetHostedZoneId"] for e in topology.regions},
        {e.name: f"<Ref HealthCheck{i}>" for i, e in enumerate(topology.regions)}, weights)
    normalized = [{**r, **({"Weight": str(r["Weight"])} if "Weight" in r else {})} for r in expected]
    assert sorted(map(repr, created)) == sorted(map(repr, normalized))
    for resource in child.values():
        zone = resource["Properties"].get("HostedZoneId")
        assert zone == "<Ref Zone>"


def test_an_impossible_policy_is_refused_before_any_deploy(tmp_path):
    topology = _policy_topology(tmp_path, 3, {"RoutingPolicy": "failover", "FailoverChain": "euw1"})
    with pytest.raises(Exception, match="FailoverChain: a chain of 1 fails over to nothing"):
        parameters.routing_parameters(topology, fake_outputs(topology))


def test_latency_records_alias_each_region_through_its_guard(routing_template, four_regions):
    resources = _routing(routing_template, four_regions, weights={"apse1": 0}, mode="latency-records",
                         with_domain=True)
    child = Renderer(load_template(ROOT / "global" / "routing-records.yaml"),
                     resources["RecordsRouting"]["Properties"]["Parameters"]).resources()
    guard = child["Guard3Records"]["Properties"]
    assert guard["Name"] == "guard-euc1.rules.api.global-backend.example" and guard["Region"] == "eu-central-1"
    assert guard["HealthCheckId"] == "<Ref HealthCheck3>"
    assert guard["AliasTarget"] == {"DNSName": "d-3.execute-api.eu-central-1.amazonaws.com",
                                    "HostedZoneId": "ZONE3", "EvaluateTargetHealth": True}
    nearest = [r for r in child["LatencyLevel"]["Properties"]["RecordSets"] if r["Name"] == "nearest-healthy-region"
               ".rules.api.global-backend.example"]
    assert [r["SetIdentifier"] for r in nearest] == ["guard-euw1", "guard-use1", "guard-euc1"]  # apse1 drained
    start = child["Failover1Level"]["Properties"]["RecordSets"]
    assert [(r["Name"], r["Failover"], r["AliasTarget"]["DNSName"]) for r in start] == [
        ("api.global-backend.example", "PRIMARY", "nearest-healthy-region.rules.api.global-backend.example"),
        ("api.global-backend.example", "SECONDARY", "drained-last-resort.rules.api.global-backend.example")]
    assert "TrafficPolicy" not in resources and not any(r["Type"] == "AWS::Route53::RecordSet" for r in resources.values())


def test_routing_refuses_to_drain_every_region(four_regions):
    with pytest.raises(Exception, match="at least one region must serve"):
        parameters.routing_parameters(four_regions, fake_outputs(four_regions),
                                      {env.name: 0 for env in four_regions.regions})


def test_routing_needs_every_region_deployed(shipped):
    outputs = fake_outputs(shipped)
    del outputs["apse1"]
    with pytest.raises(Exception, match="apse1.*deploy it first"):
        parameters.routing_parameters(shipped, outputs)


@pytest.mark.parametrize("relative", ["template.yaml", "regional/api.yaml", "regional/stream.yaml",
                                      "global/table.yaml", "global/routing.yaml"])
def test_no_output_is_named_like_a_parameter(relative):
    # SAM CLI's local resolver translates every Outputs key that names a parameter into the
    # parameter's value: a list parameter then crashes `sam deploy` before it reaches CloudFormation.
    template = load_template(ROOT / relative)
    assert not set(template.get("Outputs", {})) & set(template.get("Parameters", {}))


def test_a_routing_deploy_without_the_rendered_policy_is_refused_by_the_template_rules(routing_template, four_regions):
    """sam deploy --config-env routing without "$(globalctl params routing)" would route nobody: the
    template's Rules refuse it first, in either mode (checked with the local cloud's Rules)."""
    from moto.cloudformation.exceptions import ValidationError

    from localcloud.cloudformation import rules

    for mode, missing in (("traffic-policy", "PolicyStart and PolicyRules are empty"),
                          ("latency-records", "The record levels are empty")):
        bare = {"Envs": "euw1", "Regions": "eu-west-1", "HealthHosts": "h", "Targets": "t", "TargetZoneIds": "z",
                "Weights": "1", "RoutingMode": mode}
        with pytest.raises(ValidationError, match=missing):
            rules.check(routing_template, bare)
        params = dataclasses.replace(four_regions.routing, parameters={**four_regions.routing.parameters,
                                                                       "RoutingMode": mode})
        topology = dataclasses.replace(four_regions, environments=tuple(
            params if env is four_regions.routing else env for env in four_regions.environments))
        rules.check(routing_template, parameters.routing_parameters(topology, fake_outputs(topology)))
