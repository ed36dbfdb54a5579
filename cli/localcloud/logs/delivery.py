"""A function's log lines into CloudWatch Logs, as Lambda delivers them: log group
/aws/lambda/<function name> (created if missing, as Lambda does when its role allows it), one log
stream per execution environment (YYYY/MM/DD/[$LATEST]<id>), so `sam logs`, `aws logs tail` and
FilterLogEvents show them. Every embedded-metric-format line also becomes metrics (emf.py).

Memory stays bounded: a stream keeps its last MAX_EVENTS_PER_STREAM events (CloudWatch keeps a
group's events for its retention; a local cloud keeps what a person reads).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from moto.logs.models import logs_backends

from .emf import metrics_of

MAX_EVENTS_PER_STREAM = 10_000
log = logging.getLogger("localcloud.logs")


class LogDelivery:
    def __init__(self, account_id: str, publish: Callable[..., None] | None = None):
        self.account_id = account_id
        self._publish = publish
        self._lock = threading.Lock()
        self._known: set[tuple[str, str, str]] = set()

    def deliver(self, region: str, function_name: str, stream: str, line: bytes) -> None:
        """One line a function's execution environment wrote."""
        text = line.decode("utf-8", "replace").rstrip("\n")
        if not text or not stream:
            return
        now_ms = int(time.time() * 1000)
        group = f"/aws/lambda/{function_name}"
        try:
            with self._lock:
                backend = logs_backends[self.account_id][region]
                if (region, group, stream) not in self._known:
                    if group not in backend.groups:
                        backend.create_log_group(group, {})
                    if stream not in backend.groups[group].streams:
                        backend.create_log_stream(group, stream)
                    self._known.add((region, group, stream))
                log_stream = backend.groups[group].streams[stream]
                backend.put_log_events(group, stream, [{"timestamp": now_ms, "message": text}])
                if len(log_stream.events) > MAX_EVENTS_PER_STREAM:
                    del log_stream.events[: len(log_stream.events) - MAX_EVENTS_PER_STREAM]
        except Exception:  # noqa: BLE001 - a deleted group or stream: forget it and recreate next time
            with self._lock:
                self._known.discard((region, group, stream))
            log.debug("log delivery to %s %s failed", group, stream, exc_info=True)
        if self._publish is not None:
            for metric in metrics_of(text):
                stamp = (metric.timestamp_ms or now_ms) / 1000
                for value in metric.values:
                    self._publish(self.account_id, region, metric.namespace, metric.name, metric.dimensions, value,
                                  metric.unit, stamp)
