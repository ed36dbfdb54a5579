"""Resolving names from resource record sets, shaped as boto3 list_resource_record_sets returns them."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from localcloud.route53.records import normalize_name, resolve_records, routing_policy

NAME = "api.global-backend.example."
REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-1")


def down(*ids: str):
    return lambda hc: hc not in ids


ALL_UP = down()


def target(region: str) -> str:
    return f"d-{region}.execute-api.{region}.amazonaws.com."


# What global/routing.yaml creates in latency-records mode.
LATENCY_ALIASES = [
    {"Name": NAME, "Type": "A", "SetIdentifier": f"env-{r}", "Region": r, "HealthCheckId": f"hc-{r}",
     "AliasTarget": {"HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": target(r), "EvaluateTargetHealth": True}}
    for r in REGIONS
]


@pytest.mark.parametrize(("client", "health", "region", "healthy"), [
    ("eu-west-2", ALL_UP, "eu-west-1", True),
    ("us-east-2", ALL_UP, "us-east-1", True),
    ("ap-southeast-2", ALL_UP, "ap-southeast-1", True),
    ("eu-west-2", down("hc-eu-west-1"), "us-east-1", True),
    ("ap-south-1", down("hc-ap-southeast-1"), "eu-west-1", True),
    ("us-west-2", down("hc-us-east-1"), "eu-west-1", True),
    ("eu-west-2", down(*(f"hc-{r}" for r in REGIONS)), "eu-west-1", False),  # fail open: nearest
])
def test_latency_alias_records_with_health_checks(client, health, region, healthy):
    answer = resolve_records(LATENCY_ALIASES, NAME, "A", client, health)
    assert answer.values == [target(region).rstrip(".")]
    assert answer.region == region
    assert answer.path == [f"env-{region}"]
    assert answer.healthy is healthy


def test_alias_target_health_comes_from_alias_health_for_targets_outside_the_zone():
    def alias_health(dns_name: str) -> bool:
        assert not dns_name.endswith(".")
        return "eu-west-1" not in dns_name

    answer = resolve_records(LATENCY_ALIASES, NAME, "A", "eu-west-2", ALL_UP, alias_health=alias_health)
    assert answer.region == "us-east-1"


@pytest.mark.parametrize("name", ["API.Global-Backend.Example", "api.global-backend.example",
                                  "api.global-backend.example."])
def test_names_compare_case_insensitively_with_or_without_trailing_dot(name):
    assert resolve_records(LATENCY_ALIASES, name, "a", "eu-west-1", ALL_UP).region == "eu-west-1"


def test_unknown_name_or_type_has_no_answer():
    assert resolve_records(LATENCY_ALIASES, "www.global-backend.example", "A", "eu-west-1", ALL_UP).values == []
    assert resolve_records(LATENCY_ALIASES, NAME, "AAAA", "eu-west-1", ALL_UP).values == []


FAILOVER = [
    {"Name": "app.example.com.", "Type": "A", "SetIdentifier": "primary", "Failover": "PRIMARY",
     "HealthCheckId": "hc-p", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]},
    {"Name": "app.example.com.", "Type": "A", "SetIdentifier": "secondary", "Failover": "SECONDARY",
     "HealthCheckId": "hc-s", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.2"}]},
]


@pytest.mark.parametrize(("health", "value", "healthy"), [
    (ALL_UP, "192.0.2.1", True),
    (down("hc-p"), "192.0.2.2", True),
    (down("hc-p", "hc-s"), "192.0.2.1", False),
])
def test_failover_records(health, value, healthy):
    answer = resolve_records(list(reversed(FAILOVER)), "app.example.com", "A", "eu-west-1", health)
    assert (answer.values, answer.healthy, answer.ttl) == ([value], healthy, 60)


def weighted(*records: tuple[str, int, str | None]) -> list[dict]:
    return [{"Name": "w.example.com.", "Type": "A", "SetIdentifier": ident, "Weight": weight,
             "TTL": 30, "ResourceRecords": [{"Value": f"198.51.100.{i}"}], **({"HealthCheckId": hc} if hc else {})}
            for i, (ident, weight, hc) in enumerate(records, start=1)]


def draws(records: list[dict], health=ALL_UP, n: int = 3000) -> Counter:
    rng = random.Random(11)
    return Counter(resolve_records(records, "w.example.com", "A", "eu-west-1", health, rng).path[0] for _ in range(n))


def test_weighted_records_follow_the_weights():
    counts = draws(weighted(("blue", 90, None), ("green", 10, None)))
    assert 0.87 < counts["blue"] / 3000 < 0.93


def test_weighted_zero_weight_records_serve_only_when_all_nonzero_are_unhealthy():
    records = weighted(("main", 5, "hc-main"), ("other", 5, "hc-other"), ("spare", 0, "hc-spare"))
    assert set(draws(records, ALL_UP, 500)) == {"main", "other"}
    assert draws(records, down("hc-main"), 200) == Counter(other=200)
    assert draws(records, down("hc-main", "hc-other"), 200) == Counter(spare=200)
    assert set(draws(records, lambda hc: False, 500)) == {"main", "other"}  # fail open, nonzero first


def test_weighted_all_zero_weights_are_equally_likely():
    counts = draws(weighted(("a", 0, None), ("b", 0, None)))
    assert 0.45 < counts["a"] / 3000 < 0.55


def test_alias_to_a_record_group_in_the_zone_inherits_its_health():
    zone = weighted(("main", 5, "hc-main"), ("other", 5, "hc-other")) + [
        {"Name": "svc.example.com.", "Type": "A", "SetIdentifier": "primary", "Failover": "PRIMARY",
         "AliasTarget": {"HostedZoneId": "Z1", "DNSName": "W.example.com.", "EvaluateTargetHealth": True}},
        {"Name": "svc.example.com.", "Type": "A", "SetIdentifier": "secondary", "Failover": "SECONDARY",
         "TTL": 60, "ResourceRecords": [{"Value": "203.0.113.9"}]},
    ]
    healthy = resolve_records(zone, "svc.example.com", "A", "eu-west-1", down("hc-main"), random.Random(1))
    assert healthy.values == ["198.51.100.2"]
    assert healthy.path == ["primary", "other"]
    failed_over = resolve_records(zone, "svc.example.com", "A", "eu-west-1", down("hc-main", "hc-other"))
    assert failed_over.values == ["203.0.113.9"] and failed_over.path == ["secondary"]


def test_cname_answers_a_query_for_another_type_and_wildcards_cover_missing_names():
    zone = [
        {"Name": "www.example.com.", "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": "web.example.net"}]},
        {"Name": "\\052.example.com.", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.80"}]},
    ]
    cname = resolve_records(zone, "WWW.example.com.", "A", "eu-west-1", ALL_UP)
    assert (cname.record_type, cname.values) == ("CNAME", ["web.example.net"])
    assert resolve_records(zone, "anything.example.com", "A", "eu-west-1", ALL_UP).values == ["192.0.2.80"]
    assert normalize_name("\\052.Example.COM.") == "*.example.com"


def test_simple_record_with_several_values_answers_all_of_them():
    zone = [{"Name": "s.example.com.", "Type": "A", "TTL": 60,
             "ResourceRecords": [{"Value": "192.0.2.1"}, {"Value": "192.0.2.2"}]}]
    answer = resolve_records(zone, "s.example.com", "A", "eu-west-1", ALL_UP)
    assert answer.values == ["192.0.2.1", "192.0.2.2"] and not answer.multivalue


def test_multivalue_records_answer_the_healthy_ones():
    zone = [{"Name": "m.example.com.", "Type": "A", "SetIdentifier": f"m{i}", "MultiValueAnswer": True,
             "HealthCheckId": f"hc{i}", "TTL": 60, "ResourceRecords": [{"Value": f"192.0.2.{i}"}]}
            for i in range(4)]
    answer = resolve_records(zone, "m.example.com", "A", "eu-west-1", down("hc1", "hc3"), random.Random(2))
    assert answer.multivalue and sorted(answer.values) == ["192.0.2.0", "192.0.2.2"]


GEO = [
    {"Name": "g.example.com.", "Type": "A", "SetIdentifier": ident, "GeoLocation": geo, "TTL": 60,
     "ResourceRecords": [{"Value": value}], **({"HealthCheckId": hc} if hc else {})}
    for ident, geo, value, hc in [
        ("ohio", {"CountryCode": "US", "SubdivisionCode": "OH"}, "192.0.2.1", "hc-oh"),
        ("us", {"CountryCode": "US"}, "192.0.2.2", None),
        ("asia", {"ContinentCode": "AS"}, "192.0.2.3", None),
        ("default", {"CountryCode": "*"}, "192.0.2.4", None),
    ]
]


@pytest.mark.parametrize(("client", "health", "ident"), [
    ("us-east-2", ALL_UP, "ohio"),
    ("us-east-2", down("hc-oh"), "us"),
    ("us-west-1", ALL_UP, "us"),
    ("ap-northeast-2", ALL_UP, "asia"),
    ("sa-east-1", ALL_UP, "default"),
])
def test_geolocation_records(client, health, ident):
    assert resolve_records(GEO, "g.example.com", "A", client, health).path == [ident]


def test_geoproximity_records_use_the_nearest_biased_location():
    zone = [{"Name": "p.example.com.", "Type": "A", "SetIdentifier": ident, "TTL": 60,
             "GeoProximityLocation": loc, "ResourceRecords": [{"Value": value}]}
            for ident, loc, value in [
                ("virginia", {"AWSRegion": "us-east-1", "Bias": 0}, "192.0.2.1"),
                ("frankfurt", {"Coordinates": {"Latitude": "50.11", "Longitude": "8.68"}, "Bias": 0}, "192.0.2.2"),
            ]]
    assert resolve_records(zone, "p.example.com", "A", "eu-west-3", ALL_UP).path == ["frankfurt"]
    assert resolve_records(zone, "p.example.com", "A", "ca-central-1", ALL_UP).path == ["virginia"]


@pytest.mark.parametrize(("record", "policy"), [
    (LATENCY_ALIASES[0], "latency"), (FAILOVER[0], "failover"), (GEO[0], "geolocation"),
    (weighted(("a", 1, None))[0], "weighted"), ({"Name": "x.", "Type": "A"}, "simple"),
])
def test_routing_policy_of_a_record_set(record, policy):
    assert routing_policy(record) == policy
