"""The execution environments of one function: scale out per concurrent request, reuse warm ones.

Lambda behaviour mirrored here (Lambda developer guide, "Lambda execution environment lifecycle"
and "Lambda function scaling"): an environment serves one request at a time; a request that finds
no idle environment gets a new one (a cold start: init, then invoke); a crashed or timed-out
environment is discarded and the next request starts a fresh one; a code or configuration change
means new environments. Timeout and exit payloads copy what the Invoke API returns:
``{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: <id> Error: Task timed out after
3.00 seconds"}`` and ``{"errorType":"Runtime.ExitError","errorMessage":"RequestId: <id> Error:
Runtime exited with error: exit status 1"}`` (same shape as the Lambda runtime interface emulator
used by LocalStack, localstack/lambda-runtime-init). An empty payload is delivered as ``{}``, as
the service does (aws/aws-lambda-dotnet#834).

Unlike Lambda, a request that finds every environment busy at ``max_concurrency`` waits (up to
``queue_timeout_seconds``) before :class:`TooManyRequests`: locally, queueing beats failing.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ...invocation import InvokeOutcome, TooManyRequests
from .environment import EnvironmentDied, EnvironmentTimeout, ExecutionEnvironment
from .errors import FunctionNotDeployed, InvalidRequestContent
from .logs import LogSink
from .spec import FunctionSpec

# Lambda's on-demand init phase may take 10 s; past that the init is retried inside the invoke
# under the function timeout, so an init succeeds if it finishes within the larger of the two.
INIT_TIMEOUT_SECONDS = 10.0
STOP_GRACE_SECONDS = 1.0
# How long to wait for a worker's END/REPORT lines to come through the log pipe.
LOG_SETTLE_SECONDS = 2.0


def encode_event(event: Any) -> bytes:
    """The invocation payload: raw JSON bytes are passed through, anything else is serialised."""
    if isinstance(event, (bytes, bytearray, memoryview)):
        data = bytes(event)
        if not data.strip():
            return b"{}"
        try:
            json.loads(data)
        except ValueError as exc:
            raise InvalidRequestContent(f"Could not parse request body into json: {exc}") from None
        return data
    return json.dumps(event).encode()


def _utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class FunctionPool:
    """Up to ``max_concurrency`` worker processes for one function ARN."""

    def __init__(self, spec: FunctionSpec, *, base_env: Mapping[str, str], log_path: Path,
                 max_concurrency: int = 4, queue_timeout_seconds: float = 10.0,
                 python: str = sys.executable,
                 on_log_line: Callable[[FunctionSpec, str, bytes], None] | None = None) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        self._spec = spec
        self._base_env = dict(base_env)
        self._python = python
        self._max = max_concurrency
        self._queue_timeout = queue_timeout_seconds
        self._sink = LogSink(log_path, None if on_log_line is None else (
            lambda stream, line: on_log_line(self._spec, stream, line)))
        self._cond = threading.Condition()
        self._idle: list[ExecutionEnvironment] = []  # LIFO: the warmest environment is reused
        self._live: set[ExecutionEnvironment] = set()
        self._checked_out = 0  # busy or starting
        self._closed = False

    @property
    def spec(self) -> FunctionSpec:
        return self._spec

    @property
    def log_path(self) -> Path:
        return self._sink.path

    def pids(self) -> list[int]:
        with self._cond:
            return sorted(env.pid for env in self._live if env.alive)

    # ---------------------------------------------------------------- invoke

    def invoke(self, event: Any, *, request_id: str | None = None) -> InvokeOutcome:
        """Run one synchronous invocation; blocks while every environment is busy."""
        body = encode_event(event)
        request_id = request_id or str(uuid.uuid4())
        env, spec = self._acquire()
        healthy = False
        try:
            if env is None:
                env = self._start(spec, request_id)
            result, healthy = self._run(env, spec, body, request_id)
            return result
        finally:
            self._release(env, healthy)

    def _acquire(self) -> tuple[ExecutionEnvironment | None, FunctionSpec]:
        deadline = time.monotonic() + self._queue_timeout
        with self._cond:
            while True:
                if self._closed:
                    raise FunctionNotDeployed(self._spec.function_arn)
                if self._idle:
                    env = self._idle.pop()
                    self._checked_out += 1
                    return env, env.spec
                if self._checked_out < self._max:
                    self._checked_out += 1
                    return None, self._spec
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TooManyRequests(
                        f"Rate Exceeded: {self._spec.function_name} stayed at its concurrency "
                        f"of {self._max} for {self._queue_timeout:.1f} s")
                self._cond.wait(remaining)

    def _start(self, spec: FunctionSpec, request_id: str) -> ExecutionEnvironment:
        env = ExecutionEnvironment(spec, self._base_env, self._sink, self._python,
                                   first_request_id=request_id)
        with self._cond:
            closed = self._closed
            if not closed:
                self._live.add(env)
        if closed:
            env.kill()
            env.dispose()
            raise FunctionNotDeployed(spec.function_arn)
        return env

    def _release(self, env: ExecutionEnvironment | None, healthy: bool) -> None:
        discard = False
        with self._cond:
            self._checked_out -= 1
            if env is not None:
                if healthy and not self._closed and env.spec == self._spec:
                    self._idle.append(env)
                else:
                    self._live.discard(env)
                    discard = True
            self._cond.notify()
        if discard and env is not None:
            env.stop(STOP_GRACE_SECONDS)
            env.dispose()

    def _run(self, env: ExecutionEnvironment, spec: FunctionSpec, body: bytes,
             request_id: str) -> tuple[InvokeOutcome, bool]:
        init_ms: float | None = None
        if not env.initialised:
            started = time.monotonic()
            try:
                header, payload = env.receive(
                    started + max(INIT_TIMEOUT_SECONDS, spec.timeout_seconds))
            except EnvironmentTimeout:
                return self._timed_out(env, spec, request_id, started, None), False
            except EnvironmentDied:
                return self._exited(env, request_id, started, None), False
            init_ms = (time.monotonic() - started) * 1000
            if header.get("type") == "init_error":
                # The worker reports and exits, as the real runtime does; the next request
                # starts a fresh environment and runs the init again.
                env.wait_exit(STOP_GRACE_SECONDS)
                return InvokeOutcome(payload, "Unhandled", request_id, 0.0, init_ms,
                                     env.pump.finish(LOG_SETTLE_SECONDS)), False
            env.initialised = True
        else:
            env.pump.begin(request_id)

        started = time.monotonic()
        header = {
            "type": "invoke",
            "request_id": request_id,
            "invoked_function_arn": spec.function_arn,
            "deadline_ms": int(time.time() * 1000) + spec.timeout_seconds * 1000,
            "init_duration_ms": init_ms,
        }
        try:
            env.send(header, body)
            reply, payload = env.receive(started + spec.timeout_seconds)
        except EnvironmentTimeout:
            return self._timed_out(env, spec, request_id, started, init_ms), False
        except EnvironmentDied:
            return self._exited(env, request_id, started, init_ms), False
        if reply.get("request_id") != request_id:  # cannot happen unless the protocol broke
            env.kill()
            return self._exited(env, request_id, started, init_ms), False
        duration_ms = float(reply.get("duration_ms") or (time.monotonic() - started) * 1000)
        tail = env.pump.finish(LOG_SETTLE_SECONDS)
        function_error = "Unhandled" if reply.get("error") else None
        return InvokeOutcome(payload, function_error, request_id, duration_ms, init_ms, tail), True

    def _timed_out(self, env: ExecutionEnvironment, spec: FunctionSpec, request_id: str,
                   started: float, init_ms: float | None) -> InvokeOutcome:
        env.kill()
        env.pump.wait_eof(LOG_SETTLE_SECONDS)
        duration_ms = (time.monotonic() - started) * 1000
        message = f"Task timed out after {spec.timeout_seconds:.2f} seconds"
        env.pump.note(f"{_utc_now()} {request_id} {message}")
        self._note_end(env, spec, request_id, duration_ms, init_ms, "timeout")
        payload = json.dumps({"errorType": "Sandbox.Timedout",
                              "errorMessage": f"RequestId: {request_id} Error: {message}"})
        return InvokeOutcome(payload.encode(), "Unhandled", request_id, duration_ms, init_ms,
                             env.pump.finish(0))

    def _exited(self, env: ExecutionEnvironment, request_id: str, started: float,
                init_ms: float | None) -> InvokeOutcome:
        if not env.wait_exit(STOP_GRACE_SECONDS):
            env.kill()
        env.pump.wait_eof(LOG_SETTLE_SECONDS)
        duration_ms = (time.monotonic() - started) * 1000
        message = f"RequestId: {request_id} Error: Runtime exited with error: {env.exit_description()}"
        env.pump.note(message)
        env.pump.note("Runtime.ExitError")
        self._note_end(env, env.spec, request_id, duration_ms, init_ms, "error")
        payload = json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message})
        return InvokeOutcome(payload.encode(), "Unhandled", request_id, duration_ms, init_ms,
                             env.pump.finish(0))

    @staticmethod
    def _note_end(env: ExecutionEnvironment, spec: FunctionSpec, request_id: str,
                  duration_ms: float, init_ms: float | None, status: str) -> None:
        report = (f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
                  f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {spec.memory_mb} MB\t")
        if init_ms is not None:
            report += f"Init Duration: {init_ms:.2f} ms\t"
        env.pump.note(f"END RequestId: {request_id}")
        env.pump.note(report + f"Status: {status}")

    # ---------------------------------------------------------------- lifecycle

    def update(self, spec: FunctionSpec) -> None:
        """Switch to a new spec: idle environments stop now, busy ones after their invocation."""
        if spec.function_arn != self._spec.function_arn:
            raise ValueError(f"pool for {self._spec.function_arn} cannot run {spec.function_arn}")
        with self._cond:
            if self._closed:
                raise FunctionNotDeployed(spec.function_arn)
            if spec == self._spec:
                return
            self._spec = spec
            stale, self._idle = self._idle, []
            self._live.difference_update(stale)
            self._cond.notify_all()
        for env in stale:
            env.close_requests()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for env in stale:
            if not env.wait_exit(max(0.0, deadline - time.monotonic())):
                env.kill()
            env.dispose()

    def close(self) -> None:
        """Stop every environment (SIGTERM, SIGKILL after a short grace) and reap it."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
            live = list(self._live)
            self._cond.notify_all()
        for env in idle:
            env.close_requests()
        for env in live:
            env.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for env in live:
            if not env.wait_exit(max(0.0, deadline - time.monotonic())):
                env.kill()
        # Busy environments belong to the threads invoking them: those see EOF, report
        # Runtime.ExitError and dispose of the pipes themselves.
        for env in idle:
            env.dispose()
        with self._cond:
            self._live.difference_update(idle)
        self._sink.close()
