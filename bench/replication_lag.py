"""Replication lag of the global table between two regions at 50 writes per second, on the local
cloud with the app deployed in the shipped 3 regions: writes into A = eu-west-1, arrival seen in
B = ap-southeast-1. Target: p99 under 1 s, AWS's typical figure for an MREC global table ("Changes
made to an item in one region are typically replicated to all other regions within a second.",
DynamoDB developer guide, "Tutorials: Creating global tables",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables.tutorial.html; AWS
gives no SLA for it: Prescriptive Guidance, "DynamoDB global tables overview",
https://docs.aws.amazon.com/prescriptive-guidance/latest/dynamodb-global-tables/overview.html).

Writes: a paced open loop, write i sent at t0 + i/50 by a small pool of writer threads (so a slow
write delays nobody's schedule), for 20 s (quick: 5 s): 1000 items. Each is a DynamoDB PutItem on
A's endpoint, shaped as the API writes an item (id, data, version, created_at, updated_at,
origin_region), so A's stream processor notifies it exactly as it would an API write. PutItem
rather than PUT /items through A's HTTP API: the lag is the replication's, which starts when A has
the write; through the API the acknowledgement would come back only after the Lambda's response
path, hiding that much of the replication inside the API latency. Lag = (the moment B first
returns the item) - (the moment A acknowledged the PutItem).

Observer: one thread polling B with BatchGetItem (eventually consistent, as a reader in B would
read) of every key acknowledged in A and not yet seen in B, up to 100 keys per call, back to back.
A key's arrival is stamped when the poll that returned it came back: an upper bound, late by at
most one poll cycle (the poll cycle p50/p99 is reported as the resolution). B's stream was not
used: its records say when B applied a change, not when a reader there can see it, and its
ApproximateCreationDateTime is too coarse for a sub-second lag.

What the number means here: the local cloud adds no modelled WAN latency to replication (only the
`slow` fault does, cli/localcloud/dynamodb/replication.py delay_ms), so this is the local
replication machinery's own delay (queue, delivery thread, apply into B's moto table) under this
load on a shared 2-core machine: a floor for the code path, not a prediction of the
eu-west-1 -> ap-southeast-1 lag on AWS, which adds the distance between the regions.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from bench import localapp, stats

RATE_PER_S, DURATION_S, QUICK_DURATION_S = 50, 20.0, 5.0
SOURCE, DESTINATION = ("euw1", "eu-west-1"), ("apse1", "ap-southeast-1")
TABLE = "global-items"
WRITERS = 8
BATCH = 100  # BatchGetItem's limit of keys per request
SETTLE_TIMEOUT_S = 30.0  # after the last write, how long the observer keeps looking
TARGET_P99_MS = 1000.0


class Observer:
    """Polls B for the keys acknowledged in A; stamps each key the first time B returns it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.acked: dict[str, float] = {}  # id -> ack time in A (perf_counter)
        self.seen: dict[str, float] = {}  # id -> time the poll that returned it came back
        self.asked: dict[str, float] = {}  # id -> time that poll was sent (the item was not seen before it)
        self.cycles: list[float] = []  # seconds per poll cycle (all chunks of one pass)
        self.errors = 0
        self._lock = threading.Lock()
        self._done = threading.Event()

    def acknowledged(self, item_id: str, at: float) -> None:
        with self._lock:
            self.acked[item_id] = at

    def outstanding(self) -> list[str]:
        with self._lock:
            return [key for key in self.acked if key not in self.seen]

    def stop(self) -> None:
        self._done.set()

    def run(self) -> None:
        while not self._done.is_set():
            keys = self.outstanding()
            if not keys:
                self._done.wait(0.001)  # nothing acknowledged yet: yield briefly, then look again
                continue
            began = time.perf_counter()
            for start in range(0, len(keys), BATCH):
                chunk = keys[start:start + BATCH]
                sent = time.perf_counter()
                try:
                    answer = self.client.batch_get_item(RequestItems={TABLE: {
                        "Keys": [{"id": {"S": key}} for key in chunk], "ProjectionExpression": "id"}})
                except Exception:  # noqa: BLE001 - a failed poll is counted and retried next pass
                    self.errors += 1
                    continue
                back = time.perf_counter()
                with self._lock:
                    for item in answer.get("Responses", {}).get(TABLE, []):
                        if item["id"]["S"] not in self.seen:
                            self.seen[item["id"]["S"]] = back
                            self.asked[item["id"]["S"]] = sent
            self.cycles.append(time.perf_counter() - began)


def _item(item_id: str, n: int) -> dict[str, Any]:
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"id": {"S": item_id}, "data": {"M": {"n": {"N": str(n)}, "bench": {"S": "replication_lag"}}},
            "version": {"N": "1"}, "created_at": {"S": now}, "updated_at": {"S": now},
            "origin_region": {"S": SOURCE[1]}}


def write_paced(client: Any, observer: Observer, count: int, prefix: str) -> dict[str, Any]:
    """Write count items at RATE_PER_S, each at its own scheduled time; slips and failures."""
    slips: list[float] = []
    failures = 0
    lock = threading.Lock()

    def put(n: int, scheduled: float) -> None:
        nonlocal failures
        item_id = f"{prefix}-{n:05d}"
        sent = time.perf_counter()
        try:
            client.put_item(TableName=TABLE, Item=_item(item_id, n))
        except Exception:  # noqa: BLE001 - counted; the result says how many
            with lock:
                failures += 1
            return
        observer.acknowledged(item_id, time.perf_counter())
        with lock:
            slips.append(sent - scheduled)

    t0 = time.perf_counter() + 0.1
    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="bench-writer") as pool:
        for n in range(count):
            scheduled = t0 + n / RATE_PER_S
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)  # pacing an open loop: the schedule, not a readiness wait
            pool.submit(put, n, scheduled)
    last_ack = max(observer.acked.values(), default=t0)
    return {"t0": t0, "written": len(slips), "failures": failures,
            "achieved_per_s": round(len(slips) / (last_ack - t0), 2) if last_ack > t0 else 0.0,
            "send_slip_ms": stats.summary_ms(slips) if slips else None}


def measure(quick: bool = False) -> dict[str, Any]:
    duration = QUICK_DURATION_S if quick else DURATION_S
    count = int(RATE_PER_S * duration)
    prefix = f"lag-{uuid.uuid4().hex[:8]}"
    with localapp.deployed("replication") as app:
        writer = app.client("dynamodb", SOURCE[1], connections=WRITERS)
        reader = app.client("dynamodb", DESTINATION[1])
        observer = Observer(reader)
        watcher = threading.Thread(target=observer.run, name="bench-observer", daemon=True)
        meter = localapp.CpuMeter(app.state["pid"])
        watcher.start()
        meter.start()
        try:
            writes = write_paced(writer, observer, count, prefix)
            deadline = time.monotonic() + SETTLE_TIMEOUT_S
            while observer.outstanding() and time.monotonic() < deadline:
                time.sleep(0.01)  # the observer thread does the polling; this only waits for it, bounded
        finally:
            observer.stop()
            watcher.join(10)
        cpu = meter.stop()
    arrived = [key for key in observer.acked if key in observer.seen]
    # B had the item by the time the poll that returned it was answered (the lag: an upper bound),
    # and not before that poll was sent (a lower bound; 0 when it was sent before the ack).
    lags = [observer.seen[key] - observer.acked[key] for key in arrived]
    floors = [max(0.0, observer.asked[key] - observer.acked[key]) for key in arrived]
    never = len(observer.acked) - len(arrived)
    summary = stats.summary_ms(lags) if lags else None
    met = summary is not None and summary["p99"] < TARGET_P99_MS and never == 0 and writes["failures"] == 0
    return {"quick": quick, "source": {"env": SOURCE[0], "region": SOURCE[1]},
            "destination": {"env": DESTINATION[0], "region": DESTINATION[1]},
            "rate_per_s": RATE_PER_S, "duration_s": duration, "scheduled": count, "writes": writes,
            "never_seen": never, "lag_ms": summary, "lag_lower_bound_ms": stats.summary_ms(floors) if floors else None,
            "poll_cycle_ms": stats.summary_ms(observer.cycles) if observer.cycles else None,
            "poll_errors": observer.errors, "cpu": cpu, "target": {"p99_ms": TARGET_P99_MS, "met": met},
            "lag_samples_ms": [round(v * 1000, 2) for v in lags]}


def markdown(result: dict[str, Any]) -> str:
    lag, writes, cycle = result["lag_ms"] or {}, result["writes"], result["poll_cycle_ms"] or {}
    floor = result.get("lag_lower_bound_ms") or {}
    route = f"{result['source']['region']} -> {result['destination']['region']}"
    rows: list[list[object]] = [
        [f"replication lag {route}, p50", f"{lag.get('p50', 0):.1f} ms", "", "", ""],
        [f"replication lag {route}, p99", f"{lag.get('p99', 0):.1f} ms", "1000 ms (AWS: typically within a second)",
         f"{lag.get('p99', 0) / 1000:.2f}x", f"< 1 s {stats.verdict(result['target']['met'])}"],
        [f"replication lag {route}, max", f"{lag.get('max', 0):.1f} ms", "", "", ""],
        ["writes per second achieved (paced open loop)", f"{writes['achieved_per_s']:.1f}",
         f"{result['rate_per_s']} scheduled", f"{writes['achieved_per_s'] / result['rate_per_s']:.2f}x", ""],
        [f"items never seen in {result['destination']['region']} (of {result['scheduled']})",
         result["never_seen"] + writes["failures"], "", "", f"0 {stats.verdict(result['never_seen'] + writes['failures'] == 0)}"],
    ]
    note = (f"{result['duration_s']:.0f} s of PutItem into {result['source']['region']}'s replica at "
            f"{result['rate_per_s']}/s; arrival seen by BatchGetItem polling of "
            f"{result['destination']['region']}. A lag ends when the poll that found the item returned, an upper "
            f"bound (counted from when that poll was sent instead: p50 {floor.get('p50', 0):.1f} ms, p99 "
            f"{floor.get('p99', 0):.1f} ms); the resolution is one poll cycle (p50 {cycle.get('p50', 0):.1f} ms, "
            f"p99 {cycle.get('p99', 0):.1f} ms). The local cloud models no WAN delay in replication, so this is "
            f"the replication code path's own delay on a shared machine, not the AWS figure between these regions.")
    return stats.table("Global table replication lag (local cloud)", rows) + "\n\n" + note


if __name__ == "__main__":
    from bench import run

    sys.exit(run.standalone("replication_lag", sys.argv[1:]))
