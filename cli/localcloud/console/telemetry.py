"""Traffic, alarms and replication lag, read from where the local cloud keeps them.

- traffic: the HTTP APIs' Count, 4xx and 5xx (AWS/ApiGateway, per ApiId and Stage, published per
  request by the API servers into the local CloudWatch's metric store), summed over the last
  WINDOW_SECONDS across every API of the region;
- alarms: moto's CloudWatch backend of each region, whose states the alarm evaluator sets;
- replication: DynamoDB's ReplicationLatency (AWS/DynamoDB, TableName + ReceivingRegion, in the
  source region, milliseconds: "Monitoring global tables",
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_monitoring.html),
  which dynamodb/patch.py publishes for every delivered change; its latest value per receiving
  region, plus what is still queued on each link (ReplicationGroup.pending), since a cut link
  delivers nothing and so publishes nothing while the lag grows.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Iterable

WINDOW_SECONDS = 60
TRAFFIC = {"Count": "requests", "4xx": "errors_4xx", "5xx": "errors_5xx"}
ALARM_ORDER = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}


def traffic(store: Any, account: str, region: str, now: float | None = None,
            window: int = WINDOW_SECONDS) -> dict[str, Any]:
    """{"requests", "errors_4xx", "errors_5xx", "window_s"} of the region's HTTP APIs."""
    end = int(time.time() if now is None else now) + 1
    totals = dict.fromkeys(TRAFFIC.values(), 0)
    for series in store.series(account, region):
        if series.namespace != "AWS/ApiGateway" or series.name not in TRAFFIC:
            continue
        totals[TRAFFIC[series.name]] += round(sum(b.total for b in series.buckets if end - window <= b.second < end))
    return {**totals, "window_s": window}


def replication(store: Any, account: str, region: str, pending: dict[tuple[str, str], tuple[int, float]],
                now: float | None = None) -> list[dict[str, Any]]:
    """One entry per (table, receiving region) replicating from `region`: the latest
    ReplicationLatency and what is still queued. pending: {(table, receiving region): (count, oldest ms)}
    of the links from `region`."""
    now = time.time() if now is None else now
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for series in store.series(account, region):
        if series.namespace != "AWS/DynamoDB" or series.name != "ReplicationLatency" or not series.buckets:
            continue
        dims = dict(series.dimensions)
        key = (dims.get("TableName", ""), dims.get("ReceivingRegion", ""))
        last = series.buckets[-1]
        if key in found and found[key]["_second"] >= last.second:
            continue
        found[key] = {"_second": last.second, "latest_ms": round(last.total / last.count, 1) if last.count else None,
                      "age_s": max(0, round(now - last.second))}
    for key in pending:
        found.setdefault(key, {"_second": 0, "latest_ms": None, "age_s": None})
    entries = []
    for (table, receiving), entry in sorted(found.items()):
        count, oldest = pending.get((table, receiving), (0, 0.0))
        entries.append({"table": table, "receiving_region": receiving, "latest_ms": entry["latest_ms"],
                        "age_s": entry["age_s"], "pending": count, "oldest_pending_ms": round(oldest)})
    return entries


def pending_links(groups: Iterable[Any], source: str) -> dict[tuple[str, str], tuple[int, float]]:
    """{(table, receiving region): (queued changes, age in ms of the oldest)} from `source`."""
    links = {}
    for group in groups:
        for (src, dst), value in group.pending().items():
            if src == source:
                links[(group.table_name, dst)] = value
    return links


def alarms(backends: Any, account: str, regions: Iterable[str], region_envs: dict[str, str]) -> list[dict[str, Any]]:
    """Every alarm of the regions, ALARM first. backends: moto's cloudwatch_backends."""
    found = []
    for region in regions:
        for alarm in list(backends[account][region].alarms.values()):
            found.append({"region": region, "env": region_envs.get(region), "name": str(alarm.name),
                          "state": str(alarm.state_value), "reason": str(alarm.state_reason or "")[:500],
                          "updated_at": _iso(getattr(alarm, "state_updated_timestamp", None))})
    return sorted(found, key=lambda a: (ALARM_ORDER.get(a["state"], 3), a["region"], a["name"]))


def _iso(stamp: Any) -> str | None:
    if not isinstance(stamp, datetime):
        return None
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
    return stamp.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
