"""One execution environment: a worker process, its protocol pipes and its log pump.

Ownership rule (it is what keeps file descriptors safe across threads): the thread that checked an
environment out of the pool is the only one that reads, writes or closes its pipes. Any thread may
signal or reap the process; ``close()`` of a pool only signals busy environments, and the owning
thread then sees EOF and disposes of them.

Exit descriptions use the wording Lambda reports for a dead runtime, e.g.
``Runtime exited with error: exit status 1`` / ``signal: killed`` (Go ProcessState strings; seen
in Invoke responses with errorType Runtime.ExitError).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .logs import LogSink, OutputPump
from .spec import FunctionSpec, execution_environment, new_log_stream_name
from .worker import FRAME, write_frame

WORKER_SCRIPT = Path(__file__).with_name("worker.py")


class EnvironmentTimeout(Exception):
    """The deadline passed before the worker answered."""


class EnvironmentDied(Exception):
    """The worker's response pipe reached EOF (or its request pipe broke): the process is gone."""


class ExecutionEnvironment:
    """A started worker process for one :class:`FunctionSpec`."""

    def __init__(self, spec: FunctionSpec, base_env: Mapping[str, str], sink: LogSink,
                 python: str, first_request_id: str | None = None) -> None:
        self.spec = spec
        self.log_stream_name = new_log_stream_name()
        self.initialised = False
        env = execution_environment(spec, base_env, self.log_stream_name)
        request_r, request_w = os.pipe()
        response_r, response_w = os.pipe()
        output_r, output_w = os.pipe()
        try:
            # -u: the runtime writes logs unbuffered; -B: /var/task is read-only in Lambda, so no
            # __pycache__ is written into the code; -P: sys.path[0] is the code, set by the worker.
            self.process = subprocess.Popen(
                [python, "-u", "-B", "-P", str(WORKER_SCRIPT), str(request_r), str(response_w)],
                env=env, cwd=spec.code_dir, stdin=subprocess.DEVNULL,
                stdout=output_w, stderr=subprocess.STDOUT, pass_fds=(request_r, response_w),
                close_fds=True,
                # Own process group: a timeout kill also takes what the handler spawned, and a
                # Ctrl-C in the supervisor's terminal is the supervisor's to handle, not ours.
                start_new_session=True,
            )
        except BaseException:
            for fd in (request_w, response_r, output_r):
                os.close(fd)
            raise
        finally:
            for fd in (request_r, response_w, output_w):
                os.close(fd)
        self.pid = self.process.pid
        self._request_fd: int | None = request_w
        self._response_fd: int | None = response_r
        self._process_lock = threading.Lock()
        self.pump = OutputPump(output_r, sink, name=f"lambda-log-{spec.function_name}-{self.pid}",
                               request_id=first_request_id, stream=self.log_stream_name)

    # ---------------------------------------------------------------- protocol (owner thread)

    def send(self, header: dict[str, Any], body: bytes) -> None:
        if self._request_fd is None:
            raise EnvironmentDied("request pipe closed")
        try:
            write_frame(self._request_fd, header, body)
        except OSError as exc:  # BrokenPipeError: the worker is gone
            raise EnvironmentDied(str(exc)) from exc

    def receive(self, deadline: float) -> tuple[dict[str, Any], bytes]:
        """The next frame from the worker; ``deadline`` is a ``time.monotonic()`` instant."""
        header_len, body_len = FRAME.unpack(self._read_exact(FRAME.size, deadline))
        header = json.loads(self._read_exact(header_len, deadline))
        body = self._read_exact(body_len, deadline) if body_len else b""
        return header, body

    def _read_exact(self, size: int, deadline: float) -> bytes:
        if self._response_fd is None:
            raise EnvironmentDied("response pipe closed")
        poller = select.poll()
        poller.register(self._response_fd, select.POLLIN)
        buf = bytearray()
        while len(buf) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EnvironmentTimeout()
            if not poller.poll(remaining * 1000):
                continue
            chunk = os.read(self._response_fd, size - len(buf))
            if not chunk:
                raise EnvironmentDied("response pipe reached EOF")
            buf += chunk
        return bytes(buf)

    def close_requests(self) -> None:
        """Close the request pipe: an idle worker exits at once (its read hits EOF)."""
        if self._request_fd is not None:
            os.close(self._request_fd)
            self._request_fd = None

    def dispose(self) -> None:
        """Release the pipes once the process is gone (owner thread only)."""
        self.close_requests()
        if self._response_fd is not None:
            os.close(self._response_fd)
            self._response_fd = None
        self.pump.wait_eof(1.0)

    # ---------------------------------------------------------------- process (any thread)

    def signal(self, signum: int) -> None:
        # Only while the process is unreaped: after that its pid could belong to someone else.
        with self._process_lock:
            if self.process.poll() is None:
                try:
                    os.killpg(self.pid, signum)
                except (ProcessLookupError, PermissionError):
                    pass

    def wait_exit(self, timeout: float) -> bool:
        """Reap the process, waiting up to ``timeout`` seconds; True once it has exited."""
        deadline = time.monotonic() + timeout
        while True:
            with self._process_lock:
                if self.process.poll() is not None:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.wait_exit(5.0)

    def stop(self, grace: float) -> None:
        """Graceful stop (owner thread): EOF first, SIGKILL if it has not exited after ``grace``."""
        self.close_requests()
        if not self.wait_exit(grace):
            self.kill()

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def exit_description(self) -> str:
        code = self.process.returncode
        if code is None:
            return "unknown"
        if code < 0:
            name = signal.strsignal(-code) or f"signal {-code}"
            return f"signal: {name.lower()}"
        return f"exit status {code}"
