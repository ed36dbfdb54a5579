"""The seam between moto's control plane and the local data planes.

Each service's moto patch (<service>/patch.py) runs inside moto's request threads; it must not
import the supervisor or a data plane. The supervisor fills these callbacks in before the AWS
endpoint takes its first request, so the control plane can start a Lambda invocation or tell the
data planes that a resource changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .invocation import InvokeOutcome


def _unset(*_args: Any, **_kwargs: Any) -> Any:
    return None


@dataclass
class Hooks:
    # Base URL of the local AWS endpoint (http://127.0.0.1:<port>): custom resources PUT their
    # response under it, as a Lambda-backed custom resource PUTs to its presigned S3 URL.
    endpoint_url: str = "http://127.0.0.1:0"
    # invoke(function_arn, event): the function run synchronously in the local runtime
    invoke: Callable[[str, dict[str, Any]], InvokeOutcome] | None = None
    # function_changed(account_id, region, function_name) after a create or any code/config update
    function_changed: Callable[[str, str, str], None] = _unset
    function_deleted: Callable[[str, str, str], None] = _unset
    # event_source_mappings_changed(account_id, region) after a create/update/delete of a mapping
    event_source_mappings_changed: Callable[[str, str], None] = _unset
    # stream_record_added(account_id, region, table_name) after a write lands in a table's stream
    stream_record_added: Callable[[str, str, str], None] = _unset
    # health_observations(health_check_id) -> list of checker observations, or None if unknown
    health_observations: Callable[[str], list[dict[str, Any]] | None] = _unset
    # routing_changed(account_id) after health checks, records or traffic policy instances change
    routing_changed: Callable[[str], None] = _unset
    # publish_metric(account_id, region, namespace, metric_name, dimensions, value, unit): the local
    # CloudWatch's metric store (cloudwatch/metrics.py), for data planes that run in moto's threads
    publish_metric: Callable[..., None] = _unset
    extra: dict[str, Any] = field(default_factory=dict)


hooks = Hooks()
