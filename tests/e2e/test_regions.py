"""Regions come and go on a running deployment, on the local cloud: a fourth region added by adding
one samconfig environment and running `globalctl rollout`, a region whose add fails, and a region
retired with `globalctl region remove`; the data of the others is never touched.
"""

from __future__ import annotations

import json
import re

import pytest

from globalctl import localcloud
from localcloud import lifecycle
from tests.e2e.conftest import FAST, http, running_cloud

pytestmark = pytest.mark.slow

REGIONS = {"euw1": "eu-west-1", "use1": "us-east-1", "apse1": "ap-southeast-1"}
NEW_ENV = """
[{env}.deploy.parameters]
stack_name = "global-backend"
region = "{region}"
capabilities = "CAPABILITY_IAM CAPABILITY_AUTO_EXPAND"
confirm_changeset = false
fail_on_empty_changeset = false
resolve_s3 = true
parameter_overrides = "TableName=global-items Release=unreleased{extra}"
tags = "app=global-backend"
"""


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory):
    # Metric periods at 0.05x: a retirement waits two idle periods of its stream processor (6 s here).
    with running_cloud(tmp_path_factory, "regions", alarm_period_scale=0.05) as cloud:
        result = cloud.cli("rollout", "--release", "v1", *FAST)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        yield cloud


def add_env(cloud, env: str, region: str, extra: str = "") -> None:
    """One samconfig environment, inserted before the routing's (its place in a user's file)."""
    text = cloud.config.read_text()
    block = NEW_ENV.format(env=env, region=region, extra=extra)
    cloud.config.write_text(text.replace("[routing.deploy.parameters]", block.lstrip() + "\n[routing.deploy.parameters]"))


def drop_env(cloud, env: str) -> None:
    text = cloud.config.read_text()
    text, count = re.subn(rf"\[{env}\.deploy\.parameters\].*?(?=\n\[)", "", text, flags=re.S)
    assert count == 1
    cloud.config.write_text(text)


def state(cloud) -> dict:
    return lifecycle.running_state(localcloud.state_dir(cloud.project))


def items(cloud, region: str) -> dict[str, dict]:
    table = cloud.client("dynamodb", region)
    found, start = {}, {}
    while True:
        page = table.scan(TableName="global-items", ConsistentRead=True, **start)
        found.update({i["id"]["S"]: i for i in page["Items"]})
        if "LastEvaluatedKey" not in page:
            return found
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def routed_to(cloud, location: str) -> str:
    answer = http("GET", f"{cloud.state['global_url']}/health", headers={"X-Client-Location": location})
    assert answer.status == 200, answer.body
    return answer.headers["x-routed-to"]


def test_1_a_fourth_region_added_with_one_environment_and_a_rollout_serves_every_earlier_item(cloud):
    for n in range(30):
        env = ("euw1", "use1", "apse1")[n % 3]
        written = http("PUT", f"{cloud.api(env)}/items/before-{n}", {"data": {"n": n}})
        assert written.status in (200, 201), written.body
    assert routed_to(cloud, "us-west-2") == "us-east-1"
    add_env(cloud, "usw2", "us-west-2")

    plan = cloud.cli("plan", "--release", "v2", "--bake", "0")
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-2000:]
    assert "new usw2 (us-west-2)" in plan.stdout and "canary euw1" in plan.stdout

    result = cloud.cli("rollout", "--release", "v2", *FAST)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]

    # The local cloud serves the new region without a restart, on a port of its own.
    served = state(cloud)
    assert served["pid"] == cloud.state["pid"] and "usw2" in served["regions"]
    api = served["regions"]["usw2"]["api_url"]
    assert served["ports"]["usw2"] not in {port for env, port in served["ports"].items() if env != "usw2"}
    # Every item written before the region existed is in its replica, and readable through its API.
    before = {k: v for k, v in items(cloud, "eu-west-1").items() if k.startswith("before-")}
    assert len(before) == 30 and items(cloud, "us-west-2") == items(cloud, "eu-west-1")
    for n in (0, 1, 2, 29):
        answer = http("GET", f"{api}/items/before-{n}")
        assert answer.status == 200 and answer.json()["data"] == {"n": n}
    assert http("GET", f"{api}/items/globalctl-backfill-v2").status == 404  # the gate's item, cleaned up
    replicas = cloud.client("dynamodb", "eu-west-1").describe_table(TableName="global-items")["Table"]["Replicas"]
    assert {r["RegionName"]: r["ReplicaStatus"] for r in replicas}["us-west-2"] == "ACTIVE"
    # Clients nearest it go there; the others stay where they were.
    assert routed_to(cloud, "us-west-2") == "us-west-2"
    assert routed_to(cloud, "eu-west-2") == "eu-west-1" and routed_to(cloud, "us-east-2") == "us-east-1"
    report = json.loads(cloud.cli("status", "--json").stdout)
    assert report["regions"]["usw2"]["release"] == "v2" and report["regions"]["usw2"]["serving"] is True
    assert all(r["healthy"] for r in report["regions"].values()), report
    local = json.loads(cloud.cli("local", "status", "--json").stdout)
    assert local["regions"]["usw2"] == {"region": "us-west-2", "api_url": api, "healthy": True, "fault": None}
    # Afterwards it is a region like the others: planned as one, drained and restored as one.
    again = cloud.cli("plan", "--release", "v2b", "--bake", "0")
    assert again.returncode == 0 and "new usw2" not in again.stdout and "usw2 (us-west-2)" in again.stdout
    drained = cloud.cli("failover", "drain", "usw2")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert routed_to(cloud, "us-west-2") == "us-east-1"
    restored = cloud.cli("failover", "restore", "usw2")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert routed_to(cloud, "us-west-2") == "us-west-2"


def test_2_a_region_whose_add_fails_is_deleted_never_routed_and_the_others_stay_as_they_were(cloud):
    add_env(cloud, "euc1", "eu-central-1", " ServiceSwitch=out-of-service")
    result = cloud.cli("rollout", "--release", "v3", *FAST)
    assert result.returncode != 0
    assert "euc1" in result.stdout + result.stderr
    left = cloud.client("cloudformation", "eu-central-1").list_stacks()["StackSummaries"]
    assert {s["StackStatus"] for s in left if s["StackName"] == "global-backend"} <= {"DELETE_COMPLETE"}
    routing = cloud.client("cloudformation", "us-east-1").describe_stacks(StackName="global-backend-routing")
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in routing["Stacks"][0]["Parameters"]}
    assert "euc1" not in parameters["Envs"].split(",")
    for env in ("euw1", "use1", "apse1", "usw2"):
        assert http("GET", f"{state(cloud)['regions'][env]['api_url']}/health").json()["release"] == "v2"
    assert routed_to(cloud, "eu-central-1") == "eu-west-1"
    # Its replica stays (a retry copies nothing again); abandoning the region removes it.
    replicas = cloud.client("dynamodb", "eu-west-1").describe_table(TableName="global-items")["Table"]["Replicas"]
    assert "eu-central-1" in {r["RegionName"] for r in replicas}
    abandoned = cloud.cli("region", "remove", "euc1", "--yes")
    assert abandoned.returncode == 0, abandoned.stdout[-3000:] + abandoned.stderr[-2000:]
    replicas = cloud.client("dynamodb", "eu-west-1").describe_table(TableName="global-items")["Table"]["Replicas"]
    assert "eu-central-1" not in {r["RegionName"] for r in replicas}
    drop_env(cloud, "euc1")


def one_line(result) -> str:
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_3_refused_retirements_answer_one_line_and_touch_nothing(cloud):
    home = cloud.cli("region", "remove", "euw1", "--yes")
    assert home.returncode == 2 and "home region" in one_line(home)
    unknown = cloud.cli("region", "remove", "nowhere", "--yes")
    assert unknown.returncode == 2 and one_line(unknown).startswith("error: unknown region env")
    assert routed_to(cloud, "eu-west-2") == "eu-west-1"
    bad = http("POST", f"{cloud.state['endpoint']}/_localcloud/regions", {"env": "x", "region": "moon-1"})
    assert bad.status == 400 and "unknown AWS region" in bad.json()["message"]
    taken = http("POST", f"{cloud.state['endpoint']}/_localcloud/regions", {"env": "other", "region": "eu-west-1"})
    assert taken.status == 400 and "served already, as region env 'euw1'" in taken.json()["message"]


def test_4_retiring_the_added_region_keeps_every_item_in_the_other_three(cloud):
    for n in range(10):
        assert http("PUT", f"{state(cloud)['regions']['usw2']['api_url']}/items/from-usw2-{n}",
                    {"data": {"n": n}}).status in (200, 201)
    result = cloud.cli("region", "remove", "usw2", "--yes")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "delete its [usw2.deploy.parameters] block" in result.stdout
    assert routed_to(cloud, "us-west-2") == "us-east-1"
    assert cloud.client("cloudformation", "us-east-1").describe_stacks(
        StackName="global-backend-routing")["Stacks"][0]["Parameters"]
    replicas = cloud.client("dynamodb", "eu-west-1").describe_table(TableName="global-items")["Table"]["Replicas"]
    assert sorted(r["RegionName"] for r in replicas) == ["ap-southeast-1", "us-east-1"]
    assert "global-items" not in cloud.client("dynamodb", "us-west-2").list_tables()["TableNames"]
    eu = items(cloud, "eu-west-1")
    assert {f"from-usw2-{n}" for n in range(10)} <= set(eu) and len([k for k in eu if k.startswith("before-")]) == 30
    assert items(cloud, "us-east-1") == eu == items(cloud, "ap-southeast-1")
    kept = json.loads((cloud.project / ".globalctl" / "retired" / "usw2" / "dead-letters.json").read_text())
    assert kept == []  # nothing failed in usw2: an empty copy, said so
    # Until the block is gone, a rollout would add the region back: refused, one line.
    refused = cloud.cli("rollout", "--release", "v4", *FAST)
    assert refused.returncode == 1 and "delete its [usw2.deploy.parameters] block" in one_line(refused)
    drop_env(cloud, "usw2")
    report = json.loads(cloud.cli("status", "--json").stdout)
    assert set(report["regions"]) == set(REGIONS) and all(r["healthy"] for r in report["regions"].values())
