"""Start, find and stop the local cloud: one supervisor process in the background, found by its
state file, stopped by the PID it recorded.

The state file (.globalctl/local/state.json) is written by the supervisor once every listener
is up; `up` waits for it. A state file whose PID is gone, or belongs to another program, is stale.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"
LOG_FILE = "supervisor.log"
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


def _is_supervisor(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(part.decode(errors="replace") == SUPERVISOR_MODULE for part in cmdline)


def running_state(state_dir: Path) -> dict[str, Any] | None:
    """The state of the running cloud, or None; a stale state file is removed on the way."""
    state = read_state(state_dir)
    if state is None:
        return None
    pid = state.get("pid")
    if isinstance(pid, int) and _is_supervisor(pid) and state.get("ready"):
        return state
    if isinstance(pid, int) and _is_supervisor(pid):
        return state  # starting up: not stale
    state_path(state_dir).unlink(missing_ok=True)
    return None


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def up(state_dir: Path, config: Path, layout: Layout, timeout: float = START_TIMEOUT_SECONDS,
       health_interval_scale: float = 1.0) -> dict[str, Any]:
    state = running_state(state_dir)
    if state is not None:
        raise LocalCloudError(f"the local cloud is already running (pid {state['pid']}, endpoint "
                              f"{state.get('endpoint', '?')}); `globalctl local down` stops it")
    busy = [f"{name} {port}" for name, port in layout.ports().items() if port_in_use(port)]
    if busy:
        raise LocalCloudError(f"port in use on 127.0.0.1: {', '.join(busy)}; stop what holds it or choose "
                              f"another --base-port")
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / LOG_FILE
    command = [sys.executable, "-m", SUPERVISOR_MODULE, "--state-dir", str(state_dir), "--config", str(config),
               "--base-port", str(layout.base_port), "--health-interval-scale", str(health_interval_scale)]
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


def _stop_pid(pid: int, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM the supervisor (it stops its workers), then SIGKILL its whole process group."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)  # the supervisor leads its own session: this is only its group
    except (ProcessLookupError, PermissionError):
        pass


def down(state_dir: Path) -> dict[str, Any]:
    state = read_state(state_dir)
    if state is None:
        raise LocalCloudError("no local cloud is running (no state file in " + str(state_dir) + ")")
    pid = state.get("pid")
    if not isinstance(pid, int) or not _is_supervisor(pid):
        state_path(state_dir).unlink(missing_ok=True)
        raise LocalCloudError("no local cloud is running (removed a stale state file)")
    _stop_pid(pid)
    state_path(state_dir).unlink(missing_ok=True)
    still = [p for p in state.get("ports", {}).values() if isinstance(p, int) and port_in_use(p)]
    if still:
        raise LocalCloudError(f"stopped pid {pid}, but ports are still held: {still}")
    return state
