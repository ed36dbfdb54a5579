"""`globalctl local ...` end to end through the CLI: the supervisor's lifecycle (up, down, stale state,
ports in use, concurrent starts, a hung supervisor) and the control commands (status, env, fault, heal,
resolve), each failure one line on stderr with a meaningful exit code.

Every test works in its own copy of samconfig.toml, so its state dir (<config dir>/.globalctl/local)
is its own; a process belongs to a test when its command line names that state dir (the supervisor)
or its working directory lies inside it (the Lambda workers run in <state dir>/code/...). Teardown
stops the cloud with `local down`, kills whatever of its processes survived, then fails the test if
anything had to be killed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import traceback
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from globalctl.exceptions import LocalCloudError
from globalctl.localcloud import state_dir
from globalctl.main import app
from localcloud import lifecycle
from tests.support import ROOT

runner = CliRunner()

REGION_ENVS = {"euw1": "eu-west-1", "use1": "us-east-1", "apse1": "ap-southeast-1"}
HOME_REGION = "eu-west-1"  # the table env's region in samconfig.toml
NOT_RUNNING = "error: the local cloud is not running; start it with `globalctl local up`"
LOOPBACK_URL = re.compile(r"^http://127\.0\.0\.1:(\d+)$")


# ------------------------------------------------------------------ processes and ports


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, ..."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def gone(pid: int) -> bool:
    """No process, or only its exit status left (a zombie holds no port and runs no code)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is ours
    fields = _stat_fields(pid)
    return fields is None or fields[0] == "Z"


def children_of(pid: int) -> set[int]:
    return {p for p in _all_pids() if (f := _stat_fields(p)) and f[1] == str(pid) and f[0] != "Z"}


def descendants_of(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for child in children_of(todo.pop()) - found:
            found.add(child)
            todo.append(child)
    return found


def group_members(pgid: int) -> set[int]:
    return {p for p in _all_pids() if (f := _stat_fields(p)) and f[2] == str(pgid) and f[0] != "Z"}


def cloud_processes(state_dir: Path) -> set[int]:
    """Live processes of the cloud kept in state_dir: the supervisor and the Lambda workers."""
    found = set()
    for pid in _all_pids():
        if pid == os.getpid() or gone(pid):
            continue
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            continue
        if str(state_dir) in args or cwd.is_relative_to(state_dir):
            found.add(pid)
    return found


def accepts_connection(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def bindable(port: int) -> bool:
    """Can a server listen here again? (SO_REUSEADDR, as every server does: TIME_WAIT is no obstacle.)"""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
    return True


def free_base_port() -> int:
    """A base port whose whole fixed layout (base, +1, +10..+12) is free right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        layout = lifecycle.Layout(base, REGION_ENVS).ports().values()
        if max(layout) <= 65535 and all(bindable(port) for port in layout):
            return base
    raise AssertionError("no free fixed-port layout found on 127.0.0.1")


# ------------------------------------------------------------------ the CLI in a project copy


def one_line(result: Any) -> str:
    """The failure's one line on stderr: no traceback, nothing on stdout."""
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.output
    assert result.stdout.strip() == ""
    return lines[0]


@dataclass
class Project:
    root: Path

    @classmethod
    def make(cls, root: Path) -> Project:
        shutil.copy(ROOT / "samconfig.toml", root / "samconfig.toml")
        return cls(root)

    @property
    def config(self) -> Path:
        return self.root / "samconfig.toml"

    @property
    def state_dir(self) -> Path:
        return state_dir(self.root)

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    def local(self, *args: str, debug: bool = False) -> Any:
        root_options = ["--debug"] if debug else []
        return runner.invoke(app, [*root_options, "--config", str(self.config), "local", *args])

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def write_state(self, text: str) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(text)

    def status(self) -> dict[str, Any]:
        result = self.local("status", "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def stop_everything(self) -> None:
        """`local down`, then kill what survived it; fails when anything survived."""
        try:
            if self.state_file.exists():
                self.local("down")
        finally:
            survivors = cloud_processes(self.state_dir)
            for pid in survivors:  # only processes this test's cloud started (see cloud_processes)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            wait_until(lambda: all(gone(pid) for pid in survivors))
        assert not survivors, f"processes of the local cloud survived: {sorted(survivors)}"

    @contextlib.contextmanager
    def running(self, *up_args: str) -> Iterator[Any]:
        try:
            result = self.local("up", *up_args)
            assert result.exit_code == 0, result.output
            yield result
        finally:
            self.stop_everything()


def _aws_client(service: str, endpoint: str, region: str = HOME_REGION) -> Any:
    import boto3

    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                 aws_session_token="testing", region_name=region).client(
        service, endpoint_url=endpoint)


def start_lambda_worker(endpoint: str) -> dict[str, int]:
    """Deploy a function that reports its own pid and ppid, invoke it once: a worker now runs."""
    iam = _aws_client("iam", endpoint)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role = iam.create_role(RoleName="probe", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "import os\n\ndef handler(event, context):\n"
                                   "    return {'pid': os.getpid(), 'ppid': os.getppid()}\n")
    functions = _aws_client("lambda", endpoint)
    functions.create_function(FunctionName="probe", Runtime="python3.11", Role=role, Handler="app.handler",
                              Code={"ZipFile": code.getvalue()})
    response = functions.invoke(FunctionName="probe", Payload=b"{}")
    assert "FunctionError" not in response
    return json.loads(response["Payload"].read())


# ------------------------------------------------------------------ one cloud shared by read-mostly tests


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, Any]]:
    project = Project.make(tmp_path_factory.mktemp("shared"))
    with project.running("--base-port", "0") as up_result:
        yield project, up_result


@pytest.mark.slow
def test_up_returns_once_every_listener_accepts(shared):
    project, up_result = shared
    state = project.state()
    assert state["ready"] is True
    pid = state["pid"]
    assert isinstance(pid, int) and not gone(pid)
    assert lifecycle.SUPERVISOR_MODULE in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    assert set(state["ports"]) == {"endpoint", "global", *REGION_ENVS}
    assert all(accepts_connection(port) for port in state["ports"].values()), state["ports"]

    lines = up_result.stdout.splitlines()
    assert lines[0] == f"local cloud up (pid {pid})"
    assert f"  AWS endpoint : {state['endpoint']}" in lines
    assert f"  global entry : {state['global_url']}" in lines
    for env, region in REGION_ENVS.items():
        assert f"  {env:<12} : {state['regions'][env]['api_url']} ({region})" in lines
    assert LOOPBACK_URL.match(state["endpoint"]).group(1) == str(state["ports"]["endpoint"])


@pytest.mark.slow
def test_status_json_has_the_documented_shape(shared):
    project, _ = shared
    state = project.state()
    report = project.status()
    assert {"endpoint", "global_url", "regions"} <= set(report)
    assert report["endpoint"] == state["endpoint"] and report["global_url"] == state["global_url"]
    assert list(report["regions"]) == list(REGION_ENVS)  # samconfig order
    for env, region in REGION_ENVS.items():
        entry = report["regions"][env]
        assert set(entry) == {"region", "api_url", "healthy", "fault"}
        assert entry["region"] == region
        assert entry["api_url"] == state["regions"][env]["api_url"]
        assert LOOPBACK_URL.match(entry["api_url"])
        assert isinstance(entry["healthy"], bool) and entry["fault"] is None

    table = project.local("status")
    assert table.exit_code == 0, table.output
    assert all(env in table.stdout and region in table.stdout for env, region in REGION_ENVS.items())


@pytest.mark.slow
def test_env_prints_the_exports_for_sam_and_boto3(shared):
    project, _ = shared
    result = project.local("env")
    assert result.exit_code == 0, result.output
    exports = dict(line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines())
    assert all(line.startswith("export ") for line in result.stdout.splitlines())
    assert exports["AWS_ENDPOINT_URL"] == project.state()["endpoint"]
    assert LOOPBACK_URL.match(exports["AWS_ENDPOINT_URL"])
    assert exports["AWS_ACCESS_KEY_ID"] == exports["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert exports["AWS_DEFAULT_REGION"] == HOME_REGION
    assert exports["SAM_CLI_TELEMETRY"] == "0"


def test_env_vars_needs_a_cloud_that_answers_containers(shared):
    project, _ = shared
    assert project.state()["container_endpoint"] is None  # up without --containers: loopback only
    result = project.local("env-vars")
    assert result.exit_code == 1
    assert one_line(result) == ("error: the local cloud does not answer containers; restart it with "
                                "`globalctl local up --containers`")


def test_env_vars_of_an_unknown_region_is_one_line(shared):
    project, _ = shared
    result = project.local("env-vars", "nope")
    assert result.exit_code == 2
    assert one_line(result).startswith("error: unknown region env 'nope'")


@pytest.mark.slow
def test_up_twice_refuses_and_leaves_the_first_cloud_alone(shared):
    project, _ = shared
    before = project.state()
    result = project.local("up", "--base-port", "0")
    assert result.exit_code == 1
    line = one_line(result)
    assert line.startswith("error: the local cloud is already running")
    assert f"pid {before['pid']}" in line and before["endpoint"] in line
    assert project.state() == before
    assert cloud_processes(project.state_dir) >= {before["pid"]}
    assert all(accepts_connection(port) for port in before["ports"].values())
    assert project.status()["endpoint"] == before["endpoint"]


@pytest.mark.slow
def test_fault_and_heal_change_what_status_reports(shared):
    project, _ = shared
    # An HTTP API in eu-west-1 makes that region healthy, so the outage visibly takes it down.
    _aws_client("apigatewayv2", project.state()["endpoint"], "eu-west-1").create_api(
        Name="probe", ProtocolType="HTTP")
    euw1 = project.status()["regions"]["euw1"]
    assert (euw1["fault"], euw1["healthy"]) == (None, True)
    try:
        result = project.local("fault", "euw1", "outage")
        assert (result.exit_code, result.stdout) == (0, "euw1: outage\n")
        regions = project.status()["regions"]
        assert (regions["euw1"]["fault"], regions["euw1"]["healthy"]) == ("outage", False)
        assert regions["use1"]["fault"] is None and regions["apse1"]["fault"] is None

        result = project.local("heal", "euw1")
        assert (result.exit_code, result.stdout) == (0, "healed: euw1\n")
        assert project.status()["regions"]["euw1"]["fault"] is None
        assert project.status()["regions"]["euw1"]["healthy"] is True

        for env, kind in (("use1", "slow"), ("apse1", "partition")):
            assert project.local("fault", env, kind).exit_code == 0
        assert [r["fault"] for r in project.status()["regions"].values()] == [None, "slow", "partition"]
        result = project.local("heal", "all")
        assert (result.exit_code, result.stdout) == (0, "healed: use1, apse1\n")
        assert [r["fault"] for r in project.status()["regions"].values()] == [None, None, None]
        result = project.local("heal", "all")
        assert (result.exit_code, result.stdout) == (0, "healed: nothing was faulted\n")
    finally:
        project.local("heal", "all")


@pytest.mark.slow
@pytest.mark.parametrize(("args", "expected"), [
    (["fault", "nope", "outage"], "error: unknown region env 'nope'; known: euw1, use1, apse1"),
    (["fault", "euw1", "bogus"], "error: unknown fault 'bogus'; choose one of outage, partition, slow, errors"),
    (["heal", "nope"], "error: unknown region env 'nope'; known: euw1, use1, apse1"),
])
def test_unknown_region_or_fault_is_one_line_exit_2(shared, args, expected):
    project, _ = shared
    result = project.local(*args)
    assert result.exit_code == 2
    assert one_line(result) == expected
    assert all(region["fault"] is None for region in project.status()["regions"].values())


@pytest.mark.slow
def test_resolve_before_the_routing_stack_is_one_line(shared):
    project, _ = shared
    result = project.local("resolve", "api.global-backend.example")
    assert result.exit_code == 1  # the command is fine; the cloud has no routing yet
    line = one_line(result)
    assert "api.global-backend.example" in line and "routing stack" in line


# ------------------------------------------------------------------ nothing running


@pytest.mark.parametrize("args", [
    ["status"], ["status", "--json"], ["env"], ["fault", "euw1", "outage"], ["heal", "all"],
    ["resolve", "api.global-backend.example"], ["env-vars"],
])
def test_commands_other_than_up_need_a_running_cloud(tmp_path, args):
    project = Project.make(tmp_path)
    result = project.local(*args)
    assert result.exit_code == 1
    assert one_line(result) == NOT_RUNNING
    assert not project.state_dir.exists()


def test_down_when_nothing_runs_is_one_line(tmp_path):
    project = Project.make(tmp_path)
    result = project.local("down")
    assert result.exit_code == 1
    assert one_line(result) == f"error: no local cloud is running (no state file in {project.state_dir})"


def test_debug_shows_the_traceback_of_a_failing_local_command(tmp_path):
    project = Project.make(tmp_path)
    plain = project.local("down")
    assert plain.exit_code == 1 and not isinstance(plain.exception, LocalCloudError)

    debug = project.local("down", debug=True)
    assert debug.exit_code != 0
    assert isinstance(debug.exception, LocalCloudError)
    assert str(debug.exception).startswith("no local cloud is running")
    rendered = "".join(traceback.format_exception(debug.exception))
    assert rendered.startswith("Traceback") and "globalctl/localcloud.py" in rendered


@pytest.mark.parametrize("base_port", ["65530", "-1"])
def test_base_port_outside_the_port_range_is_one_line(tmp_path, base_port):
    project = Project.make(tmp_path)
    result = project.local("up", "--base-port", base_port)
    assert result.exit_code == 2
    line = one_line(result)
    assert f"--base-port {base_port}" in line and "65535" in line
    assert not project.state_file.exists()


# ------------------------------------------------------------------ stale state files


def _dead_pid() -> int:
    return int(Path("/proc/sys/kernel/pid_max").read_text()) + 1  # no process can ever have it


STALE_STATES = {
    "dead pid": lambda: json.dumps({"pid": _dead_pid(), "ready": True, "endpoint": "http://127.0.0.1:9"}),
    # The test process is alive but is no supervisor: it must be neither trusted nor signalled.
    "live non-supervisor pid": lambda: json.dumps({"pid": os.getpid(), "ready": True,
                                                   "endpoint": "http://127.0.0.1:9"}),
    "no pid": lambda: json.dumps({"ready": True}),
    "corrupt": lambda: "{not json",
}


@pytest.mark.parametrize("stale", list(STALE_STATES))
def test_down_with_a_stale_state_file_removes_it(tmp_path, stale):
    project = Project.make(tmp_path)
    project.write_state(STALE_STATES[stale]())
    result = project.local("down")
    assert result.exit_code == 1
    assert one_line(result) == "error: no local cloud is running (removed a stale state file)"
    assert not project.state_file.exists()


@pytest.mark.parametrize("stale", ["dead pid", "live non-supervisor pid"])
def test_status_with_a_stale_state_file_is_not_running(tmp_path, stale):
    project = Project.make(tmp_path)
    project.write_state(STALE_STATES[stale]())
    result = project.local("status", "--json")
    assert result.exit_code == 1
    assert one_line(result) == NOT_RUNNING
    assert not project.state_file.exists()


@pytest.mark.slow
def test_a_recorded_pid_now_serving_another_project_is_left_alone(tmp_path):
    project = Project.make(tmp_path)
    elsewhere = state_dir(tmp_path / "other-project")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", lifecycle.SUPERVISOR_MODULE,
                              "--state-dir", str(elsewhere)], start_new_session=True)
    try:
        project.write_state(json.dumps({"pid": other.pid, "ready": True, "endpoint": "http://127.0.0.1:9"}))
        result = project.local("down")
        assert result.exit_code == 1
        assert one_line(result) == "error: no local cloud is running (removed a stale state file)"
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


@pytest.mark.slow
def test_up_replaces_a_stale_state_file(tmp_path):
    project = Project.make(tmp_path)
    project.write_state(STALE_STATES["live non-supervisor pid"]())
    with project.running("--base-port", "0") as result:
        state = project.state()
        assert state["ready"] is True and state["pid"] != os.getpid()
        assert result.stdout.startswith(f"local cloud up (pid {state['pid']})")
        assert project.status()["endpoint"] == state["endpoint"]


# ------------------------------------------------------------------ ports


@pytest.mark.slow
def test_a_port_in_use_is_named_and_nothing_starts(tmp_path):
    project = Project.make(tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        children_before = children_of(os.getpid())
        try:
            result = project.local("up", "--base-port", str(port))
        finally:
            project.stop_everything()
        assert result.exit_code == 1
        line = one_line(result)
        assert line.startswith("error: port in use on 127.0.0.1:") and f"endpoint {port}" in line
        assert not project.state_file.exists()
        assert children_of(os.getpid()) - children_before == set()
        assert not cloud_processes(project.state_dir)


@pytest.mark.slow
def test_down_stops_exactly_the_processes_it_started(tmp_path):
    project = Project.make(tmp_path)
    base = free_base_port()
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with project.running("--base-port", str(base)):
            state = project.state()
            supervisor = state["pid"]
            assert state["ports"] == {"endpoint": base, "global": base + 1,
                                      **{env: base + 10 + i for i, env in enumerate(REGION_ENVS)}}
            worker = start_lambda_worker(state["endpoint"])
            assert worker["ppid"] == supervisor
            started = {supervisor} | descendants_of(supervisor) | group_members(supervisor)
            assert worker["pid"] in started
            assert started == cloud_processes(project.state_dir)

            result = project.local("down")
            assert (result.exit_code, result.stdout) == (0, f"local cloud stopped (pid {supervisor})\n")
            assert wait_until(lambda: all(gone(pid) for pid in started), timeout=5), \
                [pid for pid in started if not gone(pid)]
            assert not project.state_file.exists()
            assert all(bindable(port) for port in state["ports"].values())
            assert bystander.poll() is None  # down touched nothing it did not start
    finally:
        bystander.kill()
        bystander.wait()


# A supervisor that ignores SIGTERM (hung in a shutdown) with a busy worker: like the real ones, the
# worker leads its own session, so the supervisor's process group does not include it.
HUNG_SUPERVISOR = textwrap.dedent("""
    import signal, socket, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    worker = subprocess.Popen([sys.executable, "-c", "import signal, time\\n"
                               "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\ntime.sleep(120)"],
                              cwd=sys.argv[3], start_new_session=True)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    print(worker.pid, server.getsockname()[1], flush=True)
    time.sleep(120)
""")


@pytest.mark.slow
def test_down_kills_a_hung_supervisor_and_its_workers(tmp_path, monkeypatch):
    monkeypatch.setattr(lifecycle, "STOP_TIMEOUT_SECONDS", 0.5)
    project = Project.make(tmp_path)
    project.state_dir.mkdir(parents=True)
    # "localcloud.supervisor" as an argument is what marks a process as the supervisor.
    supervisor = subprocess.Popen(
        [sys.executable, "-c", HUNG_SUPERVISOR, lifecycle.SUPERVISOR_MODULE, "--state-dir", str(project.state_dir)],
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        worker, port = (int(n) for n in supervisor.stdout.readline().split())
        project.write_state(json.dumps({"pid": supervisor.pid, "ready": True, "ports": {"endpoint": port}}))
        assert cloud_processes(project.state_dir) == {supervisor.pid, worker}

        result = project.local("down")
        assert (result.exit_code, result.output) == (0, f"local cloud stopped (pid {supervisor.pid})\n")
        assert gone(supervisor.pid)
        assert wait_until(lambda: gone(worker), timeout=5)
        assert bindable(port)
    finally:
        supervisor.stdout.close()
        project.stop_everything()
        supervisor.wait(timeout=5)


@pytest.mark.slow
def test_concurrent_ups_start_one_cloud(tmp_path):
    project = Project.make(tmp_path)
    command = [str(Path(sys.executable).with_name("globalctl")), "--config", str(project.config), "local", "up",
               "--base-port", "0", "--timeout", "20"]
    try:
        ups = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
        outputs = [up.communicate(timeout=60) for up in ups]
        outcomes = sorted((up.returncode, out, err) for up, (out, err) in zip(ups, outputs))
        assert [code for code, _, _ in outcomes] == [0, 1], outcomes
        (_, won, _), (_, _, lost) = outcomes
        state = project.state()
        assert won.startswith(f"local cloud up (pid {state['pid']})")
        assert lost.strip().startswith(f"error: the local cloud is already running (pid {state['pid']}")
        assert cloud_processes(project.state_dir) == {state["pid"]}
    finally:
        project.stop_everything()
