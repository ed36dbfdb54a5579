"""Every routing policy on the local cloud, as a user gets it: declared in samconfig's routing
environment, deployed by `globalctl rollout` (or `sam deploy --config-env routing` with `globalctl
params routing`), then clients sent through the global entry from several locations. Each policy
is held to where it must send them, with every region healthy, during an outage, and with a region
drained; `globalctl traffic show` must agree with the entry; `traffic shift` must move a measured
share and undo itself when an alarm fires.

The tests run in order on one cloud (v1 rolled out to euw1, use1 and apse1); each declares its own
policy first.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from tests.e2e.conftest import FAST, globalctl_bin, http, in_background, rolled_out, wait_until

pytestmark = pytest.mark.slow

NAME = "api.global-backend.example"
EU, AMERICAS, ASIA = ("eu-west-2", "eu-central-1"), ("us-west-2", "sa-east-1"), ("ap-northeast-1", "ap-south-1")
LOCATIONS = (*EU, *AMERICAS, *ASIA, "af-south-1")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory):
    yield from rolled_out(tmp_path_factory, "policies")


def declare(cloud, policy: str) -> None:
    """Write the policy into samconfig's routing environment, as a user would."""
    text = cloud.config.read_text()
    text = re.sub(r'(\[routing\.deploy\.parameters\][^\[]*?parameter_overrides = ")RoutingMode=traffic-policy[^"]*?'
                  r'(RecordName=)', lambda m: f"{m.group(1)}RoutingMode=traffic-policy {policy} {m.group(2)}", text)
    assert policy in text
    cloud.config.write_text(text)


def deploy_routing(cloud) -> None:
    cloud.deploy("routing", cloud.params("routing"))


def routed(cloud, location: str) -> str | None:
    response = http("GET", f"{cloud.state['global_url']}/health", headers={"X-Client-Location": location})
    return response.headers.get("x-routed-to") if response.status == 200 else None


def shown(cloud, *locations: str) -> dict[str, dict]:
    args = [arg for location in locations for arg in ("--from", location)]
    result = cloud.cli("traffic", "show", "--json", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return {entry["from"]: entry for entry in json.loads(result.stdout)["locations"]}


def agrees(cloud, locations=LOCATIONS) -> dict[str, str]:
    """Where the entry sends each location, after checking `traffic show` says the same."""
    show = shown(cloud, *locations)
    actual = {location: routed(cloud, location) for location in locations}
    for location in locations:
        assert list(show[location]["shares"]) == [actual[location]], (location, show[location], actual[location])
    return actual


def outage(cloud, env: str):
    cloud.control("fault", {"env": env, "kind": "outage"})


def heal(cloud, env: str, location: str, region: str) -> None:
    cloud.control("heal", {"env": env})
    wait_until(lambda: routed(cloud, location) == region, 30, f"{location} back to {region}")


def test_1_geolocation_from_samconfig_through_rollout(cloud):
    declare(cloud, "RoutingPolicy=geolocation GeoLocations=euw1:eu+GB,use1:na+sa,apse1:as+oc GeoDefault=use1")
    result = cloud.cli("rollout", "--release", "v1", *FAST)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert agrees(cloud) == {"eu-west-2": "eu-west-1", "eu-central-1": "eu-west-1", "us-west-2": "us-east-1",
                             "sa-east-1": "us-east-1", "ap-northeast-1": "ap-southeast-1",
                             "ap-south-1": "ap-southeast-1", "af-south-1": "us-east-1"}
    outage(cloud, "euw1")
    try:  # Europe falls back to the default region, never to the nearer-looking Asia; Asia stays
        wait_until(lambda: routed(cloud, "eu-west-2") == "us-east-1", 30, "Europe to move to the default region")
        moved = agrees(cloud)
        assert {moved[loc] for loc in EU} == {"us-east-1"} and {moved[loc] for loc in ASIA} == {"ap-southeast-1"}
    finally:
        heal(cloud, "euw1", "eu-west-2", "eu-west-1")


def test_2_geolocation_drain_sends_a_region_s_clients_where_the_policy_says_next(cloud):
    drained = cloud.cli("failover", "drain", "euw1")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    try:
        assert {routed(cloud, loc) for loc in EU} == {"us-east-1"}
        assert agrees(cloud)["ap-northeast-1"] == "ap-southeast-1"
        outage(cloud, "use1")
        outage(cloud, "apse1")
        # Nothing serving is healthy: the drained region is the last resort, for everyone.
        wait_until(lambda: all(routed(cloud, loc) == "eu-west-1" for loc in LOCATIONS), 30,
                   "every client to reach the drained but healthy euw1")
        assert all(entry["path"][:2] == ["start", "drained-last-resort"] for entry in shown(cloud, *LOCATIONS).values())
    finally:
        cloud.control("heal", {"env": "all"})
        restored = cloud.cli("failover", "restore", "euw1")
        assert restored.returncode == 0, restored.stdout + restored.stderr
    wait_until(lambda: routed(cloud, "eu-west-2") == "eu-west-1" and routed(cloud, "ap-south-1") == "ap-southeast-1",
               30, "the routing back to the policy")


def test_3_failover_chain_sends_everyone_to_the_primary_then_the_next(cloud):
    declare(cloud, "RoutingPolicy=failover FailoverChain=apse1,euw1,use1")
    deploy_routing(cloud)
    assert set(agrees(cloud).values()) == {"ap-southeast-1"}
    outage(cloud, "apse1")
    try:
        wait_until(lambda: routed(cloud, "us-west-2") == "eu-west-1", 30, "everyone to move to euw1")
        assert set(agrees(cloud).values()) == {"eu-west-1"}
    finally:
        heal(cloud, "apse1", "us-west-2", "ap-southeast-1")
    # A drained primary: everyone to the next in the chain; restored, everyone back.
    drained = cloud.cli("failover", "drain", "apse1")
    assert drained.returncode == 0 and "the routing stopped sending it traffic" in drained.stdout, drained.stderr
    assert set(agrees(cloud).values()) == {"eu-west-1"}
    restored = cloud.cli("failover", "restore", "apse1")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert set(agrees(cloud).values()) == {"ap-southeast-1"}


def test_4_geolocation_groups_keep_europe_in_europe_then_fall_back_to_the_nearest(cloud):
    declare(cloud, "RoutingPolicy=geolocation-latency LatencyGroups=eu:euw1,rest:use1+apse1 GeoLocations=eu:eu "
                   "GeoDefault=rest")
    deploy_routing(cloud)
    # Outside Europe, the nearer of use1 and apse1 (Cape Town is nearer Singapore than Virginia).
    assert agrees(cloud) == {"eu-west-2": "eu-west-1", "eu-central-1": "eu-west-1", "us-west-2": "us-east-1",
                             "sa-east-1": "us-east-1", "ap-northeast-1": "ap-southeast-1",
                             "ap-south-1": "ap-southeast-1", "af-south-1": "ap-southeast-1"}
    outage(cloud, "use1")
    try:  # the rest of the world moves within its group; Europe is not touched
        wait_until(lambda: routed(cloud, "us-west-2") == "ap-southeast-1", 30, "the Americas to move to apse1")
        moved = agrees(cloud)
        assert {moved[loc] for loc in EU} == {"eu-west-1"}
        assert {moved[loc] for loc in (*AMERICAS, "af-south-1")} == {"ap-southeast-1"}
    finally:
        heal(cloud, "use1", "us-west-2", "us-east-1")


REQUESTS = 400
# A share measured over 400 requests: the binomial standard deviation is at most 2.5 points; 4 of them.
TOLERANCE = 0.10


def measured_share(cloud, location: str, region: str) -> float:
    counts = Counter(routed(cloud, location) for _ in range(REQUESTS))
    return counts[region] / REQUESTS


def test_5_weighted_shares_and_a_shift_in_steps(cloud):
    declare(cloud, "RoutingPolicy=weighted RoutingWeights=euw1:1,use1:1,apse1:2")
    deploy_routing(cloud)
    show = shown(cloud, "eu-west-2")["eu-west-2"]
    assert show["shares"] == {"ap-southeast-1": 0.5, "eu-west-1": 0.25, "us-east-1": 0.25}
    assert abs(measured_share(cloud, "eu-west-2", "ap-southeast-1") - 0.5) < TOLERANCE
    shifted = cloud.cli("traffic", "shift", "euw1", "--to", "80", "--step", "30", "--bake", "1", "--json")
    assert shifted.returncode == 0, shifted.stdout + shifted.stderr
    report = json.loads(shifted.stdout)
    assert [round(step["share"]) for step in report["steps"]] == [52, 80] and report["undone"] is None
    assert abs(shown(cloud, "eu-west-2")["eu-west-2"]["shares"]["eu-west-1"] - 0.8) < 0.01
    assert abs(measured_share(cloud, "us-west-2", "eu-west-1") - 0.8) < TOLERANCE


def test_6_a_shift_stops_and_undoes_itself_when_an_alarm_fires(cloud):
    before = json.loads(cloud.cli("traffic", "show", "--json", "--from", "eu-west-2").stdout)["weights"]
    alarm = cloud.stack_outputs("global-backend", "us-east-1")["AlarmNames"].split(",")[0]
    command = [globalctl_bin(), "--config", str(cloud.config), "traffic", "shift", "use1", "--to", "60",
               "--step", "20", "--bake", "20"]
    with in_background(command, cloud.project, cloud.env) as (shift, lines):
        wait_until(lambda: any("alarms watched" in line for line in lines), 60, "the first step of the shift")
        cloud.client("cloudwatch", "us-east-1").set_alarm_state(
            AlarmName=alarm, StateValue="ALARM", StateReason="test: the shifted region misbehaves")
        shift.wait(timeout=120)
    stderr = shift.stderr.read()
    assert shift.returncode == 1 and len(lines) == 2, (lines, stderr)
    assert "traffic shift of use1 undone" in stderr and "test: the shifted region misbehaves" in stderr
    after = json.loads(cloud.cli("traffic", "show", "--json", "--from", "eu-west-2").stdout)["weights"]
    assert after == before


def test_7_records_mode_routes_every_policy_as_the_traffic_policy_did(cloud):
    """The same policy as plain record sets (a nested stack of guard and rule records over custom
    domains): clients land where the traffic policy sent them, and an outage moves them alike."""
    domain = "api.global-backend.example"
    for env, region in (("euw1", "eu-west-1"), ("use1", "us-east-1"), ("apse1", "ap-southeast-1")):
        cloud.deploy(env, "TableName=global-items", "Release=v1", f"DomainName={domain}",
                     f"CertificateArn=arn:aws:acm:{region}:123456789012:certificate/local-test")
    declare(cloud, "RoutingPolicy=geolocation-latency LatencyGroups=eu:euw1,rest:use1+apse1 GeoLocations=eu:eu "
                   "GeoDefault=rest")
    cloud.config.write_text(cloud.config.read_text().replace("RoutingMode=traffic-policy", "RoutingMode=latency-records"))
    deploy_routing(cloud)
    route53 = cloud.client("route53", "us-east-1")
    assert route53.list_traffic_policy_instances()["TrafficPolicyInstances"] == []
    answer = cloud.control("resolve", {"name": NAME, "from": "eu-west-2"})
    assert answer["via"] == "record sets" and answer["region"] == "eu-west-1"
    through = http("GET", f"{cloud.state['global_url']}/health", headers={"X-Client-Location": "eu-west-2"})
    assert through.status == 200, (through.status, through.body, answer)
    assert agrees(cloud) == {"eu-west-2": "eu-west-1", "eu-central-1": "eu-west-1", "us-west-2": "us-east-1",
                             "sa-east-1": "us-east-1", "ap-northeast-1": "ap-southeast-1",
                             "ap-south-1": "ap-southeast-1", "af-south-1": "ap-southeast-1"}
    outage(cloud, "euw1")
    try:  # every EU region down: Europe falls back to the default group, by latency within it
        wait_until(lambda: routed(cloud, "eu-west-2") not in (None, "eu-west-1"), 30, "Europe to leave euw1")
        moved = agrees(cloud)
        assert {moved[loc] for loc in EU} <= {"us-east-1", "ap-southeast-1"}
    finally:
        heal(cloud, "euw1", "eu-west-2", "eu-west-1")
    drained = cloud.cli("failover", "drain", "euw1")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert {routed(cloud, loc) for loc in EU} <= {"us-east-1", "ap-southeast-1"}
    restored = cloud.cli("failover", "restore", "euw1")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert agrees(cloud)["eu-west-2"] == "eu-west-1"
