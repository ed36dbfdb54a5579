"""Start, find and stop the local cloud: one supervisor process in the background, found by its
state file, stopped by the PID it recorded.

The caller names the state directory (globalctl keeps it beside samconfig.toml) and the regions
to serve; the emulator knows nothing of samconfig. The state file (<state dir>/state.json) is
written by the supervisor once every listener is up; `up` waits for it. A state file whose PID is
gone, or belongs to another program, is stale.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

STATE_FILE = "state.json"
LOG_FILE = "supervisor.log"
LOCK_FILE = "up.lock"
SUPERVISOR_MODULE = "localcloud.supervisor"
DEFAULT_BASE_PORT = 4610
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0


class LocalCloudError(Exception):
    """A lifecycle problem the user can act on; the message is the whole story."""


@dataclass(frozen=True)
class Layout:
    base_port: int
    regions: dict[str, str]  # env name -> AWS region, in samconfig order

    def ports(self) -> dict[str, int]:
        """Fixed ports from the base: endpoint, global entry, then one per region env."""
        if self.base_port == 0:
            return {}
        ports = {"endpoint": self.base_port, "global": self.base_port + 1}
        for index, env in enumerate(self.regions):
            ports[env] = self.base_port + 10 + index
        return ports


def state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def read_state(state_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads(state_path(state_dir).read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        return {"corrupt": True}


def _is_supervisor(pid: int, state_dir: Path) -> bool:
    """Is pid the supervisor of this state dir? A recorded pid can outlive its process (a reboot, a
    kill -9) and be reused by another project's supervisor, which this project's `down` must not stop."""
    try:
        args = [part.decode(errors="replace") for part in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")]
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return False
    if SUPERVISOR_MODULE not in args or "--state-dir" not in args[:-1]:
        return False
    served = cwd / args[args.index("--state-dir") + 1]  # absolute when `up` started it
    return os.path.realpath(served) == os.path.realpath(state_dir)


def running_state(state_dir: Path) -> dict[str, Any] | None:
    """The state of the running cloud, or None; a stale state file is removed on the way."""
    state = read_state(state_dir)
    if state is None:
        return None
    pid = state.get("pid")
    if isinstance(pid, int) and _is_supervisor(pid, state_dir) and state.get("ready"):
        return state
    if isinstance(pid, int) and _is_supervisor(pid, state_dir):
        return state  # starting up: not stale
    state_path(state_dir).unlink(missing_ok=True)
    return None


def client_environment(state: dict[str, Any]) -> dict[str, str]:
    """What sam, boto3 and globalctl need to talk to this cloud: `eval "$(globalctl local env)"`.
    SAM_CLI_POLL_DELAY: sam polls stack events every 5 s by default, here a deploy takes seconds."""
    return {
        "AWS_ENDPOINT_URL": state["endpoint"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": state["home_region"],
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAM_CLI_TELEMETRY": "0",
        "SAM_CLI_POLL_DELAY": "0.5",
    }


def process_environment(state: dict[str, Any]) -> dict[str, str]:
    """A child process's whole environment for this cloud (the demo, tests, chaos, benchmarks): this
    process's own, minus any endpoint, profile or config file that could point it at real AWS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL") and k != "AWS_PROFILE"}
    env.update(client_environment(state))
    env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    return env


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@contextlib.contextmanager
def _one_start_at_a_time(state_dir: Path) -> Iterator[None]:
    """Two concurrent `up`s would both start a supervisor; the second's state file hides the first,
    which then runs on untracked (and the first `up` waits out its timeout for a state file that
    names its pid). The lock is released when its file closes, even if this process dies."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def up(state_dir: Path, layout: Layout, home_region: str | None = None, timeout: float = START_TIMEOUT_SECONDS,
       health_interval_scale: float = 1.0, alarm_period_scale: float = 1.0,
       container_gateway: str | None = None) -> dict[str, Any]:
    """Start the cloud serving layout.regions (env name -> AWS region) and return its state once
    everything listens. home_region: where the cloud's own calls come from (the global entry's
    default client location, the workers' LOCALCLOUD_HOME_REGION); None: the first region's.
    container_gateway: answer sam local's containers, and listen on this Docker network gateway
    address too ("": the containers reach loopback themselves, as under Docker Desktop)."""
    with _one_start_at_a_time(state_dir):
        return _up(state_dir, layout, home_region, timeout, health_interval_scale, alarm_period_scale,
                   container_gateway)


def _supervisor_arguments(state_dir: Path, layout: Layout, home_region: str | None,
                         health_interval_scale: float, alarm_period_scale: float = 1.0,
                         container_gateway: str | None = None) -> list[str]:
    """The supervisor's command line after `python -m localcloud.supervisor`."""
    arguments = ["--state-dir", str(state_dir), "--base-port", str(layout.base_port),
                 "--health-interval-scale", str(health_interval_scale),
                 "--alarm-period-scale", str(alarm_period_scale)]
    for env, region in layout.regions.items():
        arguments += ["--region", f"{env}={region}"]
    if home_region:
        arguments += ["--home-region", home_region]
    if container_gateway is not None:  # "": containers, with no gateway on this machine to listen on
        arguments += ["--containers", *(["--container-gateway", container_gateway] if container_gateway else [])]
    return arguments


def _up(state_dir: Path, layout: Layout, home_region: str | None, timeout: float,
        health_interval_scale: float, alarm_period_scale: float = 1.0,
        container_gateway: str | None = None) -> dict[str, Any]:
    state = running_state(state_dir)
    if state is not None:
        raise LocalCloudError(f"the local cloud is already running (pid {state['pid']}, endpoint "
                              f"{state.get('endpoint', '?')}); `globalctl local down` stops it")
    busy = [f"{name} {port}" for name, port in layout.ports().items() if port_in_use(port)]
    if busy:
        raise LocalCloudError(f"port in use on 127.0.0.1: {', '.join(busy)}; stop what holds it or choose "
                              f"another --base-port")
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / LOG_FILE
    command = [sys.executable, "-m", SUPERVISOR_MODULE,
               *_supervisor_arguments(state_dir, layout, home_region, health_interval_scale, alarm_period_scale,
                                      container_gateway)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, close_fds=True, env=_supervisor_env())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            raise LocalCloudError(f"the local cloud failed to start (exit {code}): {_last_line(log_path)}")
        state = read_state(state_dir)
        if state and state.get("ready") and state.get("pid") == process.pid:
            return state
        time.sleep(0.1)  # polling a file another process writes; bounded by the deadline
    _stop_pid(process.pid)
    raise LocalCloudError(f"the local cloud did not become ready within {timeout:.0f} s; see {log_path}")


def _supervisor_env() -> dict[str, str]:
    env = dict(os.environ)
    # The control plane itself never calls out; its Lambda workers get the local endpoint.
    for key in [k for k in env if k.startswith("AWS_ENDPOINT_URL")]:
        env.pop(key)
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true", "PYTHONUNBUFFERED": "1"})
    env.pop("AWS_PROFILE", None)
    return env


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return Path(f"/proc/{pid}").exists() and "zombie" not in _proc_state(pid)


def _proc_state(pid: int) -> str:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("State:"):
                return line.lower()
    except OSError:
        return "zombie"
    return ""


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:  # the fields after "(comm)" are: state, ppid, ...
            if stat.read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                children.append(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return children


def _stop_pid(pid: int, timeout: float | None = None) -> None:
    """SIGTERM the supervisor (it stops its workers); if it outlives the timeout, SIGKILL its process
    group and each worker's: a worker leads its own session (awslambda/runtime/environment.py), so
    the supervisor's group alone would leave a busy worker running. Returns once the supervisor is
    gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + (STOP_TIMEOUT_SECONDS if timeout is None else timeout)
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    own_group = os.getpgrp()
    groups = {pid}  # the supervisor leads its own session: this is only its group
    for child in _children(pid):
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(child))
    for group in groups - {own_group}:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS  # a killed process still closes its sockets on exit
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)


def down(state_dir: Path) -> dict[str, Any]:
    state = read_state(state_dir)
    if state is None:
        raise LocalCloudError("no local cloud is running (no state file in " + str(state_dir) + ")")
    pid = state.get("pid")
    if not isinstance(pid, int) or not _is_supervisor(pid, state_dir):
        state_path(state_dir).unlink(missing_ok=True)
        raise LocalCloudError("no local cloud is running (removed a stale state file)")
    _stop_pid(pid)
    state_path(state_dir).unlink(missing_ok=True)
    still = [p for p in state.get("ports", {}).values() if isinstance(p, int) and port_in_use(p)]
    if still:
        raise LocalCloudError(f"stopped pid {pid}, but ports are still held: {still}")
    return state
