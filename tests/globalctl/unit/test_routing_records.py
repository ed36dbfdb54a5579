"""The routing policy as plain record sets answers every client exactly as the traffic policy
document does: evaluated with the local cloud's two Route 53 resolvers (records and traffic
policies), for every policy over 3 and 5 regions, all serving or one drained, with every region
healthy, each one down, and each one the only one up."""

from __future__ import annotations

import pytest

from globalctl import routing_policy as rp
from globalctl import routing_records as rr
from globalctl import traffic
from localcloud.route53 import latency
from tests.support.policies import POLICIES, REGIONS

NAME, ZONE = "api.global-backend.example", "ZLOCAL"


def both(size: int, kind: str, weights=None, healthy=None) -> tuple[traffic.Deployed, traffic.Deployed]:
    regions = REGIONS[size]
    policy = rp.parse(POLICIES[size][kind], regions)
    targets = {env: f"d-{env}.execute-api.{region}.amazonaws.com" for env, region in regions.items()}
    checks = {env: f"hc-{env}" for env in regions}
    health = {env: healthy is None or env in healthy for env in regions}
    live = rp.live_weights(policy, weights)
    as_policy = traffic.Deployed("traffic-policy", policy, live, health, checks,
                                 document=rp.document(policy, targets, checks, weights))
    records = rr.record_sets(policy, NAME, ZONE, targets, {env: "ZTARGET" for env in regions}, checks, weights)
    as_records = traffic.Deployed("latency-records", policy, live, health, checks, record_sets=records,
                                  record_name=NAME)
    return as_policy, as_records


def health_sets(regions):
    yield None
    for env in regions:
        yield set(regions) - {env}
        yield {env}


@pytest.mark.parametrize("size", [3, 5])
@pytest.mark.parametrize("kind", sorted(POLICIES[3]))
@pytest.mark.parametrize("drained", [None, "use1"], ids=["all serving", "use1 drained"])
def test_records_answer_every_client_as_the_traffic_policy_does(size, kind, drained):
    weights = {drained: 0} if drained else None
    for healthy in health_sets(REGIONS[size]):
        as_policy, as_records = both(size, kind, weights, healthy)
        for location in latency.known_regions():
            by_policy, by_records = traffic._route(as_policy, location), traffic._route(as_records, location)
            assert by_records.shares == pytest.approx(by_policy.shares), (location, healthy)
            assert by_records.failed_open == by_policy.failed_open, (location, healthy)


@pytest.mark.parametrize("kind", sorted(POLICIES[3]))
@pytest.mark.parametrize("drained", [None, "use1"], ids=["all serving", "use1 drained"])
def test_every_alias_points_below_its_own_level_and_a_level_holds_its_routing_type_only(kind, drained):
    policy = rp.parse(POLICIES[5][kind], REGIONS[5])
    found = rr.levels(policy, NAME, ZONE, {drained: 0} if drained else None)
    created = {f"guard-{env}.rules.{NAME}" for env in REGIONS[5]}
    fields = {"latency": "Region", "weighted": "Weight", "failover": "Failover", "geolocation": "GeoLocation"}
    for level, kind_of_level, room in rr.LEVELS:
        records = found[level]
        assert len(records) <= room
        assert all(record["AliasTarget"]["DNSName"] in created for record in records), level
        assert all(fields[kind_of_level] in record for record in records)
        created |= {record["Name"] for record in records}
    assert NAME in created


def test_the_stack_takes_each_level_as_one_padded_list():
    policy = rp.parse(POLICIES[3]["failover"], REGIONS[3])
    given = rr.parameters(policy, {"use1": 0})
    assert set(given) == {level for level, _, _ in rr.LEVELS}
    assert given["Failover1Records"] == ("failover-1.rules.@|guard-euw1|PRIMARY|guard-euw1.rules.@||,"
                                         "failover-1.rules.@|guard-apse1|SECONDARY|guard-apse1.rules.@||")
    assert given["LatencyRecords"].split(",")[0] == "drained-last-resort.rules.@|guard-use1|us-east-1|guard-use1.rules.@||"
    assert given["LatencyRecords"].count(",") == 23 and given["WeightedRecords"] == ",".join(["|||||"] * 8)
    assert given["Failover2Records"].startswith("@|failover-1|PRIMARY|failover-1.rules.@||")  # "@": RecordName


def test_a_failover_chain_longer_than_the_failover_levels_is_refused_for_records():
    regions = {f"r{i}": region for i, region in enumerate(
        ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-1", "ap-northeast-1", "sa-east-1"])}
    policy = rp.parse({"RoutingPolicy": "failover", "FailoverChain": ",".join(regions)}, regions)
    with pytest.raises(rp.PolicyConfigError, match="latency-records has no room for the failover policy's rule"):
        rr.levels(policy, NAME, ZONE)


def test_the_committed_records_template_is_its_generator_s_output_with_the_same_levels():
    import importlib.util

    from tests.support import ROOT

    spec = importlib.util.spec_from_file_location("generate_routing_records", ROOT / "global" / "generate_routing_records.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert generator.LEVELS == rr.LEVELS
    assert (ROOT / "global" / "routing-records.yaml").read_text() == generator.render(), "run make templates"
