"""sam local for real: every event in events/ through `sam local invoke`, and `sam local start-api`
answering HTTP, in Docker containers, against a running local cloud.

The commands are the README's, run in a copy of the project: `globalctl local up --containers`,
a rollout, `globalctl local env-vars`, `sam build`, then `sam local ... --config-env local-x86_64`
for every event (the functions built for x86_64 run natively here) and `--config-env local` (the
shipped arm64 functions, under qemu) for the ones that write and read. The local cloud serves the
Powertools layer SAM downloads, and the functions reach its DynamoDB, SSM and SNS through the
Docker bridge gateway; nothing in a container can reach beyond this machine (see docker_engine).

Where no Docker engine can be had the module is skipped, with the reason, before any cloud starts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from globalctl import localcloud
from harness import lambda_image
from tests.e2e.conftest import LocalCloud, _sam, http, rolled_out, wait_until
from tests.functions.functional.test_events import API_CASES, STREAM_CASES
from tests.support import ROOT
from tests.support import docker_engine
from tests.support.docker_engine import DockerUnavailable, arm64_runs, engine
from tests.support.globalctl_clients import free_loopback_port

pytestmark = pytest.mark.slow

EVENTS = ROOT / "events"
NATIVE, SHIPPED = "local-x86_64", "local"
REPLICAS = {"euw1": "eu-west-1", "use1": "us-east-1", "apse1": "ap-southeast-1"}
SEEDED = "order-1001"


@pytest.fixture(scope="module")
def docker():
    try:
        with engine() as client:
            yield client
    except DockerUnavailable as reason:
        pytest.skip(f"sam local needs Docker: {reason}")


@pytest.fixture(scope="module")
def images(docker) -> dict[str, str]:
    """The Debian-built invoke images samconfig names (built once, then reused by their recipe)."""
    built = {"x86_64": lambda_image.build("x86_64", say=lambda _line: None)}
    if arm64_runs() is None:
        built["arm64"] = lambda_image.build("arm64", say=lambda _line: None)
    return built


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, docker, images):
    """The module's own cloud, answering containers too, with `globalctl rollout` done."""
    yield from rolled_out(tmp_path_factory, "sam-local", container_gateway=localcloud.docker_gateway())


@pytest.fixture(scope="module")
def app(deployed):
    shutil.copytree(EVENTS, deployed.project / "events")
    written = deployed.cli("local", "env-vars")
    assert written.returncode == 0, written.stderr
    deployed.run(_sam(), "build")
    # SAM builds its image on ours and downloads the layer on the first invoke: once, before the
    # tests invoke side by side.
    invoke(deployed, "Api/ApiFunction", "events/api/health.json")
    return deployed


def test_containers_cannot_send_beyond_this_machine(docker):
    """With the dockerd these tests started, a DOCKER-USER rule rejects whatever a container on the
    bridge would have forwarded: the functions reach the local cloud (the gateway) and nothing else."""
    if not docker_engine.started_here:
        pytest.skip("Docker was running already: its network rules are its owner's")
    assert docker_engine.egress_closed()


def test_published_ports_refuse_until_the_function_listens(docker, images):
    """The dockerd these tests start runs without Docker's userland proxy, so SAM's wait for the
    container's socket waits for the runtime interface emulator (see docker_engine)."""
    if not docker_engine.started_here:
        pytest.skip("Docker was running already: its proxy setting is its owner's")
    assert not docker_engine.ports_answer_before_listening(docker, images[lambda_image.NATIVE])


def invoke(cloud: LocalCloud, function: str, event: str | Path, config_env: str = NATIVE,
           ) -> tuple[subprocess.CompletedProcess, Any]:
    """`sam local invoke <function> -e <event> --config-env <env>`: the run and the function's answer."""
    result = cloud.run(_sam(), "local", "invoke", function, "-e", str(event), "--config-env", config_env, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    # SAM exits 0 with no answer when the function timed out or its container never listened.
    assert lines, "no answer from the function; sam said:\n" + result.stderr[-3000:]
    return result, json.loads(lines[-1])


def replica_item(cloud: LocalCloud, region: str, item_id: str) -> dict[str, Any] | None:
    found = cloud.client("dynamodb", region).get_item(TableName="global-items", Key={"id": {"S": item_id}})
    return found.get("Item")


def unseed(cloud: LocalCloud) -> None:
    """No order-1001, deleted through euw1's deployed API (not the code under test)."""
    http("DELETE", f"{cloud.api('euw1')}/items/{SEEDED}")


def seed(cloud: LocalCloud) -> None:
    """order-1001 at version 1, written through euw1's deployed API (not the code under test)."""
    unseed(cloud)
    assert http("PUT", f"{cloud.api('euw1')}/items/{SEEDED}", {"data": {"customer": "Ana"}}).status == 201


# Cases answered before the store is touched (or reading what no case changes): run side by side.
STATELESS = {"health", "openapi", "put_item_malformed_json", "put_item_schema_violation", "put_item_data_not_object",
             "put_item_nan", "put_item_too_deep", "put_item_too_large", "put_item_bad_id", "get_item_bad_id",
             "list_items_bad_limit", "unknown_route", "site_page", "site_config", "site_asset_missing"}
SIDE_BY_SIDE = 3  # sam local processes at once: each mostly waits on Docker


def _api_case(cloud: LocalCloud, case: str) -> tuple[int, Any]:
    _, answer = invoke(cloud, "Api/ApiFunction", f"events/api/{case}.json")
    assert answer["headers"]["x-served-by-region"] == "eu-west-1", answer
    body = json.loads(answer["body"]) if answer.get("body", "").startswith("{") else answer.get("body")
    return answer["statusCode"], body


def _unexpected(case: str, answer: tuple[int, Any]) -> bool:
    status, code, _ = API_CASES[case]
    return answer[0] != status or (code is not None and answer[1].get("error") != code)


def test_every_api_event_through_sam_local_invoke(app):
    """Each events/api case answers the status the handler tests expect, from the container."""
    from concurrent.futures import ThreadPoolExecutor

    assert STATELESS <= set(API_CASES)
    with ThreadPoolExecutor(SIDE_BY_SIDE) as pool:
        answers = dict(zip(sorted(STATELESS), pool.map(lambda case: _api_case(app, case), sorted(STATELESS))))
    for case, (_, _, seeded) in sorted(API_CASES.items()):
        if case in STATELESS:
            continue
        if seeded:
            seed(app)
        else:
            unseed(app)
        answers[case] = _api_case(app, case)
    assert set(answers) == set(API_CASES)
    wrong = {case: answer for case, answer in answers.items() if _unexpected(case, answer)}
    assert not wrong, wrong


def test_health_reads_the_region_state_from_the_local_cloud(app):
    _, answer = invoke(app, "Api/ApiFunction", "events/api/health.json")
    health = json.loads(answer["body"])
    assert answer["statusCode"] == 200 and health["release"] == "v1", health
    # The operator's switch is the deployed SSM parameter: flipped there, the container's answer changes.
    name = json.loads((app.project / ".globalctl/local/sam-env-vars.json").read_text())[
        "Api/ApiFunction"]["SERVICE_STATE_PARAMETER"]
    ssm = app.client("ssm", "eu-west-1")
    ssm.put_parameter(Name=name, Value="out-of-service", Overwrite=True)
    try:
        _, answer = invoke(app, "Api/ApiFunction", "events/api/health.json")
        assert answer["statusCode"] == 503, answer
    finally:
        ssm.put_parameter(Name=name, Value="in-service", Overwrite=True)


def test_a_write_from_the_container_replicates_to_every_region(app):
    unseed(app)
    _, answer = invoke(app, "Api/ApiFunction", "events/api/put_item_create.json")
    assert answer["statusCode"] == 201, answer
    for region in REPLICAS.values():
        item = wait_until(lambda r=region: replica_item(app, r, SEEDED), timeout=30, what=f"{SEEDED} in {region}")
        assert item["origin_region"]["S"] == "eu-west-1"
        assert item["data"]["M"]["customer"]["S"] == "Ana"


def test_stream_events_through_sam_local_invoke(app):
    """Each events/stream case's partial-batch answer, as the handler tests expect it."""
    from concurrent.futures import ThreadPoolExecutor

    def failures(case: str) -> int:
        _, answer = invoke(app, "ChangeStream/StreamProcessorFunction", f"events/stream/{case}.json")
        return len(answer["batchItemFailures"])

    with ThreadPoolExecutor(SIDE_BY_SIDE) as pool:
        found = dict(zip(sorted(STREAM_CASES), pool.map(failures, sorted(STREAM_CASES))))
    assert found == {case: failed for case, (_, failed) in STREAM_CASES.items()}


def test_custom_resource_events_run_without_leaving_the_machine(app, tmp_path):
    """The lookup answers from the local cloud's table; the response goes to a loopback URL (the
    file's S3 URL is AWS's), so in the container it is refused, and nothing leaves the machine."""
    for case in ("create", "delete"):
        event = json.loads((EVENTS / "custom_resources" / f"{case}.json").read_text())
        event["ResponseURL"] = "http://127.0.0.1:9/cfn-response"
        path = tmp_path / f"{case}.json"
        path.write_text(json.dumps(event))
        result, answer = invoke(app, "ChangeStream/ReplicaStreamLookupFunction", path)
        assert answer is None, answer  # a custom resource answers CloudFormation, not its caller
        assert "Connection refused" in result.stderr or "ConnectionRefused" in result.stderr, result.stderr[-2000:]


def test_a_malformed_event_gets_the_functions_error_payload(app, tmp_path):
    """Not JSON: the runtime's own UnmarshalError. Another function's event: the handler's named
    error. Both as Lambda's error payload, promptly, with the project's code raising nothing else."""
    malformed = tmp_path / "malformed.json"
    malformed.write_text('{"rawPath": "/items", "requestContext": ')
    _, answer = invoke(app, "Api/ApiFunction", malformed)
    assert answer["errorType"] == "Runtime.UnmarshalError", answer

    _, answer = invoke(app, "ChangeStream/StreamProcessorFunction", "events/api/health.json")
    assert answer["errorType"] == "NotADynamoDBStreamEvent", answer
    assert answer["errorMessage"].startswith("expected a DynamoDB stream event"), answer
    _, answer = invoke(app, "Api/ApiFunction", "events/stream/insert_local.json")
    assert answer["errorType"] == "NotAnHttpApiEvent", answer


@pytest.mark.skipif(arm64_runs() is not None, reason=str(arm64_runs()))
def test_the_shipped_arm64_function_writes_and_the_item_replicates(app, docker, images):
    """--config-env local: the functions as shipped (arm64, under qemu on an x86_64 host)."""
    if lambda_image.NATIVE != "arm64" and docker_engine.ports_answer_before_listening(
            docker, images[lambda_image.NATIVE]):
        pytest.skip("this Docker engine's userland proxy accepts before the emulated function listens, and "
                    "SAM then gives up after three tries in 0.3 s; run dockerd with --userland-proxy=false")
    unseed(app)
    _, created = invoke(app, "Api/ApiFunction", "events/api/put_item_create.json", SHIPPED)
    assert created["statusCode"] == 201, created
    for region in REPLICAS.values():
        item = wait_until(lambda r=region: replica_item(app, r, SEEDED), timeout=30, what=f"{SEEDED} in {region}")
        assert item["data"]["M"]["customer"]["S"] == "Ana"
    assert http("GET", f"{app.api('apse1')}/items/{SEEDED}").json()["data"]["customer"] == "Ana"


def _sam_containers(docker) -> list:
    return [c for c in docker.containers.list(all=True) if c.attrs["Config"]["Image"].startswith("samcli/")]


def test_start_api_serves_http(app, docker):
    """`sam local start-api` (on a free port, not 3000), then Ctrl-C: its containers go with it."""
    import signal

    before = {container.id for container in _sam_containers(docker)}

    from tests.e2e.conftest import in_background

    port = free_loopback_port()
    command = [_sam(), "local", "start-api", "--config-env", NATIVE, "--port", str(port)]
    with in_background(command, app.project, app.env, stderr=subprocess.STDOUT) as (process, lines):
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: process.poll() is not None or any("Running on" in line for line in lines),
                   timeout=120, what="sam local start-api listening")
        assert process.poll() is None, "\n".join(lines[-30:])
        health = wait_until(lambda: _answer(f"{base}/health"), timeout=180, what="/health through start-api")
        assert health.status == 200 and health.json()["release"] == "v1", health.body
        put = http("PUT", f"{base}/items/order-2001", {"data": {"customer": "Bo"}}, timeout=120)
        assert put.status == 201, put.body
        got = http("GET", f"{base}/items/order-2001", timeout=120)
        assert got.status == 200 and got.json()["data"] == {"customer": "Bo"}
        wait_until(lambda: replica_item(app, "ap-southeast-1", "order-2001"), timeout=30, what="replicated")
        bad = _raw_put(f"{base}/items/order-2001", b"{not json")
        assert bad[0] == 400 and json.loads(bad[1])["error"] == "malformed_json", bad
        assert {c.id for c in _sam_containers(docker)} - before, "start-api keeps its function's container warm"
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    assert not {c.id for c in _sam_containers(docker)} - before, "a container sam local started outlived it"


def _raw_put(url: str, body: bytes) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method="PUT", headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _answer(url: str):
    try:
        return http("GET", url, timeout=120)
    except OSError:
        return None
