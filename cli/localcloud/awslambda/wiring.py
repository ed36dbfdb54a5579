"""Lambda's wiring: deployed functions, as the control plane (moto) knows them, running in the
local runtime (awslambda/runtime/).

moto holds each function's configuration and code zip; the runtime holds worker processes. A
function is (re)deployed into the runtime when the control plane announces a change, so the next
invocation runs the new code or environment, as Lambda does after UpdateFunctionCode/Configuration.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Mapping

from moto.awslambda.models import lambda_backends

from .runtime.code import extract_code
from ..invocation import InvokeOutcome
from .runtime.errors import FunctionNotDeployed
from .runtime.registry import LambdaRuntime
from .runtime.spec import FunctionSpec

log = logging.getLogger("localcloud.awslambda")


class Functions:
    def __init__(self, base_env: Mapping[str, str], work_dir: Path, max_concurrency: int = 4):
        work_dir = work_dir.resolve()  # a worker's cwd is its code dir: every path it gets is absolute
        self.code_root = work_dir / "code"
        self.runtime = LambdaRuntime(base_env, work_dir / "logs", max_concurrency=max_concurrency)
        self._lock = threading.Lock()

    def changed(self, account_id: str, region: str, function_name: str) -> None:
        """Deploy the function as the control plane now describes it."""
        try:
            fn = lambda_backends[account_id][region].get_function(function_name)
        except Exception:  # noqa: BLE001 - deleted meanwhile: nothing to deploy
            return
        spec = self._spec(fn)
        self.runtime.deploy(spec)

    def _spec(self, fn: Any) -> FunctionSpec:
        _, code_dir = extract_code(fn.code_bytes, self.code_root)
        return FunctionSpec.from_configuration(fn.get_configuration(), code_dir)

    def deleted(self, account_id: str, region: str, function_name: str) -> None:
        arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.runtime.remove(arn)

    def invoke(self, function_arn: str, event: dict[str, Any]) -> InvokeOutcome:
        """Invoke by ARN (qualifier dropped: the local cloud runs $LATEST)."""
        arn = ":".join(function_arn.split(":")[:7])
        try:
            return self.runtime.invoke(arn, event)
        except FunctionNotDeployed:
            account, region, name = arn.split(":")[4], arn.split(":")[3], arn.split(":")[6]
            self.changed(account, region, name)
            return self.runtime.invoke(arn, event)

    def pids(self) -> list[int]:
        return self.runtime.pids()

    def close(self) -> None:
        self.runtime.close()
