"""What `globalctl local` works through: the state directory beside samconfig, the lifecycle, and
the supervisor's control calls (plain HTTP on loopback).

The one owner of globalctl's conventions for the local cloud: where its state lives
(`state_dir`) and which regions it serves (`start`, from samconfig's topology). The emulator
(cli/localcloud/) is given both and imports nothing from globalctl; the demo, the tests, chaos and
the benchmarks start it through `start` too."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import typer

from globalctl import topology
from globalctl.exceptions import LocalCloudError, LocalCloudNotRunning, UsageError
from globalctl.inputs import region_env
from localcloud import lifecycle

CONTROL_TIMEOUT_SECONDS = 30.0
# The hosts a local cloud's endpoint may name: control calls go nowhere else, and globalctl treats
# an AWS_ENDPOINT_URL on one of them as pointing at the local cloud (globalctl.endpoints).
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


# samconfig's local environments read the deployed region's variables from here (env_vars).
SAM_ENV_VARS = Path(".globalctl") / "local" / "sam-env-vars.json"


def state_dir(project_root: Path) -> Path:
    """Where the local cloud of the project in project_root (the folder of its samconfig) keeps its
    state file, logs and function code."""
    return project_root / ".globalctl" / "local"


def start(config_path: Path, base_port: int = lifecycle.DEFAULT_BASE_PORT,
          timeout: float = lifecycle.START_TIMEOUT_SECONDS, health_interval_scale: float = 1.0,
          alarm_period_scale: float = 1.0, container_gateway: str | None = None) -> dict[str, Any]:
    """Start the local cloud of the project whose samconfig is config_path: its region envs (in
    samconfig order), its home region, in its state dir; the cloud's state once everything listens.
    Raises lifecycle.LocalCloudError; UsageError when the fixed ports would leave 1..65535."""
    top = topology.load(config_path)
    layout = lifecycle.Layout(base_port, {env.name: env.region for env in top.regions})
    last = max(layout.ports().values(), default=0)
    if layout.base_port < 0 or last > 65535:  # else bind() raises OverflowError, not a clear line
        raise UsageError(f"--base-port {layout.base_port}: the local cloud needs ports {layout.base_port}.."
                         f"{last}, all within 1..65535 (or 0 for free ports)")
    return lifecycle.up(state_dir(config_path.resolve().parent), layout, top.home_region, timeout,
                        health_interval_scale, alarm_period_scale, container_gateway)


def docker_gateway(network: str = "bridge") -> str:
    """The gateway address of Docker's network when it is on this machine (Linux: the host side of
    the bridge, where the endpoint must listen too); "" when Docker runs in a VM of its own (Docker
    Desktop, Finch), which forwards host.docker.internal to the host's loopback itself."""
    import socket

    import docker  # SAM's own Docker SDK, in the same environment

    try:
        config = docker.from_env().networks.get(network).attrs["IPAM"]["Config"]
    except Exception as error:  # noqa: BLE001  # the SDK wraps socket, HTTP and API errors alike
        raise LocalCloudError(f"--containers: Docker does not answer ({str(error).splitlines()[0][:200]}); "
                              f"start Docker first") from None
    gateways = [entry["Gateway"] for entry in config or [] if entry.get("Gateway")]
    if not gateways:
        raise LocalCloudError(f"--containers: Docker's {network!r} network has no gateway address")
    with socket.socket() as probe:
        try:
            probe.bind((gateways[0], 0))
        except OSError:
            return ""
    return gateways[0]


@dataclass
class LocalCloudContext:
    config_path: Path

    @classmethod
    def from_typer(cls, ctx: typer.Context) -> LocalCloudContext:
        obj = ctx.find_root().obj or {}
        return cls(Path(obj.get("config", "samconfig.toml")))

    @property
    def state_dir(self) -> Path:
        return state_dir(self.config_path.resolve().parent)

    def _topology(self) -> topology.Topology:
        return topology.load(self.config_path)

    def up(self, base_port: int | None, timeout: float, health_interval_scale: float = 1.0,
           alarm_period_scale: float = 1.0, containers: bool = False) -> dict[str, Any]:
        try:
            gateway = docker_gateway() if containers else None
            return start(self.config_path, lifecycle.DEFAULT_BASE_PORT if base_port is None else base_port,
                         timeout, health_interval_scale, alarm_period_scale, gateway)
        except lifecycle.LocalCloudError as error:
            raise LocalCloudError(str(error)) from None

    def down(self) -> dict[str, Any]:
        try:
            return lifecycle.down(self.state_dir)
        except lifecycle.LocalCloudError as error:
            raise LocalCloudError(str(error)) from None

    def state(self) -> dict[str, Any]:
        state = lifecycle.running_state(self.state_dir)
        if not state or not state.get("ready"):
            raise LocalCloudNotRunning()
        return state

    def environment(self) -> dict[str, str]:
        return lifecycle.client_environment(self.state())

    def write_sam_env_vars(self, env: str | None) -> tuple[Path, str, int]:
        """The deployed region's function variables as `sam local --env-vars` reads them, keyed by
        the function's path (`Api/ApiFunction`): the names only a deploy makes (the nested stacks'
        SSM parameter and topic) are what the deployed functions have. Returns (file, env, count)."""
        import os

        from globalctl import build

        top = self._topology()
        target = region_env(top, env) if env else top.regions[0]
        container_endpoint = self.state().get("container_endpoint")
        if not container_endpoint:
            raise LocalCloudError("the local cloud does not answer containers; restart it with "
                                  "`globalctl local up --containers`")
        os.environ.pop("AWS_PROFILE", None)  # only ever this cloud: its endpoint and dummy credentials
        os.environ.update({**self.environment(), "AWS_CONFIG_FILE": os.devnull,
                           "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
        from botocore.exceptions import ClientError

        try:
            functions = build.deployed_functions(target)
        except ClientError as error:
            raise LocalCloudError(f"{target.name}: {error.response['Error'].get('Message', error)}; roll a release "
                                  f"out first (`globalctl rollout`)") from None
        if not functions:
            raise LocalCloudError(f"{target.name} has no functions deployed on the local cloud; roll a release "
                                  f"out first (`globalctl rollout`)")
        # The containers' endpoint too: samconfig's LocalEndpointUrl names the default port, this one the real.
        endpoint = {"AWS_ENDPOINT_URL": container_endpoint}
        variables = {path: {**config.get("Environment", {}).get("Variables", {}), **endpoint}
                     for path, config in functions.items()}
        path = self.config_path.resolve().parent / SAM_ENV_VARS
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(variables, indent=2, sort_keys=True) + "\n")
        return path, target.name, len(variables)

    def call(self, name: str, body: dict[str, Any] | None = None) -> Any:
        state = self.state()
        endpoint = str(state.get("endpoint", ""))
        # The state file is only a file: whatever it says, control calls go to plain HTTP on loopback.
        if urlparse(endpoint).scheme != "http" or urlparse(endpoint).hostname not in LOOPBACK:
            raise LocalCloudError(f"the local cloud's state names {endpoint!r}, not an http endpoint on loopback")
        data = json.dumps(body or {}).encode()
        request = urllib.request.Request(f"{endpoint}/_localcloud/{name}", data=data, method="POST",
                                         headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(  # noqa: S310  # nosec B310 # endpoint checked above: http on loopback
                    request, timeout=CONTROL_TIMEOUT_SECONDS) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            try:
                message = json.loads(error.read()).get("message", str(error))
            except ValueError:
                message = str(error)
            # 400: the command line asked for something that does not exist; 404 and 5xx: the cloud's state.
            raise (UsageError if error.code == 400 else LocalCloudError)(message) from None
        except (urllib.error.URLError, OSError) as error:
            raise LocalCloudError(f"the local cloud does not answer at {endpoint}: {error}") from None

    def status(self) -> dict[str, Any]:
        return self.call("status")

    def fault(self, env: str, kind: str, latency_ms: int, error_rate: float) -> None:
        region_env(self._topology(), env)  # checked here, so a typo is refused whether or not the cloud runs
        self.call("fault", {"env": env, "kind": kind, "latency_ms": latency_ms, "error_rate": error_rate})

    def heal(self, env: str) -> list[str]:
        if env != "all":
            region_env(self._topology(), env)
        return self.call("heal", {"env": env})["healed"]

    def serve(self, env: str) -> dict[str, Any]:
        """Have the running cloud serve a region env it does not serve yet (one added to samconfig
        since `local up`): its API gets the next port; nothing else is restarted."""
        found = region_env(self._topology(), env)
        return self.call("regions", {"env": found.name, "region": found.region})

    def resolve(self, name: str, from_location: str | None) -> dict[str, Any]:
        return self.call("resolve", {"name": name, "from": from_location})
