"""Lambda's wiring: deployed functions, as the control plane (moto) knows them, running in the
local runtime (awslambda/runtime/), and the route public layers are downloaded from.

moto holds each function's configuration and code zip; the runtime holds worker processes. A
function is (re)deployed into the runtime when the control plane announces a change, so the next
invocation runs the new code or environment, as Lambda does after UpdateFunctionCode/Configuration.
GetLayerVersion's Content.Location for Powertools' public layer points at the endpoint's
/_localcloud/layers/<file> (public_layers.py); `register_public_layers` serves it there.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

from moto.awslambda.models import lambda_backends

from . import public_layers
from .runtime.code import extract_code
from ..invocation import InvokeOutcome, TooManyRequests
from .runtime.errors import FunctionNotDeployed
from .runtime.registry import LambdaRuntime
from .runtime.spec import FunctionSpec

log = logging.getLogger("localcloud.awslambda")


# publish(account_id, region, namespace, metric_name, dimensions, value, unit)
Publish = Callable[[str, str, str, str, Mapping[str, str], float, str], None]


def _unpublished(*_: Any) -> None:
    return None


def register_public_layers(endpoint: Any) -> None:
    """Serve the public layers' zips (GET only) on the AWS endpoint (aws_endpoint.AwsEndpoint)."""
    endpoint.route(public_layers.ROUTE, public_layers.serve, ("GET",))


class Functions:
    def __init__(self, base_env: Mapping[str, str], work_dir: Path, max_concurrency: int = 4,
                 publish: Publish = _unpublished,
                 deliver_log: Callable[[str, str, str, bytes], None] | None = None):
        work_dir = work_dir.resolve()  # a worker's cwd is its code dir: every path it gets is absolute
        self.code_root = work_dir / "code"
        on_line = None if deliver_log is None else (
            lambda spec, stream, line: deliver_log(spec.region, spec.function_name, stream, line))
        self.runtime = LambdaRuntime(base_env, work_dir / "logs", max_concurrency=max_concurrency,
                                     on_log_line=on_line)
        self._lock = threading.Lock()
        self._publish = publish
        self._in_flight: dict[str, int] = {}

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
        """Invoke by ARN (qualifier dropped: the local cloud runs $LATEST), publishing the
        invocation's metrics as Lambda does."""
        arn = ":".join(function_arn.split(":")[:7])
        account, region, name = arn.split(":")[4], arn.split(":")[3], arn.split(":")[6]
        with self._lock:
            in_flight = self._in_flight[arn] = self._in_flight.get(arn, 0) + 1
        metric = {"FunctionName": name}
        self._publish(account, region, "AWS/Lambda", "ConcurrentExecutions", metric, in_flight, "Count")
        try:
            try:
                outcome = self.runtime.invoke(arn, event)
            except FunctionNotDeployed:
                self.changed(account, region, name)
                outcome = self.runtime.invoke(arn, event)
        except TooManyRequests:
            self._publish(account, region, "AWS/Lambda", "Throttles", metric, 1, "Count")
            raise
        finally:
            with self._lock:
                self._in_flight[arn] -= 1
        # "Lambda function metrics" (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html):
        # Invocations counts every invocation, Errors those that ended in a function error.
        self._publish(account, region, "AWS/Lambda", "Invocations", metric, 1, "Count")
        self._publish(account, region, "AWS/Lambda", "Errors", metric, 1 if outcome.function_error else 0, "Count")
        self._publish(account, region, "AWS/Lambda", "Duration", metric, outcome.duration_ms, "Milliseconds")
        return outcome

    def pids(self) -> list[int]:
        return self.runtime.pids()

    def close(self) -> None:
        self.runtime.close()
