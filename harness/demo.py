"""`make demo` (`python -m harness.demo`, from the project root): the whole global app on the
local cloud, then a smoke check a person can read.

Starts the local cloud (restarting it if one runs) with alarm periods of 3 s, rolls a release out
with `globalctl rollout` (the table, every region and the routing, each a real
`sam deploy --config-env <env>`, gated and baked), prints `globalctl status`, runs a short
`globalctl drill euw1`, then: a write through euw1, the same item read through apse1 once
replicated, the global entry answering two client locations from their nearest region, an outage
of euw1 moving its traffic elsewhere, and heal. Last, a bad release (its list route answers 500,
which the smoke gate never calls) rolled out under client traffic, stopped in the canary by its
alarm; it is built from a throwaway copy of the project, so the checkout is never edited.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from localcloud import lifecycle

CONFIG = Path("samconfig.toml")
FAILOVER_TIMEOUT_SECONDS = 120
ALARM_PERIOD_SCALE = 0.05  # a 60 s alarm period lasts 3 s: the bake's minimum is 12 s, not 5 minutes


class DemoFailed(Exception):
    pass


def say(text: str) -> None:
    print(text, flush=True)


def _bin(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


def _http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, dict, Any]:
    """(status, headers, JSON body or text) of one request; status 0 when nothing answered."""
    from globalctl.endpoints import http

    response = http(method, url, body, headers)
    parsed = response.json() if response.status else None
    return response.status, response.headers, parsed if parsed is not None else response.body.decode(errors="replace")


def _until(condition: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    return None


def deploy_everything(state: dict[str, Any]) -> None:
    """globalctl rollout: the table, the canary, the other regions, then the routing, each gated."""
    env = lifecycle.process_environment(state)
    started = time.monotonic()
    release = f"demo-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    command = [_bin("globalctl"), "rollout", "--release", release, "--yes", "--skip-validate"]
    result = subprocess.run(command, env=env, text=True, check=False, timeout=900)
    if result.returncode != 0:
        raise DemoFailed(f"globalctl rollout exited {result.returncode}")
    say(f"  rolled out {release} in {time.monotonic() - started:.0f} s; globalctl status:")
    status = subprocess.run([_bin("globalctl"), "status"], env=env, text=True, check=False, timeout=120)
    if status.returncode != 0:
        raise DemoFailed("globalctl status reports an unhealthy region")
    say("  a short failover drill of euw1 (drained through the routing while clients keep writing):")
    drill = subprocess.run([_bin("globalctl"), "drill", "euw1", "--duration", "10"], env=env, text=True,
                           check=False, timeout=300)
    if drill.returncode != 0:
        raise DemoFailed("globalctl drill euw1 failed")


def smoke(state: dict[str, Any]) -> None:
    apis = {env: info["api_url"] for env, info in state["regions"].items()}
    entry = state["global_url"]
    item_id = f"demo-{int(time.time())}"

    status, headers, body = _http("PUT", f"{apis['euw1']}/items/{item_id}", {"data": {"hello": "from euw1"}})
    if status != 201:
        raise DemoFailed(f"PUT through euw1 answered {status}: {body}")
    say(f"  PUT {apis['euw1']}/items/{item_id} -> {status}, served by {headers.get('x-served-by-region')}")
    written = time.monotonic()
    found = _until(lambda: (r := _http("GET", f"{apis['apse1']}/items/{item_id}"))[0] == 200 and r, 15)
    if not found:
        raise DemoFailed("the item did not replicate to apse1 within 15 s")
    say(f"  GET {apis['apse1']}/items/{item_id} -> 200 from {found[1].get('x-served-by-region')} "
        f"after {time.monotonic() - written:.2f} s: {json.dumps(found[2]['data'])}")

    def routed(location: str) -> str | None:
        status, headers, _ = _http("GET", f"{entry}/health", headers={"X-Client-Location": location})
        return headers.get("x-routed-to") if status == 200 else None

    for location in ("eu-west-2", "ap-northeast-1"):
        say(f"  global entry, client in {location:<15} -> routed to {routed(location)}")

    say("  fault: euw1 outage (its API, health endpoint and replication stop)")
    lifecycle_call(state, "fault", {"env": "euw1", "kind": "outage"})
    started = time.monotonic()
    moved = _until(lambda: (r := routed("eu-west-2")) not in (None, "eu-west-1") and r, FAILOVER_TIMEOUT_SECONDS)
    if not moved:
        raise DemoFailed("traffic did not leave eu-west-1")
    say(f"  global entry, client in eu-west-2       -> routed to {moved} after {time.monotonic() - started:.0f} s "
        f"(health check interval 10 s x failure threshold 3)")
    lifecycle_call(state, "heal", {"env": "euw1"})
    say("  heal: euw1 serves again; Route 53 sends its traffic back after 3 passing checks (~30 s)")


def bad_release(state: dict[str, Any]) -> None:
    """A release whose list route answers 500, rolled out from a copy of the project under client
    traffic: the canary's bake sees its alarm fire, and every region stays on the release before."""
    import tempfile
    import threading

    from harness import project

    env = lifecycle.process_environment(state)

    def euw1_serves_again() -> bool:  # after the heal above: the canary needs its clients back
        _, headers, _ = _http("GET", f"{state['global_url']}/health", headers={"X-Client-Location": "eu-west-2"})
        return headers.get("x-routed-to") == "eu-west-1"

    if not _until(euw1_serves_again, FAILOVER_TIMEOUT_SECONDS):
        raise DemoFailed("euw1 did not get its clients back after the heal")
    errors: dict[str, int] = {}
    stop = threading.Event()

    def clients() -> None:
        while not stop.is_set():
            for location in ("eu-west-2", "us-east-2", "ap-southeast-2"):
                status, headers, _ = _http("GET", f"{state['global_url']}/items?limit=5",
                                           headers={"X-Client-Location": location})
                if status >= 500:
                    region = headers.get("x-served-by-region", "?")
                    errors[region] = errors.get(region, 0) + 1
            stop.wait(0.2)

    with tempfile.TemporaryDirectory(prefix="demo-bad-release-") as folder:
        copy = project.copy_project(CONFIG.resolve().parent, Path(folder))
        (copy / ".globalctl").mkdir()
        (copy / ".globalctl" / "local").symlink_to(localcloud_state_dir())  # the same running local cloud
        app = copy / "src" / "api" / "app.py"
        app.write_text(app.read_text().replace("    page_size = codec.parse_limit(limit)\n",
                                               "    raise RuntimeError('a bad release: listing is broken')\n", 1))
        worker = threading.Thread(target=clients, daemon=True)
        worker.start()
        started = time.monotonic()
        try:
            result = subprocess.run([_bin("globalctl"), "rollout", "--release", "demo-bad", "--yes", "--skip-validate"],
                                    cwd=copy, env=env, text=True, capture_output=True, check=False, timeout=600)
        finally:
            stop.set()
            worker.join(timeout=30)
    reason = next((line.strip() for line in result.stdout.splitlines() if "alarms gate" in line), "")
    if result.returncode == 0 or "ALARM" not in reason:
        raise DemoFailed(f"the bad release was not stopped by an alarm (exit {result.returncode}): "
                         f"{(result.stdout + result.stderr)[-1500:]}")
    releases = {env: (_http("GET", f"{info['api_url']}/health")[2] or {}).get("release")
                for env, info in state["regions"].items()}
    if "demo-bad" in releases.values():
        raise DemoFailed(f"a region still serves the bad release: {releases}")
    say(f"  stopped in the canary after {time.monotonic() - started:.0f} s: {reason[:220]}")
    say(f"  clients' 500s by region while it baked: {errors or 'none'}; releases now: {releases}")


def localcloud_state_dir() -> Path:
    from globalctl import localcloud

    return localcloud.state_dir(CONFIG.resolve().parent)


def lifecycle_call(state: dict[str, Any], name: str, body: dict[str, Any]) -> Any:
    status, _, answer = _http("POST", f"{state['endpoint']}/_localcloud/{name}", body)
    if status != 200:
        raise DemoFailed(f"control call {name} answered {status}: {answer}")
    return answer


def main() -> int:
    from globalctl import localcloud

    started = time.monotonic()
    state_dir = localcloud.state_dir(CONFIG.resolve().parent)
    if lifecycle.running_state(state_dir):
        say("a local cloud is running: restarting it for a clean demo")
        lifecycle.down(state_dir)
    try:
        state = localcloud.start(CONFIG, alarm_period_scale=ALARM_PERIOD_SCALE)
        say(f"local cloud up: AWS endpoint {state['endpoint']}; console {state.get('console_url')}")
        say("deploying with globalctl rollout (each step a real sam deploy --config-env <env>):")
        deploy_everything(state)
        say("smoke check:")
        smoke(state)
        say("a bad release (GET /items answers 500; the smoke gate never lists), under client traffic:")
        bad_release(state)
    except (DemoFailed, lifecycle.LocalCloudError) as error:
        say(f"demo failed: {error}")
        return 1
    say("")
    say(f"done in {time.monotonic() - started:.0f} s. The local cloud keeps running. Open in a browser:")
    say(f"  demo site    : {state['global_url']}/   (who served you, items, replication live, region health)")
    say(f"  console      : {state.get('console_url')}   (regions, one-click faults, routing, alarms, releases)")
    say(f"  global entry : {state['global_url']}   (header X-Client-Location: <aws region>)")
    for env, info in state["regions"].items():
        say(f"  {env:<12} : {info['api_url']}  ({info['region']})")
    say(f"  AWS endpoint : {state['endpoint']}   (eval \"$(.venv/bin/globalctl local env)\" for sam and boto3)")
    say("stop it with: make down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
