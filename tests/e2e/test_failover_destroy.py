"""`globalctl failover` and `globalctl destroy` end to end on the local cloud: v1 rolled out to
every region, then regions drained and restored as the global entry sees them, then the whole
app destroyed (refused while deletion protection is on, done with --force).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.e2e.conftest import http, rolled_out

pytestmark = pytest.mark.slow

REGIONS = {"euw1": "eu-west-1", "use1": "us-east-1", "apse1": "ap-southeast-1"}
STACKS = {"global-backend-routing": ["us-east-1"], "global-backend": list(REGIONS.values()),
          "global-backend-table": ["eu-west-1"]}


def globalctl(cloud, *args: str):
    return cloud.cli(*args)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory):
    yield from rolled_out(tmp_path_factory, "failover")


def routed_from(cloud, location: str) -> str:
    """The region the global entry sends a client at `location` to (its /health must answer)."""
    answer = http("GET", f"{cloud.state['global_url']}/health", headers={"X-Client-Location": location})
    assert answer.status == 200 and answer.json()["release"] == "v1", answer.body
    return answer.headers["x-routed-to"]


def serving(cloud) -> dict[str, bool]:
    report = json.loads(globalctl(cloud, "status", "--json", "--no-lag").stdout)
    return {env: r["serving"] for env, r in report["regions"].items()}


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_1_a_drained_region_gets_no_traffic_from_the_global_entry(cloud):
    assert routed_from(cloud, "eu-west-2") == "eu-west-1"
    result = globalctl(cloud, "failover", "drain", "euw1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("drained euw1 (eu-west-1) in ") and len(result.stdout.splitlines()) == 1
    assert "the routing stopped sending it traffic after" in result.stdout
    assert routed_from(cloud, "eu-west-2") in ("us-east-1", "ap-southeast-1")
    assert serving(cloud) == {"euw1": False, "use1": True, "apse1": True}


def test_2_the_last_serving_region_is_never_drained(cloud):
    drained = globalctl(cloud, "failover", "drain", "use1")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    for force in ((), ("--force",)):
        refused = globalctl(cloud, "failover", "drain", "apse1", *force)
        assert one_error_line(refused).startswith("error: apse1 is the last serving region")
    assert serving(cloud) == {"euw1": False, "use1": False, "apse1": True}
    assert routed_from(cloud, "eu-west-2") == "ap-southeast-1"


def test_3_restore_brings_a_region_back_into_the_routing(cloud):
    for env in ("use1", "euw1"):
        result = globalctl(cloud, "failover", "restore", env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith(f"restored {env} ({REGIONS[env]}) in ")
    assert routed_from(cloud, "eu-west-2") == "eu-west-1"
    assert routed_from(cloud, "us-west-2") == "us-east-1"
    assert serving(cloud) == {env: True for env in REGIONS}


def test_4_destroy_refuses_while_protected_and_force_deletes_everything(cloud):
    refused = globalctl(cloud, "destroy", "--yes")
    assert refused.returncode == 1
    assert one_error_line(refused).startswith("error: deletion protection is on (table global-items in ")
    assert routed_from(cloud, "eu-west-2") == "eu-west-1"  # nothing was touched

    result = globalctl(cloud, "destroy", "--yes", "--force")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    steps = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")]
    assert steps == ["table", "routing", "apse1", "use1", "euw1", "table", "table"], result.stdout
    assert "deletion protection off (DeletionProtection=false)" in result.stdout
    assert "global-items (us-east-1, ap-southeast-1, eu-west-1): deleted" in result.stdout
    for name, regions in STACKS.items():
        for region in regions:
            with pytest.raises(ClientError, match="does not exist"):
                cloud.client("cloudformation", region).describe_stacks(StackName=name)
    for region in REGIONS.values():
        dynamodb = cloud.client("dynamodb", region)
        with pytest.raises(dynamodb.exceptions.ResourceNotFoundException):
            dynamodb.describe_table(TableName="global-items")
        assert cloud.client("lambda", region).list_functions()["Functions"] == []
