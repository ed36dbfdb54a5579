"""Requests per second through the global entry and through one regional API, on the local cloud
with the app deployed in the shipped 3 regions (`globalctl rollout`).

Load: a closed loop of 16 clients (threads), each on its own keep-alive HTTP/1.1 connection
(http.client), sending its next request as soon as the previous answer is read; a warm-up (not
counted) of at least 2 s and until every client has had an answer, so the Lambda workers this
concurrency needs are started, then 10 s measured (quick: 4 clients, 1 s + 3 s). The mix, drawn per
request from a
seeded generator: 70 % GET /items/{id} of 200 items written before the run (and confirmed readable
in every region), 20 % GET /health, 10 % PUT /items/{id} (a small item, each client overwriting its
own 50 ids). Expected answers: 200 for the GETs, 200 or 201 for a PUT; anything else, and any
connection error, is an error (the target is 0).

Targets: (a) the global entry (the Route 53 stand-in proxy), each client sending
X-Client-Location eu-west-2, us-east-2 or ap-southeast-2 in turn, so the traffic policy spreads
it over the three regions (the `x-routed-to` counts are reported); (b) eu-west-1's HTTP API
directly. Both run the same mix with the same clients, so the ratio (a)/(b) is what the entry's
extra hop costs and what spreading over three regions' workers gains.

The stage throttle is raised for this run (ThrottleRateLimit/ThrottleBurstLimit 100000 in the
copy's samconfig): the shipped 100 req/s per region would turn a capacity measurement into a
measurement of the throttle (429s). The load generator, the local cloud (API servers, Lambda
worker processes, the moto endpoint, replication) and whatever else runs on the machine share
the same 2 cores, so these numbers are the local cloud's capacity on this machine, not AWS's; the
CPU used is reported beside them.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from bench import localapp, stats

CLIENTS, WARMUP_S, DURATION_S = 16, 2.0, 10.0
QUICK = (4, 1.0, 3.0)
ITEMS = 200
PUT_IDS_PER_CLIENT = 50
MIX = (("get_item", 0.70), ("health", 0.20), ("put_item", 0.10))
EXPECTED = {"get_item": {200}, "health": {200}, "put_item": {200, 201}}
LOCATIONS = ("eu-west-2", "us-east-2", "ap-southeast-2")
DIRECT_ENV = "euw1"
THROTTLE = "ThrottleRateLimit=100000 ThrottleBurstLimit=100000"
REQUEST_TIMEOUT_S = 30.0
READY_TIMEOUT_S = 60.0


@dataclass
class Sample:
    kind: str
    started: float
    finished: float
    status: int  # 0: no HTTP answer (connection error, timeout)
    routed_to: str | None = None


class Window:
    """The measured interval, fixed once every client has had an answer and the warm-up is over."""

    def __init__(self) -> None:
        self.start = self.end = float("inf")

    def fix(self, start: float, duration: float) -> None:
        self.start, self.end = start, start + duration


@dataclass
class Client:
    """One closed-loop client: its own connection, its own random stream, its own samples."""

    number: int
    base: str
    location: str | None
    window: Window
    seed: int
    samples: list[Sample] = field(default_factory=list)
    put_seq: int = 0

    def _connect(self) -> http.client.HTTPConnection:
        url = urlparse(self.base)
        if url.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"{self.base}: the benchmark only talks to loopback")
        return http.client.HTTPConnection(url.hostname, url.port, timeout=REQUEST_TIMEOUT_S)

    def _request(self, rng: random.Random) -> tuple[str, str, str, bytes | None]:
        kind = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
        if kind == "get_item":
            return kind, "GET", f"/items/bench-read-{rng.randrange(ITEMS):04d}", None
        if kind == "health":
            return kind, "GET", "/health", None
        self.put_seq += 1
        item = f"bench-put-{self.number:02d}-{self.put_seq % PUT_IDS_PER_CLIENT:02d}"
        body = json.dumps({"data": {"client": self.number, "seq": self.put_seq}}).encode()
        return kind, "PUT", f"/items/{item}", body

    def run(self) -> None:
        rng = random.Random(self.seed)
        headers = {"content-type": "application/json"}
        if self.location:
            headers["X-Client-Location"] = self.location
        conn = self._connect()
        try:
            while time.perf_counter() < self.window.end:
                kind, method, path, body = self._request(rng)
                started = time.perf_counter()
                try:
                    conn.request(method, path, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status, routed = response.status, response.getheader("x-routed-to")
                    if response.will_close:
                        conn.close()
                        conn = self._connect()
                except (OSError, http.client.HTTPException):
                    status, routed = 0, None
                    conn.close()
                    conn = self._connect()
                self.samples.append(Sample(kind, started, time.perf_counter(), status, routed))
        finally:
            conn.close()


def load(base: str, locations: tuple[str | None, ...], clients: int, warmup: float, duration: float,
         supervisor_pid: int) -> dict[str, Any]:
    """Run the closed loop against base; the measured window's numbers (warm-up excluded)."""
    start = time.perf_counter()
    window = Window()
    workers = [Client(n, base, locations[n % len(locations)], window, seed=n) for n in range(clients)]
    threads = [threading.Thread(target=w.run, name=f"bench-client-{w.number}", daemon=True) for w in workers]
    meter = localapp.CpuMeter(supervisor_pid)
    for thread in threads:
        thread.start()
    # Warm-up: at least `warmup` seconds and until every client has been answered once (the
    # Lambda workers a cold region starts for this concurrency are then up), bounded.
    deadline = start + warmup + READY_TIMEOUT_S
    while (time.perf_counter() < start + warmup or not all(w.samples for w in workers)) \
            and time.perf_counter() < deadline:
        time.sleep(0.01)
    if not all(w.samples for w in workers):
        window.fix(time.perf_counter(), 0.0)
        raise RuntimeError(f"not every client was answered within {warmup + READY_TIMEOUT_S:.0f} s of warm-up")
    window.fix(time.perf_counter(), duration)
    meter.start()
    for thread in threads:
        thread.join(duration + REQUEST_TIMEOUT_S + 5)
    cpu = meter.stop()
    if any(thread.is_alive() for thread in threads):
        raise RuntimeError("a load client did not finish; the cloud stopped answering")
    counted = [s for w in workers for s in w.samples if window.start <= s.finished <= window.end]
    errors = [s for s in counted if s.status not in EXPECTED[s.kind]]
    latencies = [(s.finished - s.started) * 1000 for s in counted]
    return {"clients": clients, "warmup_s": round(window.start - start, 2), "duration_s": duration,
            "requests": len(counted),
            "rps": round(len(counted) / duration, 1),
            "latency_ms": {k: round(v, 2) for k, v in stats.summary(latencies).items()} if latencies else None,
            "latency_ms_by_kind": {kind: round(stats.percentile([(s.finished - s.started) * 1000 for s in counted
                                                                 if s.kind == kind], 50), 2)
                                   for kind in EXPECTED if any(s.kind == kind for s in counted)},
            "mix": dict(Counter(s.kind for s in counted)), "errors": len(errors),
            "error_statuses": dict(Counter(f"{s.kind} {s.status}" for s in errors)),
            "routed_to": dict(Counter(s.routed_to or "-" for s in counted)), "cpu": cpu,
            "latency_samples_ms": [round(v, 2) for v in latencies]}


def _http(base: str, method: str, path: str, body: Any = None) -> int:
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body).encode(),
                     headers={"content-type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def seed_items(app: localapp.App) -> None:
    """Write the items the GETs read, then wait (polling, with a deadline) until every region
    serves every one of them, so a 404 during the run is a real error, not replication lag."""
    writer = app.api_url(DIRECT_ENV)
    for n in range(ITEMS):
        status = _http(writer, "PUT", f"/items/bench-read-{n:04d}", {"data": {"n": n, "pad": "x" * 100}})
        if status not in (200, 201):
            raise RuntimeError(f"seeding bench-read-{n:04d} answered {status}")
    deadline = time.monotonic() + READY_TIMEOUT_S
    for env in app.state["regions"]:
        base = app.api_url(env)
        missing = list(range(ITEMS))
        while missing:
            missing = [n for n in missing if _http(base, "GET", f"/items/bench-read-{n:04d}") != 200]
            if missing and time.monotonic() > deadline:
                raise RuntimeError(f"{len(missing)} seeded items still missing in {env}")
            if missing:
                time.sleep(0.05)


def measure(quick: bool = False) -> dict[str, Any]:
    clients, warmup, duration = QUICK if quick else (CLIENTS, WARMUP_S, DURATION_S)
    shipped = (localapp.ROOT / "samconfig.toml").read_text()
    samconfig = shipped.replace('Release=unreleased"', f'Release=unreleased {THROTTLE}"')
    if samconfig.count(THROTTLE) != 3:
        raise RuntimeError("could not raise the throttle in every region environment of samconfig.toml")
    with localapp.deployed("throughput", samconfig=samconfig) as app:
        seed_items(app)
        pid = app.state["pid"]
        entry = load(app.global_url, LOCATIONS, clients, warmup, duration, pid)
        direct = load(app.api_url(DIRECT_ENV), (None,), clients, warmup, duration, pid)
    return {"quick": quick, "mix": dict(MIX), "items": ITEMS, "locations": list(LOCATIONS),
            "direct_env": DIRECT_ENV, "throttle_override": THROTTLE, "global_entry": entry, "regional": direct,
            "ratio": round(entry["rps"] / direct["rps"], 3) if direct["rps"] else None}


def markdown(result: dict[str, Any]) -> str:
    entry, direct = result["global_entry"], result["regional"]
    rows: list[list[object]] = []
    for name, run, baseline in (("global entry (3 regions, X-Client-Location spread)", entry, direct),
                                (f"one regional API ({result['direct_env']}) directly", direct, None)):
        lat = run["latency_ms"] or {}
        rows.append([f"{name}: requests/s, {run['clients']} clients, {run['duration_s']:.0f} s",
                     f"{run['rps']:.0f}", f"{baseline['rps']:.0f} regional" if baseline else "",
                     f"{run['rps'] / baseline['rps']:.2f}x" if baseline and baseline["rps"] else "", ""])
        rows.append([f"{name}: latency p50 / p99", f"{lat.get('p50', 0):.1f} / {lat.get('p99', 0):.1f} ms",
                     "", "", ""])
        rows.append([f"{name}: errors of {run['requests']} requests", run["errors"], "", "",
                     f"0 {stats.verdict(run['errors'] == 0)}"])
    routed = ", ".join(f"{region} {count}" for region, count in sorted(entry["routed_to"].items()))
    note = (f"Mix: 70 % GET /items/{{id}} (200 pre-written items), 20 % GET /health, 10 % PUT; closed loop, "
            f"keep-alive connections, {entry['warmup_s']:.0f} s warm-up not counted. The global entry routed: "
            f"{routed}. Stage throttle raised for the run (the shipped 100 req/s per region would answer 429). "
            f"Load generator and local cloud share the machine's {_cores()} cores (busy "
            f"{entry['cpu']['machine_busy_cores']:.2f} / {direct['cpu']['machine_busy_cores']:.2f} cores during "
            f"the two runs): the local cloud's capacity here, not AWS's.")
    return stats.table("Throughput (local cloud, 3 regions)", rows) + "\n\n" + note


def _cores() -> int:
    return os.cpu_count() or 1


if __name__ == "__main__":
    from bench import run

    sys.exit(run.standalone("throughput", sys.argv[1:]))
