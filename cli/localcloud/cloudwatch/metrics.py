"""The local CloudWatch's metric store: the data planes publish here, the alarm evaluator reads here.

Datapoints are kept as moto's own MetricDatum objects in moto's CloudWatch backend, so the public
APIs moto implements (GetMetricData, GetMetricStatistics, ListMetrics) answer with them unchanged.
A metric is identified as CloudWatch identifies it: namespace, name and the exact set of dimensions.

Memory is bounded: datapoints older than RETENTION_SECONDS are dropped as new ones arrive (CloudWatch
keeps one-minute data for 15 days; a local cloud keeps what its alarms and a person can look at).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from moto.cloudwatch.models import MetricDatum, cloudwatch_backends

RETENTION_SECONDS = 3 * 3600.0
_PRUNE_EVERY = 1000  # publishes between two retention sweeps

_lock = threading.Lock()
_published = 0


@dataclass(frozen=True)
class Datapoint:
    timestamp: float  # epoch seconds
    value: float
    unit: str | None


def publish(account_id: str, region: str, namespace: str, metric_name: str, dimensions: Mapping[str, str],
            value: float, unit: str | None = None, timestamp: float | None = None) -> None:
    """One datapoint of one metric, as a PutMetricData of one value would store it."""
    global _published
    backend = cloudwatch_backends[account_id][region]
    # naive UTC, as moto stamps the datapoints it is sent (its queries compare them with naive times)
    stamp = datetime.fromtimestamp(time.time() if timestamp is None else timestamp, tz=timezone.utc).replace(tzinfo=None)
    datum = MetricDatum(namespace, metric_name, float(value),
                        [{"Name": k, "Value": v} for k, v in dimensions.items()], stamp, unit)
    with _lock:
        backend.metric_data.append(datum)
        _published += 1
        if _published % _PRUNE_EVERY == 0:
            _prune(backend)


def _epoch(stamp: datetime) -> float:
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp()


def _prune(backend) -> None:
    cutoff = time.time() - RETENTION_SECONDS
    data = backend.metric_data
    if data and _epoch(data[0].timestamp) < cutoff:
        backend.metric_data = [d for d in data if _epoch(d.timestamp) >= cutoff]


def datapoints(account_id: str, region: str, namespace: str, metric_name: str, dimensions: Mapping[str, str],
               start: float, end: float) -> list[Datapoint]:
    """The metric's datapoints with start <= timestamp < end, oldest first (whoever published them:
    a data plane here, or a client through PutMetricData)."""
    backend = cloudwatch_backends[account_id][region]
    wanted = {(k, v) for k, v in dimensions.items()}
    with _lock:
        data = list(backend.metric_data)
    found = []
    for datum in data:
        if datum.namespace != namespace or datum.name != metric_name or not isinstance(datum, MetricDatum):
            continue
        if {(d.name, d.value) for d in datum.dimensions} != wanted:
            continue
        stamp = _epoch(datum.timestamp)
        if start <= stamp < end:
            found.append(Datapoint(stamp, float(datum.value), datum.unit))
    found.sort(key=lambda p: p.timestamp)
    return found
