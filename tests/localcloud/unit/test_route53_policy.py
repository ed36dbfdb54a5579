"""Traffic policy documents: validation and evaluation with Route 53's health semantics."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from localcloud.route53 import policy
from localcloud.route53.policy import PolicyError, evaluate, validate

V = "2015-10-01"


def doc(rules: dict, endpoints: dict, start: str, record_type: str = "CNAME", **extra) -> dict:
    return {"AWSPolicyFormatVersion": V, "RecordType": record_type, "StartRule": start,
            "Endpoints": endpoints, "Rules": rules, **extra}


def host(region: str) -> dict:
    return {"Type": "value", "Value": f"api-{region}.execute-api.{region}.amazonaws.com"}


def down(*ids: str):
    return lambda hc: hc not in ids


ALL_UP = down()

# The latency policy global/routing.yaml generates: one entry per region, each with a health check.
LATENCY = doc(
    {"nearest": {"RuleType": "latency", "Regions": [
        {"Region": r, "EndpointReference": r, "HealthCheck": f"hc-{r}"}
        for r in ("eu-west-1", "us-east-1", "ap-southeast-1")]}},
    {r: host(r) for r in ("eu-west-1", "us-east-1", "ap-southeast-1")},
    "nearest",
)


@pytest.mark.parametrize(("client", "health", "region", "healthy"), [
    ("eu-west-2", ALL_UP, "eu-west-1", True),
    ("us-west-2", ALL_UP, "us-east-1", True),
    ("ap-northeast-1", ALL_UP, "ap-southeast-1", True),
    ("eu-west-2", down("hc-eu-west-1"), "us-east-1", True),
    ("ap-south-1", down("hc-ap-southeast-1"), "eu-west-1", True),
    ("eu-west-2", down("hc-eu-west-1", "hc-us-east-1"), "ap-southeast-1", True),
    # nothing healthy: Route 53 fails open and answers as if all were healthy (nearest)
    ("eu-west-2", down("hc-eu-west-1", "hc-us-east-1", "hc-ap-southeast-1"), "eu-west-1", False),
])
def test_latency_rule_picks_the_nearest_healthy_region(client, health, region, healthy):
    answer = evaluate(LATENCY, client, health)
    assert answer.values == [f"api-{region}.execute-api.{region}.amazonaws.com"]
    assert answer.region == region
    assert answer.record_type == "CNAME"
    assert answer.path == ["nearest"]
    assert answer.healthy is healthy


FAILOVER = doc(
    {"switch": {"RuleType": "failover",
                "Primary": {"EndpointReference": "main", "HealthCheck": "hc-main"},
                "Secondary": {"EndpointReference": "standby", "HealthCheck": "hc-standby"}}},
    {"main": {"Type": "value", "Value": "192.0.2.1"}, "standby": {"Type": "value", "Value": "192.0.2.2"}},
    "switch", record_type="A",
)


@pytest.mark.parametrize(("health", "value", "healthy"), [
    (ALL_UP, "192.0.2.1", True),
    (down("hc-main"), "192.0.2.2", True),
    (down("hc-standby"), "192.0.2.1", True),
    (down("hc-main", "hc-standby"), "192.0.2.1", False),  # both unhealthy: the primary
])
def test_failover_rule(health, value, healthy):
    answer = evaluate(FAILOVER, "eu-west-1", health)
    assert (answer.values, answer.healthy) == ([value], healthy)


def test_failover_secondary_without_health_check_is_used_whenever_primary_is_down():
    d = json.loads(json.dumps(FAILOVER))
    del d["Rules"]["switch"]["Secondary"]["HealthCheck"]
    assert evaluate(d, "eu-west-1", down("hc-main", "hc-standby")).values == ["192.0.2.2"]


def weighted(items: list[tuple[str, int, str | None]]) -> dict:
    return doc(
        {"split": {"RuleType": "weighted", "Items": [
            {"EndpointReference": e, "Weight": w, **({"HealthCheck": hc} if hc else {})} for e, w, hc in items]}},
        {e: {"Type": "value", "Value": f"{e}.example.com"} for e, _, _ in items},
        "split",
    )


def draw(d: dict, health, n: int = 4000, seed: int = 7) -> Counter:
    rng = random.Random(seed)
    return Counter(evaluate(d, "eu-west-1", health, rng).values[0].split(".")[0] for _ in range(n))


def test_weighted_rule_follows_the_weights():
    counts = draw(weighted([("blue", 3, None), ("green", 1, None)]), ALL_UP)
    assert set(counts) == {"blue", "green"}
    assert 0.72 < counts["blue"] / 4000 < 0.78


def test_weighted_rule_accepts_string_weights_as_in_the_aws_examples():
    d = weighted([("blue", 3, None), ("green", 1, None)])
    for item in d["Rules"]["split"]["Items"]:
        item["Weight"] = str(item["Weight"])
    assert 0.72 < draw(d, ALL_UP)["blue"] / 4000 < 0.78


def test_weighted_rule_skips_unhealthy_items():
    counts = draw(weighted([("blue", 3, "hc-blue"), ("green", 1, "hc-green")]), down("hc-blue"), n=300)
    assert counts == Counter(green=300)


def test_weighted_zero_weight_is_used_only_when_every_nonzero_item_is_unhealthy():
    d = weighted([("main", 10, "hc-main"), ("spare", 0, "hc-spare")])
    assert draw(d, ALL_UP, n=300) == Counter(main=300)
    assert draw(d, down("hc-main"), n=300) == Counter(spare=300)
    both_down = evaluate(d, "eu-west-1", down("hc-main", "hc-spare"), random.Random(1))
    assert (both_down.values, both_down.healthy) == (["main.example.com"], False)


def test_weighted_all_zero_weights_share_traffic_equally():
    counts = draw(weighted([("a", 0, None), ("b", 0, None)]), ALL_UP)
    assert 0.46 < counts["a"] / 4000 < 0.54


def test_same_seed_same_answers():
    d = weighted([("blue", 1, None), ("green", 1, None)])
    assert draw(d, ALL_UP, n=50, seed=3) == draw(d, ALL_UP, n=50, seed=3)


# The AWS "Example with Failover, Latency, and Geolocation Rules", verbatim.
COMBINED = {
    "AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A", "StartRule": "geo_restriction",
    "Endpoints": {
        "east_coast_lb1": {"Type": "elastic-load-balancer", "Value": "elb-111111.us-east-1.elb.amazonaws.com"},
        "east_coast_lb2": {"Type": "elastic-load-balancer", "Value": "elb-222222.us-east-1.elb.amazonaws.com"},
        "west_coast_lb1": {"Type": "elastic-load-balancer", "Value": "elb-111111.us-west-1.elb.amazonaws.com"},
        "west_coast_lb2": {"Type": "elastic-load-balancer", "Value": "elb-222222.us-west-1.elb.amazonaws.com"},
        "denied_message": {"Type": "s3-website", "Region": "us-east-1", "Value": "video.example.com"},
    },
    "Rules": {
        "geo_restriction": {"RuleType": "geo", "Locations": [
            {"EndpointReference": "denied_message", "IsDefault": True},
            {"RuleReference": "region_selector", "Country": "US"}]},
        "region_selector": {"RuleType": "latency", "Regions": [
            {"Region": "us-east-1", "RuleReference": "east_coast_region"},
            {"Region": "us-west-1", "RuleReference": "west_coast_region"}]},
        "east_coast_region": {"RuleType": "failover",
                              "Primary": {"EndpointReference": "east_coast_lb1"},
                              "Secondary": {"EndpointReference": "east_coast_lb2"}},
        "west_coast_region": {"RuleType": "failover",
                              "Primary": {"EndpointReference": "west_coast_lb1"},
                              "Secondary": {"EndpointReference": "west_coast_lb2"}},
    },
}


@pytest.mark.parametrize(("client", "value", "path", "region"), [
    ("us-east-2", "elb-111111.us-east-1.elb.amazonaws.com",
     ["geo_restriction", "region_selector", "east_coast_region"], "us-east-1"),
    ("us-west-2", "elb-111111.us-west-1.elb.amazonaws.com",
     ["geo_restriction", "region_selector", "west_coast_region"], "us-west-1"),
    ("eu-west-1", "video.example.com", ["geo_restriction"], "us-east-1"),  # default location
    ("ca-central-1", "video.example.com", ["geo_restriction"], "us-east-1"),
])
def test_nested_rules_geo_then_latency_then_failover(client, value, path, region):
    answer = evaluate(COMBINED, client, ALL_UP)
    assert (answer.values, answer.path, answer.region) == ([value], path, region)


def regional_failover(evaluate_target_health: bool | None = None) -> dict:
    """Latency over two regions, each a failover pair of health-checked endpoints."""
    def pair(r: str) -> dict:
        return {"RuleType": "failover",
                "Primary": {"EndpointReference": f"{r}-a", "HealthCheck": f"hc-{r}-a"},
                "Secondary": {"EndpointReference": f"{r}-b", "HealthCheck": f"hc-{r}-b"}}

    ref = {} if evaluate_target_health is None else {"EvaluateTargetHealth": evaluate_target_health}
    return doc(
        {"latency": {"RuleType": "latency", "Regions": [
            {"Region": "eu-west-1", "RuleReference": "eu", **ref},
            {"Region": "us-east-1", "RuleReference": "us", **ref}]},
         "eu": pair("eu-west-1"), "us": pair("us-east-1")},
        {f"{r}-{s}": {"Type": "value", "Value": f"{s}.{r}.example.com"}
         for r in ("eu-west-1", "us-east-1") for s in "ab"},
        "latency",
    )


def test_rule_reference_is_healthy_while_it_can_answer_with_something_healthy():
    d = regional_failover()
    assert evaluate(d, "eu-west-2", down("hc-eu-west-1-a")).values == ["b.eu-west-1.example.com"]
    answer = evaluate(d, "eu-west-2", down("hc-eu-west-1-a", "hc-eu-west-1-b"))
    assert answer.values == ["a.us-east-1.example.com"]
    assert answer.path == ["latency", "us"]
    assert answer.healthy


def test_rule_reference_without_evaluate_target_health_ignores_the_branch_health():
    answer = evaluate(regional_failover(False), "eu-west-2", down("hc-eu-west-1-a", "hc-eu-west-1-b"))
    assert answer.values == ["a.eu-west-1.example.com"]  # the nearest branch, which failed open
    assert not answer.healthy


def test_everything_down_fails_open_to_the_nearest_primary():
    every = [f"hc-{r}-{s}" for r in ("eu-west-1", "us-east-1") for s in "ab"]
    answer = evaluate(regional_failover(), "us-east-2", down(*every))
    assert (answer.values, answer.healthy) == (["a.us-east-1.example.com"], False)


def multivalue(n: int) -> dict:
    return doc({"mv": {"RuleType": "multivalue", "Items": [
        {"EndpointReference": f"e{i}", "HealthCheck": f"hc{i}"} for i in range(n)]}},
        {f"e{i}": {"Type": "value", "Value": f"192.0.2.{i}"} for i in range(n)}, "mv", record_type="A")


def test_multivalue_answers_with_up_to_eight_healthy_values():
    answer = evaluate(multivalue(10), "eu-west-1", down("hc0", "hc1", "hc2", "hc3"), random.Random(5))
    assert answer.multivalue
    assert sorted(answer.values) == sorted(f"192.0.2.{i}" for i in range(4, 10))
    many = evaluate(multivalue(12), "eu-west-1", ALL_UP, random.Random(5))
    assert len(many.values) == 8 and len(set(many.values)) == 8


def test_multivalue_with_nothing_healthy_fails_open():
    answer = evaluate(multivalue(3), "eu-west-1", lambda hc: False, random.Random(5))
    assert sorted(answer.values) == ["192.0.2.0", "192.0.2.1", "192.0.2.2"]
    assert not answer.healthy


GEO = doc({"geo": {"RuleType": "geo", "Locations": [
    {"EndpointReference": "virginia", "Country": "US", "Subdivision": "VA", "HealthCheck": "hc-va"},
    {"EndpointReference": "us", "Country": "US", "HealthCheck": "hc-us"},
    {"EndpointReference": "europe", "Continent": "EU"},
    {"EndpointReference": "world", "Country": "*"}]}},
    {e: {"Type": "value", "Value": f"{e}.example.com"} for e in ("virginia", "us", "europe", "world")},
    "geo")


@pytest.mark.parametrize(("client", "health", "endpoint"), [
    ("us-east-1", ALL_UP, "virginia"),  # the smallest matching area wins
    ("us-west-2", ALL_UP, "us"),
    ("eu-north-1", ALL_UP, "europe"),
    ("ap-southeast-1", ALL_UP, "world"),
    ("us-east-1", down("hc-va"), "us"),  # unhealthy: the next larger matching area
    ("us-east-1", down("hc-va", "hc-us"), "world"),
])
def test_geo_rule(client, health, endpoint):
    assert evaluate(GEO, client, health).values == [f"{endpoint}.example.com"]


def test_geo_rule_without_a_default_has_no_answer_for_unmatched_clients():
    d = json.loads(json.dumps(GEO))
    d["Rules"]["geo"]["Locations"].pop()
    assert evaluate(d, "ap-southeast-1", ALL_UP).values == []


def test_geoproximity_bias_expands_a_regions_area():
    def geoprox(bias: int) -> dict:
        return doc({"gp": {"RuleType": "geoproximity", "GeoproximityLocations": [
            {"EndpointReference": "dublin", "Region": "aws:route53:eu-west-1", "Bias": str(bias)},
            {"EndpointReference": "zurich", "Latitude": "47.37", "Longitude": "8.54"}]}},
            {"dublin": host("eu-west-1"), "zurich": host("eu-central-2")}, "gp")

    assert evaluate(geoprox(0), "eu-south-1", ALL_UP).region == "eu-central-2"  # Milan: Zurich is near
    assert evaluate(geoprox(90), "eu-south-1", ALL_UP).region == "eu-west-1"
    assert evaluate(geoprox(0), "eu-west-2", ALL_UP).region == "eu-west-1"  # London: Dublin is near
    # a negative bias shrinks Dublin's area: 464 km / (1 - 0.5) = 928 km > 780 km to Zurich
    assert evaluate(geoprox(-50), "eu-west-2", ALL_UP).region == "eu-central-2"


def test_start_endpoint_and_json_string_documents():
    d = {"AWSPolicyFormatVersion": "2023-05-09", "RecordType": "A", "StartEndpoint": "only",
         "Endpoints": {"only": {"Type": "value", "Value": "10.0.0.2"}}}
    answer = evaluate(json.dumps(d), "eu-west-1", ALL_UP)
    assert (answer.values, answer.path) == (["10.0.0.2"], [])
    assert policy.explain(answer) == "(start endpoint): 10.0.0.2 (?)"


def test_explain_shows_path_regions_and_fail_open():
    line = policy.explain(evaluate(LATENCY, "eu-west-2", lambda hc: False))
    assert line.startswith("nearest: api-eu-west-1.") and "(eu-west-1)" in line and "failed open" in line


# ------------------------------------------------------------------ validation

AWS_EXAMPLES = [
    COMBINED,
    {"AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A", "StartRule": "site_switch",
     "Endpoints": {"my_elb": {"Type": "elastic-load-balancer", "Value": "elb-111111.us-east-1.elb.amazonaws.com"},
                   "site_down_banner": {"Type": "s3-website", "Region": "us-east-1", "Value": "www.example.com"}},
     "Rules": {"site_switch": {"RuleType": "failover", "Primary": {"EndpointReference": "my_elb"},
                               "Secondary": {"EndpointReference": "site_down_banner"}}}},
    {"AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A", "StartRule": "geoprox-rule",
     "Endpoints": {"aws-us-west-1-region": {"Type": "elastic-load-balancer", "Value": "elb-123456.us-east-1.elb.amazonaws.com"},
                   "london-data-center": {"Type": "value", "Value": "192.0.2.1"}},
     "Rules": {"geoprox-rule": {"RuleType": "geoproximity", "GeoproximityLocations": [
         {"EndpointReference": "aws-us-west-1-region", "Region": "aws:route53:us-west-1", "Bias": "10",
          "HealthCheck": "11111111-1111-1111-1111-111111111111"},
         {"EndpointReference": "london-data-center", "Latitude": "51.50", "Longitude": "-0.16", "Bias": "0",
          "HealthCheck": "22222222-2222-2222-2222-222222222222"}]}}},
    {"AWSPolicyFormatVersion": "2023-05-09", "RecordType": "A", "StartRule": "geoprox-rule",
     "Endpoints": {"aws-us-west-1-region": {"Type": "elastic-load-balancer", "Value": "elb-123456.us-west-1.elb.amazonaws.com"},
                   "aws-us-east-1-atl-local-zone": {"Type": "elastic-load-balancer", "Value": "elb-123456.us-east-1.elb.amazonaws.com"},
                   "london-data-center": {"Type": "value", "Value": "192.0.2.1"}},
     "Rules": {"geoprox-rule": {"RuleType": "geoproximity", "GeoproximityLocations": [
         {"EndpointReference": "aws-us-west-1-region",
          "Location": {"Type": "Region", "LocationName": "aws:route53:us-west-1"}, "Bias": "-10"},
         {"EndpointReference": "aws-us-east-1-atl-local-zone",
          "Location": {"Type": "LocalZone", "LocationName": "aws:route53:us-east-1-atl-1a"}, "Bias": "10"},
         {"EndpointReference": "london-data-center",
          "Location": {"Type": "Coordinate", "Latitude": "51.50", "Longitude": "-0.16"}, "Bias": "0"}]}}},
    {"AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A", "StartRule": "geo_dest",
     "Endpoints": {"english": {"Type": "value", "Value": "192.0.2.1"}, "french": {"Type": "value", "Value": "192.0.2.2"}},
     "Rules": {"geo_dest": {"RuleType": "geo", "Locations": [
         {"EndpointReference": "english", "Country": "*"},
         {"EndpointReference": "french", "Country": "FR", "IsDefault": False}]}}},
    LATENCY, FAILOVER, GEO, multivalue(3), weighted([("a", 1, "hc")]),
]


@pytest.mark.parametrize("document", AWS_EXAMPLES)
def test_documented_examples_are_valid(document):
    assert validate(document) == []
    assert evaluate(document, "us-east-1", ALL_UP).values


def broken(**changes) -> dict:
    d = json.loads(json.dumps(LATENCY))
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = d
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        if value is None:
            del target[leaf]
        else:
            target[leaf] = value
    return d


REGIONS_0 = "Rules__nearest__Regions__0__"


@pytest.mark.parametrize(("document", "problem"), [
    ("{not json", "not valid JSON"),
    (broken(AWSPolicyFormatVersion="2012-10-17"), "AWSPolicyFormatVersion must be one of"),
    (broken(RecordType="ALIAS"), "RecordType must be one of"),
    (broken(StartRule=None), "exactly one of StartEndpoint or StartRule"),
    (broken(StartEndpoint="eu-west-1"), "exactly one of StartEndpoint or StartRule"),
    (broken(StartRule="nope"), "StartRule references unknown rule 'nope'"),
    (broken(**{REGIONS_0 + "EndpointReference": "ghost"}), "unknown endpoint 'ghost'"),
    (broken(**{REGIONS_0 + "RuleReference": "ghost"}), "exactly one of EndpointReference or RuleReference"),
    (broken(**{REGIONS_0 + "Region": "eu-west-9"}), "Region must be a known AWS region code"),
    (broken(**{REGIONS_0 + "EvaluateTargetHealth": "maybe"}), "EvaluateTargetHealth must be true or false"),
    (broken(Rules__nearest__RuleType="random"), "RuleType must be one of"),
    (broken(Rules__nearest__Regions=[]), "need a non-empty Regions list"),
    (broken(**{"Endpoints__eu-west-1__Type": "lambda"}), "Type must be one of"),
    (broken(**{"Endpoints__eu-west-1__Value": "not a host!"}), "not a valid domain name"),
    (dict(FAILOVER, Endpoints={"main": {"Type": "value", "Value": "300.1.1.1"},
                               "standby": {"Type": "value", "Value": "192.0.2.2"}}), "not a valid IPv4 address"),
    (weighted([("a", 256, None)]), "Weight must be an integer between 0 and 255"),
    (dict(multivalue(2), Rules={"mv": {"RuleType": "multivalue", "Items": [{"RuleReference": "mv"}]}}),
     "multivalue items take an EndpointReference"),
    (doc({"x": {"RuleType": "failover", "Primary": {"RuleReference": "y"}, "Secondary": {"EndpointReference": "e"}},
          "y": {"RuleType": "failover", "Primary": {"RuleReference": "x"}, "Secondary": {"EndpointReference": "e"}}},
         {"e": host("eu-west-1")}, "x"), "cycle: x -> y -> x"),
    (doc({"f": {"RuleType": "failover", "Primary": {"EndpointReference": "e"}}}, {"e": host("eu-west-1")}, "f"),
     "failover rules need a Secondary"),
    (doc({"g": {"RuleType": "geo", "Locations": [{"EndpointReference": "e", "Country": "*"},
                                                 {"EndpointReference": "e", "IsDefault": True}]}},
         {"e": host("eu-west-1")}, "g"), "only one location may be the default"),
    (doc({"g": {"RuleType": "geo", "Locations": [{"EndpointReference": "e", "Continent": "XX"}]}},
         {"e": host("eu-west-1")}, "g"), "Continent must be one of"),
    (doc({"p": {"RuleType": "geoproximity", "GeoproximityLocations": [
        {"EndpointReference": "e", "Location": {"Type": "Region", "LocationName": "aws:route53:eu-west-1"}}]}},
         {"e": host("eu-west-1")}, "p"), "Location belongs to version 2023-05-09"),
    (doc({"p": {"RuleType": "geoproximity", "GeoproximityLocations": [
        {"EndpointReference": "e", "Latitude": "51.501", "Longitude": "-0.16"}]}},
         {"e": host("eu-west-1")}, "p"), "Latitude takes at most two decimals"),
    (doc({"p": {"RuleType": "geoproximity", "GeoproximityLocations": [
        {"EndpointReference": "e", "Region": "aws:route53:eu-west-1", "Bias": 100}]}},
         {"e": host("eu-west-1")}, "p"), "Bias must be an integer between -99 and 99"),
    (dict(COMBINED, RecordType="CNAME"), "elastic-load-balancer endpoints need RecordType A or AAAA"),
])
def test_validate_reports_each_problem(document, problem):
    problems = validate(document)
    assert any(problem in p for p in problems), problems
    with pytest.raises(PolicyError) as info:
        evaluate(document, "eu-west-1", ALL_UP)
    assert info.value.problems == problems


def test_unknown_client_region_is_rejected():
    with pytest.raises(ValueError, match="unknown AWS region 'eu-west-7'"):
        evaluate(LATENCY, "eu-west-7", ALL_UP)
