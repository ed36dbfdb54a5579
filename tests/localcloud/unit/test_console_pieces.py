"""The console's state pieces, each against fakes: the client-location grid, Route 53 health,
traffic, replication lag, alarms and the health probes."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any, Iterator

import pytest

from localcloud.cloudwatch.metrics import MetricStore
from localcloud.console import probes, routing, telemetry
from localcloud.dynamodb import EVENTUAL, ReplicationGroup
from localcloud.route53.routing import Answer

ACCOUNT = "123456789012"
NOW = 1_900_000_000.0


# ------------------------------------------------------------------ routing


class FakeDns:
    """Routes Europe to eu-west-1 and everything else to us-east-1; ap-south-1 breaks."""

    def __init__(self, names: list[str]):
        self.names = names
        self.asked: list[tuple[str, str]] = []

    def routed_names(self) -> list[str]:
        return self.names

    def resolve(self, name: str, location: str) -> tuple[Answer, str, str] | None:
        self.asked.append((name, location))
        if location == "ap-south-1":
            raise KeyError("a rule the evaluator does not know")
        if location == "sa-east-1":
            return None
        region = "eu-west-1" if location.startswith("eu-") else "us-east-1"
        value = f"abc.execute-api.{region}.amazonaws.com"
        answer = Answer([value], "CNAME", path=["latency", region], regions={value: region},
                        healthy=location != "eu-north-1")
        return answer, "CNAME", "traffic policy global v1"


ENVS = {"eu-west-1": "euw1", "us-east-1": "use1"}


def test_grid_has_one_row_per_location_with_the_routed_region_env_and_rule_path():
    dns = FakeDns(["api.example.com"])
    name, names = routing.routed_name(dns)
    grid = routing.client_grid(dns, name, ["eu-west-2", "us-east-2", "eu-north-1"], ENVS)

    assert (name, names) == ("api.example.com", ["api.example.com"])
    assert [row["location"] for row in grid] == ["eu-west-2", "us-east-2", "eu-north-1"]
    london, ohio, stockholm = grid
    assert (london["region"], london["env"], london["path"]) == ("eu-west-1", "euw1", ["latency", "eu-west-1"])
    assert london["location_name"] == "Europe (London)"
    assert london["via"] == "traffic policy global v1" and london["healthy"] is True
    assert (ohio["region"], ohio["env"]) == ("us-east-1", "use1")
    assert stockholm["healthy"] is False
    assert dns.asked == [("api.example.com", loc) for loc in ("eu-west-2", "us-east-2", "eu-north-1")]


def test_a_location_that_fails_to_resolve_is_marked_and_the_others_still_show():
    dns = FakeDns(["api.example.com"])
    grid = routing.client_grid(dns, "api.example.com", ["ap-south-1", "sa-east-1", "eu-west-1"], ENVS)

    assert grid[0]["region"] is None and grid[0]["error"] == "resolution failed: KeyError"
    assert grid[1]["region"] is None and grid[1]["error"] == "no answer"
    assert grid[2]["region"] == "eu-west-1" and grid[2]["error"] is None


def test_without_routing_nothing_is_resolved_and_no_region_serves():
    dns = FakeDns([])
    name, _ = routing.routed_name(dns)
    grid = routing.client_grid(dns, name, ["eu-west-2"], ENVS)

    assert name is None and dns.asked == []
    assert grid[0]["region"] is None
    assert routing.serving(grid, "eu-west-1", routed=False) == {"state": "no routing", "locations": 0}


def test_a_region_serves_while_at_least_one_location_is_routed_to_it():
    grid = routing.client_grid(FakeDns(["n"]), "n", ["eu-west-2", "eu-west-3", "us-east-2"], ENVS)

    assert routing.serving(grid, "eu-west-1", routed=True) == {"state": "serving", "locations": 2}
    assert routing.serving(grid, "us-east-1", routed=True) == {"state": "serving", "locations": 1}
    assert routing.serving(grid, "ap-southeast-1", routed=True) == {"state": "not serving", "locations": 0}


class FakeChecker:
    def __init__(self, healthy: bool, last: str | None):
        self._healthy, self._last = healthy, last

    def status(self) -> bool:
        return self._healthy

    def observations(self) -> list[dict]:
        return [{"StatusReport": {"Status": self._last}}] if self._last else []


def test_route53_health_is_every_check_of_the_region_with_its_last_result():
    checkers = {"hc-1": FakeChecker(True, "Success: HTTP Status Code 200, OK"),
                "hc-2": FakeChecker(False, "Failure: Connection reset by peer")}
    lookup = SimpleNamespace(get=checkers.get)

    both = routing.route53_health(lookup, ["hc-1", "hc-2", "hc-gone"])
    one = routing.route53_health(lookup, ["hc-1"])
    none = routing.route53_health(lookup, [])

    assert both["state"] == "unhealthy" and both["healthy"] is False
    assert [c["id"] for c in both["checks"]] == ["hc-1", "hc-2"]
    assert both["checks"][1] == {"id": "hc-2", "healthy": False, "last": "Failure: Connection reset by peer"}
    assert one["state"] == "healthy" and one["healthy"] is True
    assert none == {"state": "no health check", "healthy": None, "checks": []}


# ------------------------------------------------------------------ traffic, replication, alarms


def _api(store: MetricStore, region: str, name: str, value: float, at: float, api: str = "api1") -> None:
    store.put(ACCOUNT, region, "AWS/ApiGateway", name, {"ApiId": api, "Stage": "$default"}, value, "Count", at)


def test_traffic_sums_the_last_minute_of_every_api_of_the_region():
    store = MetricStore()
    for at, status in ((NOW - 5, 200), (NOW - 30, 503), (NOW - 59, 404), (NOW - 61, 500), (NOW, 200)):
        for api in ("api1", "api2"):
            _api(store, "eu-west-1", "Count", 1, at, api)
            _api(store, "eu-west-1", "4xx", 1 if 400 <= status < 500 else 0, at, api)
            _api(store, "eu-west-1", "5xx", 1 if status >= 500 else 0, at, api)
    _api(store, "us-east-1", "Count", 1, NOW)
    store.put(ACCOUNT, "eu-west-1", "AWS/ApiGateway", "Latency", {"ApiId": "api1", "Stage": "$default"}, 900, None, NOW)

    counted = telemetry.traffic(store, ACCOUNT, "eu-west-1", NOW)

    # the value 61 s ago is outside the window; 2 APIs x 4 requests inside it
    assert counted == {"requests": 8, "errors_4xx": 2, "errors_5xx": 2, "window_s": 60}
    assert telemetry.traffic(store, ACCOUNT, "ap-southeast-1", NOW)["requests"] == 0


def _latency(store: MetricStore, source: str, receiving: str, ms: float, at: float, table: str = "items") -> None:
    store.put(ACCOUNT, source, "AWS/DynamoDB", "ReplicationLatency", {"TableName": table, "ReceivingRegion": receiving},
              ms, "Milliseconds", at)


def test_replication_shows_the_latest_latency_per_receiving_region_and_what_is_queued():
    store = MetricStore()
    _latency(store, "eu-west-1", "us-east-1", 900, NOW - 10)
    _latency(store, "eu-west-1", "us-east-1", 40, NOW - 3)
    _latency(store, "eu-west-1", "us-east-1", 60, NOW - 3)
    _latency(store, "eu-west-1", "ap-southeast-1", 120, NOW - 1)
    _latency(store, "us-east-1", "eu-west-1", 5, NOW)  # another source region

    entries = telemetry.replication(store, ACCOUNT, "eu-west-1", {("items", "ap-southeast-1"): (4, 2500.4)}, NOW)

    assert entries == [
        {"table": "items", "receiving_region": "ap-southeast-1", "latest_ms": 120.0, "age_s": 1,
         "pending": 4, "oldest_pending_ms": 2500},
        {"table": "items", "receiving_region": "us-east-1", "latest_ms": 50.0, "age_s": 3,
         "pending": 0, "oldest_pending_ms": 0},
    ]


def test_a_link_that_never_delivered_still_shows_its_queue():
    entries = telemetry.replication(MetricStore(), ACCOUNT, "eu-west-1", {("items", "us-east-1"): (7, 12000.0)}, NOW)

    assert entries == [{"table": "items", "receiving_region": "us-east-1", "latest_ms": None, "age_s": None,
                        "pending": 7, "oldest_pending_ms": 12000}]


@pytest.fixture
def group() -> Iterator[ReplicationGroup]:
    applied: list[Any] = []
    g = ReplicationGroup("items", ["eu-west-1", "us-east-1", "ap-southeast-1"], EVENTUAL, None,
                         lambda *change: applied.append(change), background=False)
    yield g
    g.close()


def test_pending_counts_what_a_cut_link_holds_and_empties_once_delivered(group: ReplicationGroup):
    group.cut("us-east-1")
    for n in range(3):
        group.local_write("eu-west-1", {"id": {"S": f"i{n}"}}, {"id": {"S": f"i{n}"}})

    held = telemetry.pending_links([group], "eu-west-1")

    assert set(held) == {("items", "us-east-1"), ("items", "ap-southeast-1")}
    assert held[("items", "us-east-1")][0] == 3 and held[("items", "us-east-1")][1] >= 0
    assert telemetry.pending_links([group], "us-east-1") == {}
    while group.deliver_next("eu-west-1", "ap-southeast-1"):
        pass
    assert set(telemetry.pending_links([group], "eu-west-1")) == {("items", "us-east-1")}


def _alarm(name: str, state: str, reason: str = "") -> Any:
    return SimpleNamespace(name=name, state_value=state, state_reason=reason,
                           state_updated_timestamp=datetime(2026, 12, 4, 7, 0, 0))


def test_alarms_list_every_region_in_alarm_first():
    backends = {ACCOUNT: {
        "eu-west-1": SimpleNamespace(alarms={"b": _alarm("euw1-5xx", "OK"),
                                             "a": _alarm("euw1-latency", "ALARM", "3 of 3")}),
        "us-east-1": SimpleNamespace(alarms={"c": _alarm("health", "INSUFFICIENT_DATA")}),
    }}

    found = telemetry.alarms(backends, ACCOUNT, ["eu-west-1", "us-east-1"], {"eu-west-1": "euw1"})

    assert [(a["name"], a["state"], a["env"]) for a in found] == [
        ("euw1-latency", "ALARM", "euw1"), ("health", "INSUFFICIENT_DATA", None), ("euw1-5xx", "OK", "euw1")]
    assert found[0]["reason"] == "3 of 3" and found[0]["updated_at"] == "2026-12-04T07:00:00Z"


# ------------------------------------------------------------------ health probes


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_probes_are_shared_while_fresh_and_repeated_after():
    calls: list[tuple[str, int]] = []

    def fake(target: tuple[str, int], timeout: float) -> dict:
        calls.append(target)
        return {"ok": True, "release": f"r{len(calls)}"}

    clock = Clock()
    health = probes.HealthProbes(fresh_seconds=2.0, probe_fn=fake, clock=clock)
    targets = {"euw1": ("127.0.0.1", 1001), "use1": ("127.0.0.1", 1002)}

    first = health.health(targets)
    clock.now += 1.0
    again = health.health(targets)
    clock.now += 1.5
    later = health.health({"euw1": ("127.0.0.1", 1001)})

    assert sorted(calls) == [("127.0.0.1", 1001), ("127.0.0.1", 1001), ("127.0.0.1", 1002)]
    assert first == again and set(first) == {"euw1", "use1"}
    assert set(later) == {"euw1"} and later["euw1"]["release"] == "r3"


class HealthServer:
    """A regional API stand-in whose /health answer the test sets."""

    def __init__(self) -> None:
        self.status, self.body = 200, b"{}"
        self.hang, self.release = threading.Event(), threading.Event()
        self.drop = False
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if me.hang.is_set():
                    me.release.wait(5)
                    return
                if me.drop:
                    self.close_connection = True
                    return
                self.send_response(me.status)
                self.send_header("Content-Length", str(len(me.body)))
                self.end_headers()
                self.wfile.write(me.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def target(self) -> tuple[str, int]:
        return "127.0.0.1", self.server.server_address[1]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def health_server() -> Iterator[HealthServer]:
    server = HealthServer()
    yield server
    server.close()


def test_probe_reads_release_and_status_from_the_health_answer(health_server: HealthServer):
    health_server.body = json.dumps({"status": "ok", "region": "eu-west-1", "release": "r-42"}).encode()

    answer = probes.probe(health_server.target)

    assert answer == {"ok": True, "status": 200, "release": "r-42", "region": "eu-west-1", "answer": "ok",
                      "detail": "HTTP 200"}


def test_probe_reports_a_draining_region_and_a_body_that_is_not_json(health_server: HealthServer):
    health_server.status, health_server.body = 503, json.dumps({"status": "out-of-service", "release": "r-1"}).encode()
    draining = probes.probe(health_server.target)
    health_server.status, health_server.body = 404, b"<html>nope</html>"
    missing = probes.probe(health_server.target)

    assert (draining["ok"], draining["answer"], draining["release"]) == (False, "out-of-service", "r-1")
    assert (missing["ok"], missing["release"]) == (False, None)
    assert missing["detail"] == "HTTP 404: no API deployed answers /health"


def test_probe_reports_a_region_that_does_not_answer_in_time(health_server: HealthServer):
    health_server.hang.set()

    answer = probes.probe(health_server.target, timeout=0.2)

    assert answer["ok"] is False and answer["status"] is None
    assert answer["detail"] == "no answer within 0.2 s"


def test_probe_reports_a_closed_port():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
    answer = probes.probe(("127.0.0.1", port), timeout=0.5)

    assert answer["ok"] is False and answer["detail"] == "no answer: connection refused"


def test_probe_reports_a_dropped_connection_as_an_outage_does_it(health_server: HealthServer):
    health_server.drop = True

    answer = probes.probe(health_server.target)

    assert answer["ok"] is False and answer["detail"] == "no answer: connection dropped"
