"""`globalctl failover drain|restore` and `globalctl destroy` against an extended moto control plane
on loopback (no supervisor, no sam): the stacks are made directly with CloudFormation, the region
APIs are one local HTTP server whose /health answers what each test sets.

moto's state is process-global: every test gets its own samconfig with unique stack and table names.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from typer.testing import CliRunner

from globalctl.main import app
from localcloud.aws_endpoint import AwsEndpoint
from tests.support import ROOT

REGIONS = {"euw1": "eu-west-1", "use1": "us-east-1", "apse1": "ap-southeast-1"}
ACCOUNT = "123456789012"  # moto's default account
NO_RETRY = Config(retries={"total_max_attempts": 1})
runner = CliRunner()

# A routing stack as routing.py reads it (Envs, Weights, RecordTtl), without Route 53 records.
ROUTING_TEMPLATE = json.dumps({
    "Parameters": {**{name: {"Type": "String"} for name in ("Envs", "Weights", "RecordName", "RecordTtl")},
                   **{name: {"Type": "String", "Default": ""} for name in ("Regions", "RoutingWeights")},
                   "RoutingPolicy": {"Type": "String", "Default": "latency"}},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
})
# A region stack: its ApiEndpoint output points at the test's health server.
REGION_TEMPLATE = json.dumps({
    "Parameters": {"ApiEndpoint": {"Type": "String"}},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"ApiEndpoint": {"Value": {"Ref": "ApiEndpoint"}}},
})


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def aws_endpoint() -> Iterator[AwsEndpoint]:
    plane = AwsEndpoint(port=0)
    plane.start()
    try:
        yield plane
    finally:
        plane.stop()


class Health:
    """GET /<env>/health answers statuses[env] (200 unless a test says otherwise)."""

    def __init__(self) -> None:
        self.statuses: dict[str, int] = {}
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                env = self.path.strip("/").split("/")[0]
                status = health.statuses.get(env, 200)
                body = json.dumps({"status": "ok" if status == 200 else "out of service"}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, env: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{env}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def health() -> Iterator[Health]:
    server = Health()
    try:
        yield server
    finally:
        server.close()


class Cloud:
    """One test's topology on the control plane: a samconfig with unique names, and clients."""

    def __init__(self, plane: AwsEndpoint, root: Path):
        self.plane = plane
        self.stack = unique("gb")
        self.table = unique("items")
        self.config = root / "samconfig.toml"
        blocks = [f'version = 0.1\n\n[table.deploy.parameters]\nstack_name = "{self.stack}-table"\n'
                  f'region = "eu-west-1"\ntemplate_file = "global/table.yaml"\n'
                  f'parameter_overrides = "TableName={self.table} ConsistencyMode=EVENTUAL DeletionProtection=true"\n']
        for env, region in REGIONS.items():
            blocks.append(f'[{env}.deploy.parameters]\nstack_name = "{self.stack}"\nregion = "{region}"\n'
                          f'parameter_overrides = "TableName={self.table}"\n')
        blocks.append(f'[routing.deploy.parameters]\nstack_name = "{self.stack}-routing"\nregion = "us-east-1"\n'
                      f'template_file = "global/routing.yaml"\n')
        self.config.write_text("\n".join(blocks))

    def client(self, service: str, region: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.plane.url, config=NO_RETRY)

    def cli(self, *args: str, input: str | None = None) -> Any:  # noqa: A002 - CliRunner's name
        from globalctl import aws

        aws.client.cache_clear()  # boto3 clients are cached per process: point them at this plane
        try:
            return runner.invoke(app, ["--config", str(self.config), *args], input=input)
        finally:
            aws.client.cache_clear()

    def create(self, name: str, region: str, template: str, **parameters: str) -> dict:
        cfn = self.client("cloudformation", region)
        cfn.create_stack(StackName=name, TemplateBody=template, Capabilities=["CAPABILITY_IAM"],
                         Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack
        return stack

    def exists(self, name: str, region: str) -> bool:
        try:
            stacks = self.client("cloudformation", region).describe_stacks(StackName=name)["Stacks"]
        except self.client("cloudformation", region).exceptions.ClientError as error:
            assert "does not exist" in str(error)
            return False
        return bool(stacks) and stacks[0]["StackStatus"] != "DELETE_COMPLETE"

    def weights(self) -> str:
        stack = self.client("cloudformation", "us-east-1").describe_stacks(StackName=f"{self.stack}-routing")
        return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Stacks"][0]["Parameters"]}["Weights"]

    def deploy_regions(self, health: Health, envs: tuple[str, ...] = tuple(REGIONS)) -> None:
        for env in envs:
            self.create(self.stack, REGIONS[env], REGION_TEMPLATE, ApiEndpoint=health.url(env))

    def deploy_routing(self, weights: str = "1,1,1", **policy: str) -> None:
        self.create(f"{self.stack}-routing", "us-east-1", ROUTING_TEMPLATE, Envs=",".join(REGIONS),
                    Regions=",".join(REGIONS.values()), Weights=weights, RecordName="api.example", RecordTtl="0",
                    **policy)

    def deploy_table(self, protection: str = "true") -> None:
        self.create(f"{self.stack}-table", "eu-west-1", (ROOT / "global" / "table.yaml").read_text(),
                    TableName=self.table, ReplicaRegions=",".join(REGIONS.values()), ConsistencyMode="EVENTUAL",
                    DeletionProtection=protection)

    def table_in(self, region: str) -> dict | None:
        client = self.client("dynamodb", region)
        try:
            return client.describe_table(TableName=self.table)["Table"]
        except client.exceptions.ResourceNotFoundException:
            return None


@pytest.fixture
def cloud(aws_endpoint: AwsEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint.url)
    made = Cloud(aws_endpoint, tmp_path)
    try:
        yield made
    finally:
        # The table's DeletionPolicy is Retain: its replication group outlives the stack in moto's
        # process-global registry until the table stack is made again; stop its threads here.
        from localcloud.dynamodb import patch as global_tables

        group = global_tables.GROUPS.pop((ACCOUNT, made.table), None)
        if group is not None:
            group.close()


def one_error_line(result: Any) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


# --- failover ----------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["drain", "restore"])
def test_failover_of_an_unknown_env_is_one_line_exit_2(command):
    result = runner.invoke(app, ["--config", str(ROOT / "samconfig.toml"), "failover", command, "mars1"])
    assert result.exit_code == 2
    assert one_error_line(result) == "error: unknown environment 'mars1' (known: table, euw1, use1, apse1, routing)"


def test_failover_of_a_global_stack_is_refused_exit_2():
    result = runner.invoke(app, ["--config", str(ROOT / "samconfig.toml"), "failover", "drain", "routing"])
    assert result.exit_code == 2
    assert one_error_line(result) == "error: routing is the routing stack, not a region (regions: euw1, use1, apse1)"


@pytest.mark.parametrize("command", ["drain", "restore"])
def test_failover_without_the_routing_stack_is_one_line(cloud, command):
    result = cloud.cli("failover", command, "euw1")
    assert result.exit_code == 1
    line = one_error_line(result)
    assert f"the routing stack {cloud.stack}-routing is not deployed in us-east-1" in line


def test_failover_while_the_routing_stack_is_in_progress_is_one_line(cloud):
    # A change set never executed leaves its stack REVIEW_IN_PROGRESS: an *_IN_PROGRESS status.
    cloud.client("cloudformation", "us-east-1").create_change_set(
        StackName=f"{cloud.stack}-routing", ChangeSetName="pending", TemplateBody=ROUTING_TEMPLATE,
        ChangeSetType="CREATE", Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in
                                            {"Envs": "euw1", "Weights": "1", "RecordName": "a", "RecordTtl": "0"}.items()])
    result = cloud.cli("failover", "drain", "euw1")
    assert result.exit_code == 1
    assert one_error_line(result) == (f"error: routing: stack {cloud.stack}-routing is REVIEW_IN_PROGRESS; "
                                      f"wait for it to finish")


def test_drain_needs_a_healthy_serving_region_and_never_drains_the_last(cloud, health):
    cloud.deploy_regions(health)
    cloud.deploy_routing()
    health.statuses.update(use1=503, apse1=503)

    refused = cloud.cli("failover", "drain", "euw1")
    assert refused.exit_code == 1
    assert "no other serving region is healthy (use1: HTTP 503, apse1: HTTP 503)" in one_error_line(refused)
    assert cloud.weights() == "1,1,1"

    health.statuses["use1"] = 200
    drained = cloud.cli("failover", "drain", "euw1")
    assert drained.exit_code == 0, drained.output
    assert drained.stdout.startswith("drained euw1 (eu-west-1) in ")
    assert "the routing stopped sending it traffic after" in drained.stdout
    assert cloud.weights() == "0,1,1"
    again = cloud.cli("failover", "drain", "euw1")
    assert again.exit_code == 0 and again.stdout.strip() == "euw1 (eu-west-1) is already drained; nothing to do"

    health.statuses["use1"] = 503
    assert cloud.cli("failover", "drain", "use1").exit_code == 1
    assert cloud.weights() == "0,1,1"
    forced = cloud.cli("failover", "drain", "use1", "--force", "--no-wait")
    assert forced.exit_code == 0, forced.output
    assert forced.stderr.strip() == ("warning: no other serving region is healthy (apse1: HTTP 503); "
                                     "draining use1 anyway (--force)")
    assert "not waiting to see it take effect (--no-wait)" in forced.stdout
    assert cloud.weights() == "0,0,1"

    last = cloud.cli("failover", "drain", "apse1", "--force")
    assert last.exit_code == 1
    assert one_error_line(last).startswith("error: apse1 is the last serving region")
    assert cloud.weights() == "0,0,1"

    restored = cloud.cli("failover", "restore", "euw1")
    assert restored.exit_code == 0, restored.output
    assert restored.stdout.startswith("restored euw1 (eu-west-1) in ") and "sends it traffic after" in restored.stdout
    assert cloud.weights() == "1,0,1"
    assert cloud.cli("failover", "restore", "euw1").stdout.strip() == "euw1 (eu-west-1) is already serving; nothing to do"


def test_drain_with_an_unreachable_other_region_counts_it_unhealthy(cloud, health):
    cloud.deploy_regions(health, ("euw1", "use1"))  # apse1 is not deployed at all
    cloud.deploy_routing()
    health.statuses["use1"] = 500
    result = cloud.cli("failover", "drain", "euw1")
    assert result.exit_code == 1
    assert "(use1: HTTP 500, apse1: not deployed)" in one_error_line(result)
    assert cloud.weights() == "1,1,1"


# --- destroy -----------------------------------------------------------------------------------

def everything(cloud: Cloud) -> dict[str, bool]:
    found = {env: cloud.exists(cloud.stack, region) for env, region in REGIONS.items()}
    found["routing"] = cloud.exists(f"{cloud.stack}-routing", "us-east-1")
    found["table"] = cloud.exists(f"{cloud.stack}-table", "eu-west-1")
    found.update({f"table@{region}": cloud.table_in(region) is not None for region in REGIONS.values()})
    return found


def test_destroy_refuses_while_deletion_protection_is_on(cloud, health):
    cloud.deploy_table()
    cloud.deploy_regions(health)
    cloud.deploy_routing()
    assert all(cloud.table_in(r)["DeletionProtectionEnabled"] for r in REGIONS.values())
    result = cloud.cli("destroy", "--yes")
    assert result.exit_code == 1
    assert one_error_line(result) == (
        f"error: deletion protection is on (table {cloud.table} in us-east-1, ap-southeast-1, eu-west-1; "
        f"stack {cloud.stack}-table: DeletionProtection=true): `globalctl destroy --force` turns it off first, "
        f"--keep-table leaves the table")
    assert all(everything(cloud).values())


def test_destroy_asks_for_the_table_name_and_aborts_on_a_wrong_one(cloud, health):
    cloud.deploy_table(protection="false")
    cloud.deploy_regions(health)
    cloud.deploy_routing()
    result = cloud.cli("destroy", input="global-items\n")
    assert result.exit_code == 1
    assert f"type '{cloud.table}' to delete all of it" in result.stdout
    assert result.stderr.strip() == f"error: that is not '{cloud.table}'; nothing was deleted"
    assert all(everything(cloud).values())


def test_destroy_force_turns_protection_off_and_deletes_in_order(cloud, health):
    cloud.deploy_table()
    cloud.deploy_regions(health, ("euw1", "apse1"))  # use1 never deployed: skipped with a line
    cloud.deploy_routing()
    result = cloud.cli("destroy", "--force", input=f"{cloud.table}\n")
    assert result.exit_code == 0, result.output
    assert not any(everything(cloud).values()), everything(cloud)
    lines = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")]
    # protection off through the table stack first, then routing, the regions last-first, the table
    assert lines == ["table", "routing", "apse1", "use1", "euw1", "table", "table"], result.stdout
    assert f"{cloud.stack} (us-east-1): not deployed, skipped" in result.stdout
    assert "deletion protection off (DeletionProtection=false)" in result.stdout
    assert f"{cloud.table} (us-east-1, ap-southeast-1, eu-west-1): deleted" in result.stdout
    assert result.stdout.rstrip().endswith("aws-sam-cli-managed-default is left in place")
    again = cloud.cli("destroy", "--yes")
    assert again.exit_code == 0 and again.stdout.startswith("nothing to destroy")


def test_destroy_keep_table_leaves_the_table_stack_and_its_data(cloud, health):
    cloud.deploy_table()
    cloud.deploy_regions(health)
    cloud.deploy_routing()
    cloud.client("dynamodb", "us-east-1").put_item(TableName=cloud.table, Item={"id": {"S": "kept"}})
    result = cloud.cli("destroy", "--yes", "--keep-table")  # protection guards the table only
    assert result.exit_code == 0, result.output
    found = everything(cloud)
    assert not any(found[name] for name in (*REGIONS, "routing")), found
    assert found["table"] and all(found[f"table@{r}"] for r in REGIONS.values())
    item = cloud.client("dynamodb", "us-east-1").get_item(TableName=cloud.table, Key={"id": {"S": "kept"}})
    assert item["Item"]["id"]["S"] == "kept"


def test_a_stack_that_fails_to_delete_stops_destroy_with_one_line(cloud, health):
    cloud.deploy_regions(health)
    # The routing stack holds a protected table without DeletionPolicy Retain: its delete fails.
    blocked = unique("blocked")
    template = json.dumps({"Resources": {"Blocked": {"Type": "AWS::DynamoDB::GlobalTable", "Properties": {
        "TableName": blocked, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "Replicas": [{"Region": "us-east-1", "DeletionProtectionEnabled": True}]}}}})
    cloud.create(f"{cloud.stack}-routing", "us-east-1", template)
    try:
        result = cloud.cli("destroy", "--yes", "--keep-table")
        assert result.exit_code == 1
        line = one_error_line(result)
        assert line.startswith(f"error: routing: stack {cloud.stack}-routing in us-east-1 is DELETE_FAILED (")
        assert "protected against deletion" in line
        assert all(cloud.exists(cloud.stack, region) for region in REGIONS.values())  # stopped at the first
    finally:
        from localcloud.dynamodb import patch as global_tables

        group = global_tables.GROUPS.pop((ACCOUNT, blocked), None)
        if group is not None:
            group.close()


def test_traffic_shift_moves_the_weights_in_steps_and_only_under_the_weighted_policy(cloud, health):
    cloud.deploy_regions(health)
    cloud.deploy_routing("1,1,2", RoutingPolicy="weighted", RoutingWeights="euw1:1,use1:1,apse1:2")
    shifted = cloud.cli("traffic", "shift", "euw1", "--to", "80", "--step", "30", "--bake", "0")
    assert shifted.exit_code == 0, shifted.output
    lines = shifted.stdout.strip().splitlines()
    assert lines[0] == "euw1 at 52.5% (weights use1:77,apse1:154,euw1:255); alarms watched for 0 s"
    assert lines[-1] == "euw1 now has 80.2% of the weighted traffic after 2 step(s)"
    assert cloud.weights() == "255,21,42"
    restored = cloud.cli("failover", "drain", "euw1", "--no-wait")
    assert restored.exit_code == 0 and cloud.weights() == "0,21,42"
    back = cloud.cli("failover", "restore", "euw1", "--no-wait")
    assert back.exit_code == 0 and cloud.weights() == "1,21,42"  # its declared weight, not the shifted one


def test_traffic_shift_is_refused_in_one_line_unless_the_routing_is_weighted(cloud, health):
    cloud.deploy_regions(health)
    cloud.deploy_routing()
    refused = cloud.cli("traffic", "shift", "euw1", "--to", "50")
    assert refused.exit_code == 1
    assert one_error_line(refused).startswith("error: traffic shift needs RoutingPolicy=weighted; the routing "
                                              "deployed is latency")
    assert cloud.weights() == "1,1,1"
    unknown = cloud.cli("traffic", "show", "--from", "mars")
    assert unknown.exit_code == 2
    assert one_error_line(unknown) == "error: --from 'mars' is not an AWS region code (e.g. eu-west-2)"
