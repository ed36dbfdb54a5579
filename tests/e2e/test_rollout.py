"""globalctl rollout end to end on the local cloud: v1 everywhere, then releases that fail their
gates (in the canary, then in the second wave) and must leave every region serving v1.

A failing release is one whose /health answers 503: the region env's samconfig overrides deploy it
with ServiceSwitch=out-of-service, the way a test parameter picks a bad build.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.conftest import (
    FAST,
    as_from_a_terminal,
    globalctl_bin,
    http,
    running_cloud,
)

pytestmark = pytest.mark.slow

REGIONS = {"euw1": "eu-west-1", "use1": "us-east-1", "apse1": "ap-southeast-1"}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory):
    with running_cloud(tmp_path_factory, "rollout") as cloud:
        yield cloud


def globalctl(cloud, *args: str):
    return cloud.cli(*args)


def released(cloud) -> dict[str, str | None]:
    """Each region's release as its own /health reports it."""
    return {env: http("GET", f"{cloud.api(env)}/health").json().get("release") for env in REGIONS}


def stack_updated(cloud, env: str) -> str:
    stack = cloud.client("cloudformation", REGIONS[env]).describe_stacks(StackName="global-backend")["Stacks"][0]
    return str(stack.get("LastUpdatedTime") or stack["CreationTime"])


def switch_off(cloud, env: str) -> None:
    """Make env's next deploys answer 503 on /health (the bad build of this test)."""
    text = cloud.config.read_text()
    pattern = rf'(\[{env}\.deploy\.parameters\][^\[]*?parameter_overrides = ")([^"]*)"'
    text, count = re.subn(pattern, r'\1\2 ServiceSwitch=out-of-service"', text, flags=re.S)
    assert count == 1
    cloud.config.write_text(text)


def switch_on(cloud, env: str) -> None:
    cloud.config.write_text(cloud.config.read_text().replace(" ServiceSwitch=out-of-service", ""))


def test_1_rollout_v1_reaches_every_region_and_the_routing(cloud):
    result = globalctl(cloud, "rollout", "--release", "v1", *FAST)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert released(cloud) == {env: "v1" for env in REGIONS}
    for location, region in (("eu-west-2", "eu-west-1"), ("us-west-2", "us-east-1"), ("ap-northeast-1", "ap-southeast-1")):
        answer = http("GET", f"{cloud.state['global_url']}/health", headers={"X-Client-Location": location})
        assert answer.status == 200 and answer.json()["release"] == "v1"
        assert answer.headers["x-routed-to"] == region
    status = globalctl(cloud, "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    report = json.loads(status.stdout)
    assert {env: r["release"] for env, r in report["regions"].items()} == {env: "v1" for env in REGIONS}
    assert all(r["healthy"] and r["serving"] for r in report["regions"].values())
    assert report["table"]["mode"] == "EVENTUAL" and set(report["table"]["replicas"]) == set(REGIONS.values())
    history = json.loads((cloud.project / ".globalctl" / "history.json").read_text())
    assert history[-1]["release"] == "v1" and history[-1]["status"] == "complete"


def test_2_a_canary_failing_its_health_gate_is_rolled_back_and_nothing_else_is_touched(cloud):
    untouched = {env: stack_updated(cloud, env) for env in ("use1", "apse1")}
    switch_off(cloud, "euw1")
    try:
        result = globalctl(cloud, "rollout", "--release", "v2", *FAST)
    finally:
        switch_on(cloud, "euw1")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "rolled back" in result.stdout and "health gate" in result.stdout
    assert released(cloud) == {env: "v1" for env in REGIONS}
    assert {env: stack_updated(cloud, env) for env in ("use1", "apse1")} == untouched
    weights = cloud.client("cloudformation", "us-east-1").describe_stacks(
        StackName="global-backend-routing")["Stacks"][0]["Parameters"]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in weights}["Weights"] == "1,1,1"


def test_3_a_failure_in_the_second_wave_rolls_every_updated_region_back(cloud):
    switch_off(cloud, "use1")
    try:
        result = globalctl(cloud, "rollout", "--release", "v3", *FAST)
    finally:
        switch_on(cloud, "use1")
    assert result.returncode == 1, result.stdout[-3000:]
    state = json.loads((cloud.project / ".globalctl" / "rollouts" / "current.json").read_text())
    assert state["status"] == "rolled back"
    assert state["results"]["euw1"]["status"] == "rolled back"  # it had been deployed, then undone
    assert state["results"]["use1"]["status"] == "rolled back"
    assert state["results"]["apse1"]["status"] == "pending"
    assert released(cloud) == {env: "v1" for env in REGIONS}
    answer = http("GET", f"{cloud.state['global_url']}/health", headers={"X-Client-Location": "eu-west-2"})
    assert answer.json()["release"] == "v1" and answer.headers["x-routed-to"] == "eu-west-1"


def test_4_plan_shows_each_change_set_and_refuses_a_table_replacement(cloud):
    result = globalctl(cloud, "plan", "--release", "v4", "--skip-validate", "--json")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    changes = {c["env"]: c for c in json.loads(result.stdout)["changes"]}
    assert changes["euw1"]["modified"] >= 1 and not changes["euw1"]["stateful_losses"]  # Release changes
    assert changes["table"]["stateful_losses"] == []
    text = cloud.config.read_text()
    cloud.config.write_text(text.replace('parameter_overrides = "TableName=global-items ConsistencyMode',
                                         'parameter_overrides = "TableName=global-items-renamed ConsistencyMode', 1))
    try:
        refused = globalctl(cloud, "plan", "--release", "v4", "--skip-validate", "--regions", "euw1")
    finally:
        cloud.config.write_text(text)
    assert refused.returncode == 2, refused.stdout[-2000:] + refused.stderr[-2000:]
    assert "data would be lost" in refused.stderr and "Table" in refused.stderr
    stacks = cloud.client("cloudformation", "eu-west-1")
    # Previews are deleted; executed change sets go as in CloudFormation; sam leaves the FAILED
    # (empty) change sets of deploys that had no changes, as it does on AWS.
    left = [c for c in stacks.list_change_sets(StackName="global-backend-table")["Summaries"]
            if c["StackName"] == "global-backend-table" and c.get("Status") != "FAILED"]
    assert left == []
    assert released(cloud) == {env: "v1" for env in REGIONS}


def test_5_ctrl_c_mid_rollout_stops_after_the_region_in_flight_and_resume_finishes(cloud):
    import signal
    import subprocess

    from tests.support.polling import wait_until

    current = cloud.project / ".globalctl" / "rollouts" / "current.json"
    before = current.stat().st_mtime if current.exists() else 0.0
    process = subprocess.Popen([globalctl_bin(), "--config", str(cloud.config), "rollout", "--release", "v5", *FAST],
                               cwd=cloud.project, env=cloud.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, preexec_fn=as_from_a_terminal)
    try:
        def canary_done() -> bool:
            if not current.exists() or current.stat().st_mtime <= before:
                return False
            state = json.loads(current.read_text())
            return state["plan"]["release"] == "v5" and state["results"].get("euw1", {}).get("status") == "deployed"

        wait_until(canary_done, 60, "the canary of v5 to be deployed")
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, output[-2000:]
    assert "--resume" in output
    state = json.loads(current.read_text())
    assert state["status"] == "interrupted"
    assert state["results"]["euw1"]["status"] == "deployed"
    assert state["results"]["routing"]["status"] == "pending"
    assert "in progress" not in {r["status"] for r in state["results"].values()}

    resumed = globalctl(cloud, "rollout", "--resume", "--yes", "--gate-timeout", "5")
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert released(cloud) == {env: "v5" for env in REGIONS}
    assert json.loads(current.read_text())["status"] == "complete"


def test_6_rollback_returns_every_region_to_the_previous_release_and_to_a_named_one(cloud):
    assert released(cloud) == {env: "v5" for env in REGIONS}
    back = globalctl(cloud, "rollback", "--yes")  # the complete rollout before v5 is v1
    assert back.returncode == 0, back.stdout[-2000:] + back.stderr[-2000:]
    assert released(cloud) == {env: "v1" for env in REGIONS}
    forward = globalctl(cloud, "rollback", "--to", "v5", "--yes", "--max-concurrent", "3")
    assert forward.returncode == 0, forward.stdout[-2000:] + forward.stderr[-2000:]
    assert released(cloud) == {env: "v5" for env in REGIONS}
    unknown = globalctl(cloud, "rollback", "--to", "v404", "--yes")
    assert unknown.returncode != 0 and "v404" in unknown.stderr and "known releases" in unknown.stderr


def _rollout_process(cloud, release: str, env: dict[str, str] | None = None):
    import subprocess

    return subprocess.Popen([globalctl_bin(), "--config", str(cloud.config), "rollout", "--release", release, *FAST,
                             "--max-concurrent", "2"],
                            cwd=cloud.project, env={**cloud.env, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_7_two_rollouts_started_together_one_is_refused_and_the_regions_are_not_mixed(cloud):
    processes = {release: _rollout_process(cloud, release) for release in ("v7a", "v7b")}
    try:
        outputs = {release: process.communicate(timeout=300)[0] for release, process in processes.items()}
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    codes = {release: process.returncode for release, process in processes.items()}
    assert sorted(codes.values()) == [0, 1], outputs
    winner = next(release for release, code in codes.items() if code == 0)
    loser = next(release for release, code in codes.items() if code == 1)
    assert re.search(rf"error: another change holds the deployment lease: rollout {winner} by \S+ pid \d+ since "
                     r"\S+Z \(expires in \d+ s\)", outputs[loser]), outputs[loser]
    assert released(cloud) == {env: winner for env in REGIONS}
    state = json.loads((cloud.project / ".globalctl" / "rollouts" / "current.json").read_text())
    assert (state["plan"]["release"], state["status"]) == (winner, "complete")  # the refused one wrote nothing
    assert globalctl(cloud, "lease", "show").stdout.startswith("free")


def test_8_a_killed_rollouts_lease_expires_on_its_own_then_resume_finishes(cloud):
    import time

    from tests.support.polling import wait_until

    current = cloud.project / ".globalctl" / "rollouts" / "current.json"
    before = current.stat().st_mtime
    process = _rollout_process(cloud, "v8", {"GLOBALCTL_LEASE_SECONDS": "12"})
    try:
        def canary_done() -> bool:
            if current.stat().st_mtime <= before:
                return False
            state = json.loads(current.read_text())
            return state["plan"]["release"] == "v8" and state["results"].get("euw1", {}).get("status") == "deployed"

        wait_until(canary_done, 120, "the canary of v8 to be deployed")
    finally:
        process.kill()  # SIGKILL: no cleanup, the lease stays behind until it expires
        process.wait()
    held = json.loads(globalctl(cloud, "lease", "show", "--json").stdout)
    assert held["operation"] == "rollout v8"
    refused = globalctl(cloud, "rollout", "--resume", "--yes", "--gate-timeout", "5")  # while the lease lasts
    assert refused.returncode == 1 and "holds the deployment lease: rollout v8" in refused.stderr, refused.stderr
    wait_until(lambda: time.time() > held["expires_at"], 40, "the killed rollout's lease to expire")
    resumed = globalctl(cloud, "rollout", "--resume", "--yes", "--gate-timeout", "5")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-2000:]
    assert released(cloud) == {env: "v8" for env in REGIONS}
    assert json.loads(current.read_text())["status"] == "complete"


def test_9_a_rollout_after_sam_build_and_an_edit_serves_the_edit_and_status_flags_stale_code(cloud):
    from tests.e2e.conftest import _sam

    cloud.run(_sam(), "build")  # the README's own `sam build`: .aws-sam/build holds the code as it is now
    app = cloud.project / "src" / "api" / "app.py"
    source = app.read_text()
    assert source.count('"status": "ok" if') == 1
    app.write_text(source.replace('"status": "ok" if', '"status": "ok, edited after sam build" if'))
    try:
        result = globalctl(cloud, "rollout", "--release", "v9", *FAST, "--max-concurrent", "2")
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        for env in REGIONS:
            body = http("GET", f"{cloud.api(env)}/health").json()
            assert (body["status"], body["release"]) == ("ok, edited after sam build", "v9"), body
        report = json.loads(globalctl(cloud, "status", "--json", "--no-lag").stdout)
        assert {env: r["code"] for env, r in report["regions"].items()} == dict.fromkeys(REGIONS, "matches")

        # Outside globalctl: plain `sam deploy` picks the stale .aws-sam build, under the same release.
        params = cloud.params("apse1").replace("Release=unreleased", "Release=v9")
        cloud.run(_sam(), "deploy", "--config-file", str(cloud.config), "--config-env", "apse1",
                  "--parameter-overrides", params, "--tags", "app=global-backend", "release=v9")
        assert http("GET", f"{cloud.api('apse1')}/health").json()["status"] == "ok"  # the old code
        stale = globalctl(cloud, "status", "--json", "--no-lag")
        report = json.loads(stale.stdout)
        assert stale.returncode == 1 and report["regions"]["apse1"]["healthy"] is False
        assert report["regions"]["apse1"]["code"].startswith("differs: Api/ApiFunction")
        assert report["regions"]["euw1"]["code"] == "matches"
    finally:
        app.write_text(source)
