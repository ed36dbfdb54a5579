"""The global app on a throw-away local cloud, for the benchmarks that need one (rollout,
throughput, replication_lag): a copy of the project in a temporary folder, `globalctl local up`'s
globalctl.localcloud.start on free ports (base port 0), the environment `globalctl local env`
prints, the real `globalctl rollout` to deploy it, and lifecycle.down in a finally block whatever
happens.

Health checkers run at their deployed interval (scale 1.0): nothing here waits on a failover, and
the benchmarks should see the checkers' load as a user's cloud would.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The rollout options every benchmark deploys with: no prompt, no bake (the alarms are checked once,
# a bake would only add the same idle seconds to both sides of a comparison), validate run apart.
FAST = ("--yes", "--bake", "0", "--skip-validate")
COMMAND_TIMEOUT_SECONDS = 1800


class CommandFailed(RuntimeError):
    """A globalctl command exited non-zero; the message carries the tail of its output."""


@dataclass
class App:
    project: Path
    config: Path
    state: dict[str, Any]

    @property
    def env(self) -> dict[str, str]:
        """What `eval "$(globalctl local env)"` sets, on top of ours."""
        from localcloud import lifecycle

        return lifecycle.process_environment(self.state)

    def api_url(self, env_name: str) -> str:
        return self.state["regions"][env_name]["api_url"]

    @property
    def global_url(self) -> str:
        return self.state["global_url"]

    def client(self, service: str, region: str, connections: int = 4) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(service, region_name=region, endpoint_url=self.state["endpoint"],
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            aws_session_token="testing",
                            config=Config(retries={"total_max_attempts": 1}, max_pool_connections=connections))

    def globalctl(self, *args: str, on_line: Callable[[float, str], None] | None = None,
                  on_start: Callable[[int], None] | None = None) -> str:
        """Run globalctl on this project; its merged output. on_line(seconds since start, line)
        sees each line as it is printed (click flushes every echo), for per-step timings;
        on_start(pid) is called once the process exists."""
        command = [str(Path(sys.executable).with_name("globalctl")), "--config", str(self.config), *args]
        started = time.perf_counter()
        lines: list[str] = []
        with subprocess.Popen(command, cwd=self.project, env=self.env, stdout=subprocess.PIPE,  # noqa: S603
                              stderr=subprocess.STDOUT, text=True, bufsize=1) as process:
            if on_start is not None:
                on_start(process.pid)
            for line in process.stdout or ():
                lines.append(line)
                if on_line is not None:
                    on_line(time.perf_counter() - started, line.rstrip("\n"))
            try:
                code = process.wait(timeout=COMMAND_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
        output = "".join(lines)
        if code != 0:
            raise CommandFailed(f"globalctl {' '.join(args[:3])} exited {code}: {output[-3000:]}")
        return output

    def rollout(self, release: str, *extra: str, on_line: Callable[[float, str], None] | None = None,
                on_start: Callable[[int], None] | None = None) -> str:
        return self.globalctl("rollout", "--release", release, *FAST, *extra, on_line=on_line, on_start=on_start)


def copy_project(target: Path, samconfig: str | None = None) -> Path:
    """The project's deployable files into target; samconfig replaces samconfig.toml's text."""
    from harness import project

    return project.copy_project(ROOT, target, samconfig)


@contextlib.contextmanager
def local_cloud(prefix: str, samconfig: str | None = None) -> Iterator[App]:
    """A started local cloud serving a copy of the project (nothing deployed yet); always stopped."""
    from globalctl import localcloud
    from localcloud import lifecycle

    with tempfile.TemporaryDirectory(prefix=f"bench-{prefix}-") as folder:
        project = copy_project(Path(folder), samconfig)
        config = project / "samconfig.toml"
        state = localcloud.start(config, 0)
        try:
            yield App(project, config, state)
        finally:
            lifecycle.down(localcloud.state_dir(project))


@contextlib.contextmanager
def deployed(prefix: str, release: str = "bench", samconfig: str | None = None) -> Iterator[App]:
    """local_cloud with `globalctl rollout` done: table, every region, routing."""
    with local_cloud(prefix, samconfig) as app:
        app.rollout(release)
        yield app


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of the whole machine since boot, from /proc/stat's cpu line."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def process_cpu_seconds(pid: int) -> float:
    """utime+stime of one process (all its threads), without its children, in seconds."""
    try:
        after = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(after[11]) + int(after[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """utime+stime of pid and its live descendants (plus children they reaped), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            after = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # after "(comm)": state ppid ... utime(14) stime(15) cutime(16) cstime(17), counted from 1 at pid
        parents[int(stat.parent.name)] = int(after[1])
        times[int(stat.parent.name)] = sum(int(v) for v in after[11:15])
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent and child not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(p, 0) for p in tree) / tick


class CpuMeter:
    """Where the CPU went between start() and stop(): the whole machine (every helper sharing it
    included), the local cloud's supervisor and its Lambda workers, and this process's reaped
    children (globalctl and every sam it ran). Workers replaced and never reaped during the
    interval are missed, so the supervisor figure is a lower bound."""

    def __init__(self, supervisor_pid: int) -> None:
        self.supervisor_pid = supervisor_pid
        self._start: tuple[float, tuple[int, int], float, float, float] | None = None

    @staticmethod
    def _own() -> tuple[float, float]:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        mine = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime, mine.ru_utime + mine.ru_stime

    def start(self) -> None:
        children, mine = self._own()
        self._start = (time.perf_counter(), _machine_ticks(), tree_cpu_seconds(self.supervisor_pid), children, mine)

    def stop(self) -> dict[str, float]:
        if self._start is None:
            raise RuntimeError("CpuMeter.stop() before start()")
        began, (busy0, total0), cloud0, children0, mine0 = self._start
        wall = time.perf_counter() - began
        busy1, total1 = _machine_ticks()
        children1, mine1 = self._own()
        cores = os.cpu_count() or 1
        return {"wall_s": round(wall, 3),
                "machine_busy_cores": round(cores * (busy1 - busy0) / max(1, total1 - total0), 2),
                "load_average_1m": round(os.getloadavg()[0], 2),  # > cores: others' work queued for the CPU too
                "cloud_cpu_s": round(tree_cpu_seconds(self.supervisor_pid) - cloud0, 2),
                "children_cpu_s": round(children1 - children0, 2),
                "self_cpu_s": round(mine1 - mine0, 2)}
