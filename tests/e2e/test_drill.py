"""globalctl drill end to end on the local cloud: an outage drill and a drain drill of euw1 through
the global entry, each failing over within its bound, losing no request after the failover window
and no write; every region serves again afterwards. (The outage goes first: `status` judges Route
53 health from the recent check observations, and the failed ones age out during the drain drill.)

Bounds, from the test cloud's settings:
- drain: the routing stack update is synchronous in the local CloudFormation, so the drain takes
  effect when set_weight returns (about a second: three CloudFormation calls); a request already
  routed counts too. DRAIN_BOUND_S = 1 s + one wait_settled poll (2 s) of slack, should the stack
  be seen in progress once.
- outage: Route 53 marks euw1 unhealthy after FailureThreshold (3) failed checks, one per
  RequestInterval (10 s x HEALTH_INTERVAL_SCALE 0.1 = 1 s): 3 s, + 2 s for the first check to come
  round and the entry to answer from the new routing.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    HEALTH_INTERVAL_SCALE,
    globalctl_bin,
    http,
    in_background,
    rolled_out,
    wait_until,
)

pytestmark = pytest.mark.slow

REGIONS = {"euw1": "eu-west-1", "use1": "us-east-1", "apse1": "ap-southeast-1"}
DRAIN_BOUND_S = 1.0 + 2.0
HEALTH_INTERVAL_S, FAILURE_THRESHOLD = 10 * HEALTH_INTERVAL_SCALE, 3  # samconfig's routing overrides
OUTAGE_BOUND_S = HEALTH_INTERVAL_S * FAILURE_THRESHOLD + 2.0


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory):
    yield from rolled_out(tmp_path_factory, "drill")


def globalctl(cloud, *args: str):
    return cloud.cli(*args)


def drill(cloud, *args: str) -> tuple[dict, Path]:
    result = globalctl(cloud, "drill", "euw1", "--json", *args)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    saved = [line.removeprefix("report saved to ") for line in result.stderr.splitlines()
             if line.startswith("report saved to ")]
    assert len(saved) == 1
    return report, Path(saved[0])


def check_common(report: dict, saved: Path, cloud, mode: str) -> None:
    assert saved.parent == cloud.project / ".globalctl" / "drills" and saved.name.startswith("euw1-")
    assert json.loads(saved.read_text()) == report
    assert report["ok"] and report["problems"] == [] and report["mode"] == mode
    # Traffic from euw1's own location reached it before T0, and went elsewhere afterwards.
    assert report["baseline"]["to_region"] > 0
    assert set(report["routed_after_t0"]) - {"eu-west-1"} <= {"us-east-1", "ap-southeast-1"}
    assert report["after_window"]["requests"] > 0 and report["after_window"]["failed"] == 0
    after_window = [r for r in report["records"] if report["window_end_s"] < r["at"] < report["restore_started_s"]]
    assert after_window and not any(r["routed_to"] == "eu-west-1" for r in after_window)
    assert all(200 <= r["status"] < 300 for r in after_window)
    assert report["restore"]["restored_s"] is not None and report["restore"]["failed"] == 0
    writes = report["writes"]
    assert writes["acknowledged"] > 10 and writes["verified"] == writes["acknowledged"] and writes["missing"] == []
    acknowledged = [r["item_id"] for r in report["records"] if r["item_id"]]
    assert len(acknowledged) == writes["acknowledged"]
    # Spot-check the verification ourselves: the last write is readable through every region's API.
    for env in REGIONS:
        answer = http("GET", f"{cloud.api(env)}/items/{acknowledged[-1]}")
        assert answer.status == 200 and answer.json()["data"]["drill"] == report["run_id"]


def test_1_an_outage_drill_fails_over_within_the_health_check_bound(cloud):
    report, saved = drill(cloud, "--mode", "outage", "--duration", "10")
    check_common(report, saved, cloud, "outage")
    assert 0 < report["failover_s"] <= OUTAGE_BOUND_S
    # Until Route 53 saw the outage, requests routed to euw1 failed: the window has the errors.
    failed = [r for r in report["records"] if r["status"] >= 500 or r["status"] == 0]
    assert failed and all(r["routed_to"] == "eu-west-1" and r["at"] <= report["window_end_s"] for r in failed)
    assert report["during_window"]["failed"] == len(failed)
    assert cloud.control("status", {})["regions"]["euw1"]["fault"] is None


def test_2_a_drain_drill_fails_over_within_a_second_or_so_and_loses_nothing(cloud):
    report, saved = drill(cloud, "--duration", "8")
    check_common(report, saved, cloud, "drain")
    assert report["failover_s"] <= DRAIN_BOUND_S
    # A drain moves traffic without a failed request.
    assert report["during_window"]["failed"] == 0
    assert routing_weights(cloud) == "1,1,1"


def test_3_every_region_serves_again_after_both_drills(cloud):
    def all_healthy_and_serving():
        status = globalctl(cloud, "status", "--json", "--no-lag")
        report = json.loads(status.stdout) if status.stdout.strip() else {"regions": {}}
        regions = report["regions"]
        ok = set(regions) == set(REGIONS) and all(r["healthy"] and r["serving"] for r in regions.values())
        return ok and status.returncode == 0 and report

    assert wait_until(all_healthy_and_serving, timeout=30, what="every region healthy and serving", interval=0.5)
    answer = http("GET", f"{cloud.state['global_url']}/health", headers={"X-Client-Location": "eu-west-2"})
    assert answer.status == 200 and answer.headers["x-routed-to"] == "eu-west-1"


def test_4_a_drill_refuses_when_no_other_region_is_healthy(cloud):
    reports = sorted((cloud.project / ".globalctl" / "drills").glob("*.json"))
    try:
        for env in ("use1", "apse1"):
            cloud.control("fault", {"env": env, "kind": "outage"})
        result = globalctl(cloud, "drill", "euw1", "--duration", "5")
        assert result.returncode == 1
        assert result.stderr.strip() == ("error: no other region serves and is healthy: "
                                         "taking euw1 out would take the service down")
        assert sorted((cloud.project / ".globalctl" / "drills").glob("*.json")) == reports  # nothing ran
        assert cloud.control("status", {})["regions"]["euw1"]["fault"] is None
    finally:
        for env in ("use1", "apse1"):
            cloud.control("heal", {"env": env})


def routing_weights(cloud) -> str:
    stack = cloud.client("cloudformation", "us-east-1").describe_stacks(StackName="global-backend-routing")["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["Weights"]


def test_5_ctrl_c_mid_drill_restores_the_drained_region(cloud):
    # --duration 10: T0 at 2 s, the restore at 10 s. The interrupt is sent as soon as the drill says
    # it drains (its own "T0" line), so it lands well inside the window, however loaded the machine.
    command = [globalctl_bin(), "--config", str(cloud.config), "drill", "euw1", "--duration", "10"]
    with in_background(command, cloud.project, cloud.env, stderr=subprocess.STDOUT) as (drill_run, lines):
        wait_until(lambda: any("draining euw1" in line for line in lines), timeout=30,
                   what="the drill to start draining euw1", interval=0.05)
        drill_run.send_signal(signal.SIGINT)
        drill_run.wait(timeout=60)
    assert drill_run.returncode == 130, "\n".join(lines[-20:])
    assert lines[-1] == "interrupted"
    assert routing_weights(cloud) == "1,1,1"
    answer = http("GET", f"{cloud.state['global_url']}/health", headers={"X-Client-Location": "eu-west-1"})
    assert answer.status == 200 and answer.headers["x-routed-to"] == "eu-west-1"
