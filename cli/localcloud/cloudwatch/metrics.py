"""The local CloudWatch's store of the metrics the data planes publish (API Gateway, Lambda, ...),
and the alarm evaluator's source.

A data plane publishes one value per event (a request, an invocation). Values are kept per metric
(namespace, name and the exact set of dimensions, as CloudWatch identifies a metric) in one-second
buckets: count, sum, minimum, maximum and a sample of up to SAMPLE_PER_SECOND values for
percentiles (exact below that rate, a uniform sample above it). That keeps a busy local cloud's
memory flat, where one object per value would grow by thousands a second.

moto's CloudWatch answers GetMetricStatistics, GetMetricData and ListMetrics from its own list of
datapoints plus, computed at query time, what each CloudWatchMetricProvider subclass returns: this
module registers one, so those APIs see every closed bucket as a statistic set (as a service that
publishes StatisticValues does). Values a client sent with PutMetricData stay in moto's list, and
the evaluator reads both.

Retention: RETENTION_SECONDS of buckets (CloudWatch keeps one-minute data for 15 days; a local
cloud keeps what its alarms and a person look at).
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.cloudwatch.models import CloudWatchMetricProvider, MetricAggregatedDatum, MetricDatum, cloudwatch_backends

RETENTION_SECONDS = 3600
SAMPLE_PER_SECOND = 50

Dimensions = tuple[tuple[str, str], ...]


@dataclass
class Bucket:
    """One second of one metric's values."""

    second: int
    count: int = 0
    total: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")
    sample: list[float] = field(default_factory=list)

    def add(self, value: float, rng: random.Random) -> None:
        self.count += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        if len(self.sample) < SAMPLE_PER_SECOND:
            self.sample.append(value)
        else:  # reservoir sampling: every value of the second equally likely to be kept
            slot = rng.randrange(self.count)
            if slot < SAMPLE_PER_SECOND:
                self.sample[slot] = value


@dataclass
class Series:
    namespace: str
    name: str
    dimensions: Dimensions
    unit: str | None
    buckets: deque[Bucket] = field(default_factory=deque)


def key_of(dimensions: Mapping[str, str]) -> Dimensions:
    return tuple(sorted((str(k), str(v)) for k, v in dimensions.items()))


class MetricStore:
    def __init__(self, retention_seconds: int = RETENTION_SECONDS):
        self.retention_seconds = retention_seconds
        self._series: dict[tuple[str, str, str, str, str, Dimensions], Series] = {}
        self._lock = threading.Lock()
        self._rng = random.Random()

    def put(self, account_id: str, region: str, namespace: str, name: str, dimensions: Mapping[str, str],
            value: float, unit: str | None = None, timestamp: float | None = None) -> None:
        dims = key_of(dimensions)
        second = int(time.time() if timestamp is None else timestamp)
        key = (account_id, region, namespace, name, unit or "", dims)
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = Series(namespace, name, dims, unit)
            buckets = series.buckets
            if not buckets or buckets[-1].second < second:
                buckets.append(Bucket(second))
                while buckets and buckets[0].second < second - self.retention_seconds:
                    buckets.popleft()
                bucket = buckets[-1]
            else:  # a late value (another thread read the clock first, or an explicit timestamp)
                bucket = self._bucket_at(buckets, second)
            bucket.add(float(value), self._rng)

    @staticmethod
    def _bucket_at(buckets: deque[Bucket], second: int) -> Bucket:
        for index in range(len(buckets) - 1, -1, -1):
            if buckets[index].second == second:
                return buckets[index]
            if buckets[index].second < second:
                buckets.insert(index + 1, Bucket(second))
                return buckets[index + 1]
        buckets.appendleft(Bucket(second))
        return buckets[0]

    def buckets(self, account_id: str, region: str, namespace: str, name: str, dimensions: Mapping[str, str],
                start: float, end: float) -> list[Bucket]:
        """The metric's buckets with start <= second < end, oldest first, every unit together."""
        dims = key_of(dimensions)
        with self._lock:
            found = [Bucket(b.second, b.count, b.total, b.low, b.high, list(b.sample))
                     for (acct, reg, ns, metric, _unit, d), series in self._series.items()
                     if (acct, reg, ns, metric, d) == (account_id, region, namespace, name, dims)
                     for b in series.buckets if start <= b.second < end]
        found.sort(key=lambda b: b.second)
        return found

    def series(self, account_id: str, region: str) -> list[Series]:
        with self._lock:
            return [Series(s.namespace, s.name, s.dimensions, s.unit, deque(s.buckets))
                    for (acct, reg, *_), s in self._series.items() if (acct, reg) == (account_id, region)]

    def clear(self) -> None:
        with self._lock:
            self._series.clear()


STORE = MetricStore()


def publish(account_id: str, region: str, namespace: str, metric_name: str, dimensions: Mapping[str, str],
            value: float, unit: str | None = None, timestamp: float | None = None) -> None:
    """One value of one metric, as a data plane emits it."""
    STORE.put(account_id, region, namespace, metric_name, dimensions, value, unit, timestamp)


def client_values(account_id: str, region: str, namespace: str, name: str, dimensions: Mapping[str, str],
                  start: float, end: float) -> list[tuple[float, float]]:
    """(epoch seconds, value) of what clients sent with PutMetricData for this metric."""
    wanted = set(key_of(dimensions))
    found = []
    for datum in list(cloudwatch_backends[account_id][region].metric_data):
        if not isinstance(datum, MetricDatum) or datum.namespace != namespace or datum.name != name:
            continue
        if {(d.name, d.value) for d in datum.dimensions} != wanted:
            continue
        stamp = datum.timestamp if datum.timestamp.tzinfo else datum.timestamp.replace(tzinfo=timezone.utc)
        if start <= stamp.timestamp() < end:
            found.append((stamp.timestamp(), float(datum.value)))
    return found


class DataPlaneMetrics(CloudWatchMetricProvider):
    """moto's hook for metrics AWS services publish: every closed bucket as a statistic set."""

    @staticmethod
    def get_cloudwatch_metrics(account_id: str, region: str) -> list[Any]:
        now = int(time.time())
        datums = []
        for series in STORE.series(account_id, region):
            dims = [{"Name": k, "Value": v} for k, v in series.dimensions]
            for b in series.buckets:
                if b.second >= now:
                    continue  # the current second is still being written
                stamp = datetime.fromtimestamp(b.second, tz=timezone.utc).replace(tzinfo=None)  # moto compares naive UTC
                datums.append(MetricAggregatedDatum(series.namespace, series.name, b.low, b.high, b.count, b.total,
                                                    dims, stamp, series.unit))
        return datums
