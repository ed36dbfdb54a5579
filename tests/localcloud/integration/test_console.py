"""The console on a real local cloud (the supervisor started as `globalctl local up` starts it, on
free ports, nothing deployed): its URL in the state file and `local status`, the state call's
regions, a fault set through the control call showing up, routing records seen by the location grid
and by the global entry through the pick cookie, the security headers, and paths that try to leave
the console's files."""

from __future__ import annotations

import http.client
import json
import shutil
import urllib.parse
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from typer.testing import CliRunner

from globalctl import localcloud
from globalctl.main import app
from localcloud import lifecycle
from localcloud.route53.entry import LOCATION_COOKIE
from tests.support import ROOT
from tests.support.polling import wait_until

pytestmark = pytest.mark.slow

ENVS = ("euw1", "use1", "apse1")  # samconfig.toml's region envs, in its order
GLOBAL_NAME = "api.global-backend.example"


class Cloud:
    def __init__(self, root: Path, state: dict[str, Any]):
        self.root, self.state = root, state
        self.endpoint = urllib.parse.urlsplit(state["endpoint"])

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                port: int | None = None) -> tuple[int, dict[str, str], bytes]:
        """One request with the path sent exactly as given (no client-side normalisation)."""
        conn = http.client.HTTPConnection("127.0.0.1", port or self.endpoint.port, timeout=10)
        try:
            data = None if body is None else json.dumps(body).encode()
            conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def console_state(self) -> dict[str, Any]:
        status, _, body = self.request("GET", "/_localcloud/console/state")
        assert status == 200, body
        return json.loads(body)

    def region(self, env: str) -> dict[str, Any]:
        return next(r for r in self.console_state()["regions"] if r["env"] == env)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    root = tmp_path_factory.mktemp("console")
    shutil.copy(ROOT / "samconfig.toml", root / "samconfig.toml")
    records = root / ".globalctl"
    (records / "drills").mkdir(parents=True)
    (records / "history.json").write_text(json.dumps([
        {"action": "rollout", "at": "2026-12-04T01:49:28Z", "release": "r-1", "status": "complete",
         "regions": {"euw1": "deployed"}}]))
    (records / "drills" / "euw1-20261204T014932Z.json").write_text(json.dumps(
        {"env": "euw1", "region": "eu-west-1", "mode": "drain", "run_id": "20261204T014932Z-14fd", "ok": True,
         "problems": [], "failover_s": 0.8, "requests": 10}))
    state = localcloud.start(root / "samconfig.toml", base_port=0, health_interval_scale=0.1)
    try:
        yield Cloud(root, state)
    finally:
        lifecycle.down(localcloud.state_dir(root))


def test_the_console_url_is_in_the_state_file_and_local_status(cloud: Cloud):
    result = CliRunner().invoke(app, ["--config", str(cloud.root / "samconfig.toml"), "local", "status"])

    assert cloud.state["console_url"] == cloud.state["endpoint"] + "/_localcloud/console/"
    assert result.exit_code == 0, result.output
    assert f"console: {cloud.state['console_url']}" in result.stdout.splitlines()


def test_the_state_call_lists_every_region_and_the_records(cloud: Cloud):
    state = cloud.console_state()

    assert [r["env"] for r in state["regions"]] == list(ENVS)
    euw1 = state["regions"][0]
    assert euw1["api_url"] == cloud.state["regions"]["euw1"]["api_url"]
    assert euw1["api_health"]["detail"] == "HTTP 404: no API deployed answers /health"
    assert state["routed_name"] is None  # the routing test below deploys records
    assert {r["serves"]["state"] for r in state["regions"]} == {"no routing"}
    assert len(state["locations"]) > 30 and state["problems"] == []
    assert state["history"][0]["release"] == "r-1"
    assert state["drills"][0]["run_id"] == "20261204T014932Z-14fd"


def test_a_fault_set_through_the_control_call_shows_in_the_state(cloud: Cloud):
    status, _, body = cloud.request("POST", "/_localcloud/fault", {"env": "use1", "kind": "outage"})
    assert status == 200, body
    try:
        use1 = cloud.region("use1")
        assert use1["fault"] == {"kind": "outage", "latency_ms": 500, "error_rate": 0.5}
        assert cloud.region("euw1")["fault"] is None
        # probe answers are shared for a few seconds: the outage shows once the next probe runs
        dropped = wait_until(lambda: (r := cloud.region("use1"))["api_health"]["status"] is None and r, 10,
                             "the outage to show in use1's API health")
        assert dropped["api_health"]["ok"] is False and dropped["api_health"]["detail"].startswith("no answer")
    finally:
        status, _, body = cloud.request("POST", "/_localcloud/heal", {"env": "use1"})
    assert status == 200 and json.loads(body) == {"healed": ["use1"]}
    assert cloud.region("use1")["fault"] is None


def test_routing_shows_in_the_grid_and_the_entry_follows_the_pick_cookie(cloud: Cloud):
    route53 = boto3.client("route53", region_name="us-east-1", endpoint_url=cloud.state["endpoint"],
                           config=Config(retries={"total_max_attempts": 1}))
    zone = route53.create_hosted_zone(Name="global-backend.example", CallerReference="console-test")
    changes = [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": GLOBAL_NAME, "Type": "CNAME", "SetIdentifier": env, "Region": region, "TTL": 60,
        "ResourceRecords": [{"Value": f"{env}api.execute-api.{region}.amazonaws.com"}]}}
        for env, region in (("euw1", "eu-west-1"), ("use1", "us-east-1"))]
    route53.change_resource_record_sets(HostedZoneId=zone["HostedZone"]["Id"], ChangeBatch={"Changes": changes})

    state = cloud.console_state()
    grid = {row["location"]: row for row in state["locations"]}
    serves = {r["env"]: r["serves"]["state"] for r in state["regions"]}

    assert state["routed_name"] == GLOBAL_NAME
    assert (grid["eu-west-2"]["region"], grid["eu-west-2"]["env"]) == ("eu-west-1", "euw1")
    assert (grid["us-east-2"]["region"], grid["us-east-2"]["env"]) == ("us-east-1", "use1")
    assert grid["eu-west-2"]["via"] == "record sets" and grid["eu-west-2"]["path"]
    assert serves == {"euw1": "serving", "use1": "serving", "apse1": "not serving"}

    entry = urllib.parse.urlsplit(cloud.state["global_url"]).port
    _, picked, _ = cloud.request("GET", "/health", headers={"Cookie": f"{LOCATION_COOKIE}=us-east-2"}, port=entry)
    _, overridden, _ = cloud.request("GET", "/health", port=entry, headers={
        "Cookie": f"{LOCATION_COOKIE}=us-east-2", "X-Client-Location": "eu-west-2"})
    _, home, _ = cloud.request("GET", "/health", headers={"Cookie": f"{LOCATION_COOKIE}=nowhere"}, port=entry)

    assert picked["x-routed-to"] == "us-east-1"
    assert overridden["x-routed-to"] == "eu-west-1"
    assert home["x-routed-to"] == "eu-west-1"  # the home region: an invalid cookie is ignored


def test_replication_lag_shows_the_latest_latency_and_what_a_partition_queues(cloud: Cloud):
    dynamodb = boto3.client("dynamodb", region_name="eu-west-1", endpoint_url=cloud.state["endpoint"],
                            config=Config(retries={"total_max_attempts": 1}))
    dynamodb.create_table(TableName="console-items", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST",
                          StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    dynamodb.update_table(TableName="console-items", ReplicaUpdates=[{"Create": {"RegionName": "us-east-1"}}])
    wait_until(lambda: dynamodb.describe_table(TableName="console-items")["Table"]["Replicas"][0]["ReplicaStatus"]
               == "ACTIVE", 10, "the us-east-1 replica")

    def lag() -> dict[str, Any] | None:
        entries = cloud.region("euw1")["replication"]
        return next((e for e in entries if (e["table"], e["receiving_region"]) == ("console-items", "us-east-1")), None)

    dynamodb.put_item(TableName="console-items", Item={"id": {"S": "before"}})
    delivered = wait_until(lambda: (e := lag()) and e["latest_ms"] is not None and e, 10, "a ReplicationLatency")
    assert delivered["pending"] == 0 and delivered["latest_ms"] >= 0

    cloud.request("POST", "/_localcloud/fault", {"env": "use1", "kind": "partition"})
    try:
        for n in range(3):
            dynamodb.put_item(TableName="console-items", Item={"id": {"S": f"cut-{n}"}})
        queued = lag()
        assert queued["pending"] == 3 and queued["oldest_pending_ms"] >= 0
    finally:
        cloud.request("POST", "/_localcloud/heal", {"env": "use1"})
    wait_until(lambda: lag()["pending"] == 0, 10, "the queue to drain after the heal")


@pytest.mark.parametrize("path, content_type", [
    ("/_localcloud/console/", "text/html; charset=utf-8"),
    ("/_localcloud/console/console.css", "text/css; charset=utf-8"),
    ("/_localcloud/console/console.js", "text/javascript; charset=utf-8"),
    ("/_localcloud/console/state", "application/json"),
])
def test_every_answer_carries_the_security_headers(cloud: Cloud, path: str, content_type: str):
    status, headers, _ = cloud.request("GET", path)

    assert status == 200 and headers["content-type"] == content_type
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


@pytest.mark.parametrize("path", [
    "/_localcloud/console/../../etc/passwd",
    "/_localcloud/console/%2e%2e/%2e%2e/etc/passwd",
    "/_localcloud/console/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/_localcloud/console/..%2f..%2f..%2fsupervisor.py",
    "/_localcloud/console/static/../__init__.py",
    "/_localcloud/console/%2fetc%2fpasswd",
    "/_localcloud/%2e%2e/%2e%2e/etc/passwd",
])
def test_paths_out_of_the_console_files_are_refused(cloud: Cloud, path: str):
    status, headers, body = cloud.request("GET", path)

    assert status == 404, body
    assert headers["content-type"] == "application/json"
    assert b"root:" not in body and b"import" not in body
