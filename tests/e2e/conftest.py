"""The whole global app on a local cloud: a copy of the project, `globalctl local up`, then the
real `sam deploy --config-env ...` of the table, every region and the routing, once per session.

Health checkers run at a tenth of the deployed interval (10 s -> 1 s) so failover tests take
seconds; everything else is as deployed.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config

from globalctl import localcloud
from harness import project
from localcloud import lifecycle
from tests.support import ROOT
from tests.support.polling import wait_until  # noqa: F401 - the tests import it from here

HEALTH_INTERVAL_SCALE = 0.1
# A rollout for tests: no confirmation, no bake, a short health gate, validate left to its own tests.
FAST = ("--yes", "--bake", "0", "--gate-timeout", "5", "--skip-validate")
SAM_TIMEOUT_SECONDS = 240


def as_from_a_terminal() -> None:
    """preexec_fn for a CLI the test will Ctrl-C: SIGINT back to its default disposition. A suite
    started in the background (nohup, `cmd &`) runs with SIGINT ignored, which children inherit
    and Python then honours by never raising KeyboardInterrupt."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def in_background(command: list[str], cwd: Path, env: dict[str, str],
                  stderr: int = subprocess.PIPE) -> Iterator[tuple[subprocess.Popen, list[str]]]:
    """A command running beside the test (SIGINT as from a terminal), its stdout lines collected
    as they come; killed if still running when the block ends, its reader joined."""
    import threading

    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
                               preexec_fn=as_from_a_terminal)
    lines: list[str] = []

    def read() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.append(line.rstrip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield process, lines
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        reader.join(timeout=10)


def copy_project(target: Path) -> Path:
    return project.copy_project(ROOT, target)


def _sam() -> str:
    candidate = Path(sys.executable).with_name("sam")
    return str(candidate) if candidate.exists() else "sam"


def globalctl_bin() -> str:
    return str(Path(sys.executable).with_name("globalctl"))


@dataclass
class Http:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 15.0) -> Http:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback only
            return Http(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return Http(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


@dataclass
class LocalCloud:
    project: Path
    config: Path
    state: dict[str, Any]
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return lifecycle.process_environment(self.state)

    def client(self, service: str, region: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.state["endpoint"],
                            config=Config(retries={"total_max_attempts": 1}))

    def api(self, env: str) -> str:
        return self.state["regions"][env]["api_url"]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(list(args), cwd=self.project, env=self.env, capture_output=True, text=True,
                                timeout=SAM_TIMEOUT_SECONDS, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args[:4])} failed ({result.returncode}):\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """globalctl against this cloud's project, as a user would run it (no exit-code check)."""
        return self.run(globalctl_bin(), "--config", str(self.config), *args, check=False)

    def params(self, env: str) -> str:
        return self.run(globalctl_bin(), "--config", str(self.config), "params", env).stdout.strip()

    def deploy(self, env: str, *overrides: str) -> subprocess.CompletedProcess:
        command = [_sam(), "deploy", "--config-file", str(self.config), "--config-env", env]
        if overrides:
            command += ["--parameter-overrides", " ".join(overrides)]
        return self.run(*command)

    def stack_outputs(self, stack_name: str, region: str) -> dict[str, str]:
        stack = self.client("cloudformation", region).describe_stacks(StackName=stack_name)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def control(self, name: str, body: dict[str, Any]) -> Any:
        response = http("POST", f"{self.state['endpoint']}/_localcloud/{name}", body)
        assert response.status == 200, response.body
        return response.json()


def start_cloud(project: Path, config_name: str, alarm_period_scale: float = 1.0,
                container_gateway: str | None = None) -> LocalCloud:
    config = project / config_name
    state = localcloud.start(config, 0, timeout=60, health_interval_scale=HEALTH_INTERVAL_SCALE,
                             alarm_period_scale=alarm_period_scale, container_gateway=container_gateway)
    return LocalCloud(project, config, state)


def stop_cloud(cloud: LocalCloud) -> None:
    try:
        lifecycle.down(localcloud.state_dir(cloud.project))
    except lifecycle.LocalCloudError:
        pass
    pid = cloud.state["pid"]
    assert not Path(f"/proc/{pid}").exists() or "zombie" in lifecycle._proc_state(pid), "supervisor survived"
    for port in cloud.state["ports"].values():
        assert not lifecycle.port_in_use(port), f"port {port} still held after down"


@contextlib.contextmanager
def running_cloud(tmp_path_factory: pytest.TempPathFactory, name: str,
                  config_name: str = "samconfig.toml", alarm_period_scale: float = 1.0,
                  container_gateway: str | None = None) -> Iterator[LocalCloud]:
    """A fresh copy of the project on its own local cloud, stopped (and checked stopped) afterwards.
    container_gateway: also answer sam local's containers (see localcloud.start)."""
    cloud = start_cloud(copy_project(tmp_path_factory.mktemp(name)), config_name, alarm_period_scale,
                        container_gateway)
    try:
        yield cloud
    finally:
        stop_cloud(cloud)


def rolled_out(tmp_path_factory: pytest.TempPathFactory, name: str, container_gateway: str | None = None):
    """A module's own cloud with `globalctl rollout --release v1` done; stopped afterwards."""
    with running_cloud(tmp_path_factory, name, container_gateway=container_gateway) as cloud:
        result = cloud.cli("rollout", "--release", "v1", *FAST)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        yield cloud


@pytest.fixture(scope="session")
def global_app(tmp_path_factory: pytest.TempPathFactory):
    """The shipped topology (euw1, use1, apse1, table in eu-west-1, routing in us-east-1), deployed."""
    with running_cloud(tmp_path_factory, "project") as cloud:
        cloud.deploy("table", cloud.params("table"))
        for env in ("euw1", "use1", "apse1"):
            cloud.deploy(env)
        cloud.deploy("routing", cloud.params("routing"))
        from globalctl import topology

        for env in topology.load(cloud.config).regions:
            cloud.outputs[env.name] = cloud.stack_outputs(env.stack_name, env.region)
        yield cloud


@pytest.fixture(scope="session")
def strong_app(tmp_path_factory: pytest.TempPathFactory):
    """MRSC: samconfig.strong.toml's table (us-east-1, us-east-2, us-west-2) and the use1 region."""
    with running_cloud(tmp_path_factory, "strong", "samconfig.strong.toml") as cloud:
        cloud.deploy("table", cloud.params("table"))
        cloud.deploy("use1")
        yield cloud
