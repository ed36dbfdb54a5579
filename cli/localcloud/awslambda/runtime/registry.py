"""The registry of deployed functions the supervisor owns: one :class:`FunctionPool` per ARN.

Each function (and so each region's copy of it) runs in its own worker processes, so module
globals, environment and crashes never cross functions or regions.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .errors import FunctionNotDeployed
from ...invocation import InvokeOutcome
from .pool import FunctionPool
from .spec import FunctionSpec


class LambdaRuntime:
    """Deploys, invokes and removes functions; ``close()`` leaves no worker process behind.

    ``base_env`` is the environment every worker starts from (endpoint of the local moto server,
    dummy credentials, ``AWS_CONFIG_FILE=/dev/null``...); nothing else of the supervisor's own
    environment reaches a function. Logs go to ``<log_dir>/<region>/<function name>.log``.
    """

    def __init__(self, base_env: Mapping[str, str], log_dir: Path, max_concurrency: int = 4, *,
                 queue_timeout_seconds: float = 10.0, python: str = sys.executable,
                 on_log_line: Callable[[FunctionSpec, str, bytes], None] | None = None) -> None:
        self._base_env = dict(base_env)
        self._on_log_line = on_log_line  # each line a function writes, with its log stream
        self._log_dir = Path(log_dir)
        self._max_concurrency = max_concurrency
        self._queue_timeout = queue_timeout_seconds
        self._python = python
        self._pools: dict[str, FunctionPool] = {}
        self._lock = threading.Lock()
        self._closed = False

    def log_path(self, spec: FunctionSpec) -> Path:
        return self._log_dir / spec.region / f"{spec.function_name}.log"

    def deploy(self, spec: FunctionSpec) -> None:
        """Create the function's pool, or point the existing one at the new spec."""
        while True:
            with self._lock:
                if self._closed:
                    raise RuntimeError("LambdaRuntime is closed")
                pool = self._pools.get(spec.function_arn)
                if pool is None:
                    self._pools[spec.function_arn] = FunctionPool(
                        spec, base_env=self._base_env, log_path=self.log_path(spec),
                        max_concurrency=self._max_concurrency,
                        queue_timeout_seconds=self._queue_timeout, python=self._python,
                        on_log_line=self._on_log_line)
                    return
            try:
                pool.update(spec)  # outside the lock: stopping idle workers takes a moment
                return
            except FunctionNotDeployed:
                continue  # removed concurrently: deploy afresh

    def remove(self, function_arn: str) -> bool:
        """Stop and forget a function; False if it was not deployed."""
        with self._lock:
            pool = self._pools.pop(function_arn, None)
        if pool is None:
            return False
        pool.close()
        return True

    def spec(self, function_arn: str) -> FunctionSpec:
        return self._pool(function_arn).spec

    def functions(self) -> list[FunctionSpec]:
        with self._lock:
            return [pool.spec for pool in self._pools.values()]

    def invoke(self, function_arn: str, event: Any, *,
               request_id: str | None = None) -> InvokeOutcome:
        """Invoke synchronously (RequestResponse). Raises FunctionNotDeployed, TooManyRequests,
        InvalidRequestContent; every function-side failure comes back as an error payload."""
        return self._pool(function_arn).invoke(event, request_id=request_id)

    def pids(self) -> list[int]:
        with self._lock:
            pools = list(self._pools.values())
        return sorted(pid for pool in pools for pid in pool.pids())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def __enter__(self) -> LambdaRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pool(self, function_arn: str) -> FunctionPool:
        with self._lock:
            pool = self._pools.get(function_arn)
        if pool is None:
            raise FunctionNotDeployed(function_arn)
        return pool
