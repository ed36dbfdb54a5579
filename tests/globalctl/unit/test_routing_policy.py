"""Routing policies: read from the routing environment's parameters, refused when impossible, and
rendered as the traffic policy document the local cloud's evaluator (its global entry's code)
then answers clients with."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from globalctl import routing_policy as rp
from localcloud.route53.policy import evaluate, validate

from tests.support.policies import EU_FIRST, FIVE, POLICIES, THREE

CONFIGS = POLICIES[3]


def doc(params: dict, regions: dict = THREE, weights=None) -> dict:
    policy = rp.parse(params, regions)
    return rp.document(policy, {env: f"{env}.{region}.example" for env, region in regions.items()},
                       {env: f"hc-{env}" for env in regions}, weights)


def served(document: dict, client: str, healthy=None, rng=None) -> str | None:
    answer = evaluate(document, client, lambda check: healthy is None or check[3:] in healthy, rng or random)
    return answer.regions.get(answer.values[0]) if answer.values and answer.healthy else None


@pytest.mark.parametrize("kind", sorted(CONFIGS))
@pytest.mark.parametrize("regions", [THREE, FIVE], ids=["3 regions", "5 regions"])
def test_every_policy_renders_a_valid_document_with_every_endpoint_guarded(kind, regions):
    params = POLICIES[len(regions)][kind]
    document = doc(params, regions)
    assert validate(document) == []
    assert rp.problems(rp.parse(params, regions)) == [] and rp.unanswered(rp.parse(params, regions)) == []
    entries = [entry for rule in document["Rules"].values() for entry in _entries(rule)]
    endpoints = [entry for entry in entries if "EndpointReference" in entry]
    # An endpoint appears only in its region's guard rule, under its health check ...
    assert endpoints and all(entry["HealthCheck"] == f"hc-{entry['EndpointReference']}" for entry in endpoints)
    assert {rule_id for rule_id, rule in document["Rules"].items() if any(e in endpoints for e in _entries(rule))} \
        == {f"guard-{env}" for env in regions}
    # ... and the policy reaches every region through it.
    assert {entry["RuleReference"] for entry in entries if entry.get("RuleReference", "").startswith("guard-")} \
        == {f"guard-{env}" for env in regions}


def _entries(rule: dict) -> list[dict]:
    return [*rule.get("Regions", []), *rule.get("Items", []), *rule.get("Locations", []),
            *[rule[k] for k in ("Primary", "Secondary") if k in rule]]


def test_geolocation_sends_a_country_before_its_continent_and_falls_back_to_the_default_then_the_nearest():
    document = doc(CONFIGS["geolocation"])
    assert served(document, "eu-west-2") == "eu-west-1"  # GB: its country entry
    assert served(document, "eu-central-1") == "eu-west-1"  # Europe
    assert served(document, "sa-east-1") == "us-east-1" and served(document, "ap-northeast-1") == "ap-southeast-1"
    assert served(document, "af-south-1") == "us-east-1"  # Africa: no entry, the default
    assert served(document, "eu-central-1", {"use1", "apse1"}) == "us-east-1"  # Europe down: the default
    assert served(document, "eu-central-1", {"apse1"}) == "ap-southeast-1"  # and it down too: the nearest healthy


def test_weighted_shares_follow_the_weights():
    document, rng = doc(CONFIGS["weighted"]), random.Random(7)
    shares = Counter(served(document, "eu-west-1", rng=rng) for _ in range(3000))
    assert abs(shares["eu-west-1"] / 3000 - 0.6) < 0.04 and abs(shares["ap-southeast-1"] / 3000 - 0.1) < 0.03
    assert served(document, "eu-west-1", {"apse1"}) == "ap-southeast-1"  # only one healthy: it takes all


def test_failover_follows_the_chain_wherever_the_client_is():
    document = doc(CONFIGS["failover"])
    for client in ("ap-southeast-2", "us-west-2", "eu-west-1"):
        assert served(document, client) == "eu-west-1"
        assert served(document, client, {"use1", "apse1"}) == "us-east-1"
        assert served(document, client, {"apse1"}) == "ap-southeast-1"


def test_an_eu_group_never_sends_eu_clients_to_the_us_while_an_eu_region_is_healthy():
    document = doc(EU_FIRST, FIVE)
    assert served(document, "eu-west-2") == "eu-west-1" and served(document, "eu-central-1") == "eu-central-1"
    eu_down_one = {"euc1", "use1", "usw2", "apse1"}
    for client in ("eu-west-1", "eu-west-2", "eu-north-1", "eu-south-1"):
        assert served(document, client, eu_down_one) == "eu-central-1"  # not the nearer-looking US
    assert served(document, "eu-west-2", {"use1", "usw2", "apse1"}) == "us-east-1"  # every EU region down
    assert served(document, "us-west-1") == "us-west-2" and served(document, "ap-northeast-1") == "ap-southeast-1"


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_a_drained_region_takes_no_client_while_another_can_and_is_the_last_resort(kind):
    document = doc(CONFIGS[kind], weights={"euw1": 0})
    assert validate(document) == []
    for client in ("eu-west-1", "eu-west-2", "us-east-1", "ap-southeast-2"):
        assert served(document, client) in ("us-east-1", "ap-southeast-1"), (kind, client)
        assert served(document, client, {"euw1", "apse1"}) == "ap-southeast-1", (kind, client)
        assert served(document, client, {"euw1"}) == "eu-west-1", (kind, client)  # nothing else can


def test_rendered_parameters_are_the_rules_the_stack_places_after_its_guards():
    policy = rp.parse(CONFIGS["geolocation-latency"], THREE)
    given = rp.rendered(policy, {"use1": 0})
    document = doc(CONFIGS["geolocation-latency"], weights={"use1": 0})
    assert given["PolicyStart"] == document["StartRule"] == "start"
    assert json.loads("{" + given["PolicyRules"] + "}") == {
        rule_id: rule for rule_id, rule in document["Rules"].items() if not rule_id.startswith("guard-")}


@pytest.mark.parametrize(("params", "expected"), [
    ({"RoutingPolicy": "geolocation", "GeoLocations": "euw1:eu,use1:na"},
     "GeoDefault: geolocation needs a default: a client from a location no entry names would get no answer"),
    ({"RoutingPolicy": "geolocation", "GeoLocations": "euw1:eu+GB,use1:na+GB", "GeoDefault": "use1"},
     "GeoLocations: GB is claimed by euw1 and use1"),
    ({"RoutingPolicy": "weighted", "RoutingWeights": "euw1:0,use1:0,apse1:0"},
     "RoutingWeights: every weight is 0: no region would get any client"),
    ({"RoutingPolicy": "failover", "FailoverChain": "euw1"},
     "FailoverChain: a chain of 1 fails over to nothing; name at least two regions, the primary first"),
    ({"RoutingPolicy": "failover", "FailoverChain": "euw1,usw9"},
     "FailoverChain: 'usw9' is not a region environment (euw1, use1, apse1)"),
    ({"RoutingPolicy": "weighted", "RoutingWeights": "euw1:1,use1:1"},
     "RoutingWeights: no weight for apse1 (0 sends it nothing)"),
    ({"RoutingPolicy": "geolocation-latency", "LatencyGroups": "eu:euw1", "GeoLocations": "eu:eu,us:na",
      "GeoDefault": "all"}, "GeoLocations: 'us' is not a group of LatencyGroups"),
])
def test_impossible_configurations_are_one_line_each(params, expected):
    assert expected in rp.problems(rp.parse(params, THREE))


@pytest.mark.parametrize(("params", "expected"), [
    ({"RoutingPolicy": "latest"}, "RoutingPolicy 'latest' is not one of latency, geolocation, weighted, failover"),
    ({"RoutingPolicy": "geolocation", "GeoLocations": "euw1:EU", "GeoDefault": "euw1"},
     "'EU' is not a country code; a continent is written in lower case: eu"),
    ({"RoutingPolicy": "geolocation", "GeoLocations": "euw1:europe", "GeoDefault": "euw1"},
     "'europe' is neither a continent"),
    ({"RoutingPolicy": "weighted", "RoutingWeights": "euw1:256"}, "the weight of euw1 must be 0-255, got '256'"),
    ({"RoutingPolicy": "weighted", "RoutingWeights": "euw1"}, "RoutingWeights: 'euw1' is not key:value"),
])
def test_unreadable_parameters_are_refused_with_what_to_write(params, expected):
    with pytest.raises(rp.PolicyConfigError) as refused:
        rp.parse(params, THREE)
    assert any(expected in problem for problem in refused.value.problems)


def test_na_the_continent_and_na_the_country_are_told_apart_by_case():
    policy = rp.parse({"RoutingPolicy": "geolocation", "GeoLocations": "use1:na,euw1:NA", "GeoDefault": "use1"}, THREE)
    assert policy.locations == {"use1": (rp.Location(continent="NA"),), "euw1": (rp.Location(country="NA"),)}
    assert rp.problems(policy) == []  # North America and Namibia: two places, no claim twice


@pytest.mark.parametrize(("params", "stranded_while"), [
    # apse1 is in no chain: with only it healthy, nobody is answered by a healthy region.
    ({"RoutingPolicy": "failover", "FailoverChain": "euw1,use1"}, "with only ap-southeast-1 healthy"),
    # The default is a group, not every region: with only eu-west-1 up, the rest of the world is stranded.
    ({"RoutingPolicy": "geolocation-latency", "LatencyGroups": "eu:euw1,rest:use1+apse1", "GeoLocations": "eu:eu",
      "GeoDefault": "rest"}, "with only eu-west-1 healthy"),
])
def test_a_policy_leaving_clients_without_a_healthy_region_while_one_is_healthy_is_found(params, stranded_while):
    found = rp.unanswered(rp.parse(params, THREE))
    assert len(found) == 1 and found[0].startswith(stranded_while), found
    assert "get no healthy answer" in found[0]
