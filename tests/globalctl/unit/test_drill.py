"""The drill's measuring (failover time, error shares, restore time, verdict) from synthetic request
records; its traffic clients and write verification against small loopback servers; and the
preconditions that refuse a drill before any AWS call."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from globalctl.drill import executor as drill_executor
from globalctl.drill import measure as drill
from globalctl.drill.measure import RequestRecord, Share
from globalctl.drill.plan import client_locations
from globalctl.drill.report import save_report
from globalctl.drill.traffic import Traffic
from globalctl.endpoints import Endpoints
from globalctl.main import app
from globalctl.regions import RegionApi
from tests.support import ROOT

EU, US, AP = "eu-west-1", "us-east-1", "ap-southeast-1"


def rec(at: float, routed: str | None, status: int = 200, location: str = EU, method: str = "GET") -> RequestRecord:
    return RequestRecord(at, location, method, status, routed)


# --- measuring ---------------------------------------------------------------------------------------

def test_failover_time_is_the_last_request_routed_to_the_region_after_t0():
    records = [rec(1.0, EU), rec(2.5, EU), rec(3.0, EU, 502), rec(3.4, US), rec(4.2, EU, 502), rec(4.5, US),
               rec(6.0, US)]
    assert drill.failover_seconds(records, EU, t0=2.0) == pytest.approx(2.2)
    # Requests before T0 do not count; a region never reached after T0 failed over at once.
    assert drill.failover_seconds([rec(1.0, EU), rec(2.1, US)], EU, t0=2.0) == 0.0
    # The restore phase (from `until`) is not part of the failover.
    assert drill.failover_seconds(records + [rec(9.0, EU)], EU, t0=2.0, until=8.0) == pytest.approx(2.2)


def test_measure_splits_errors_into_the_failover_window_and_after_it():
    records = [
        rec(0.5, EU), rec(1.0, US), rec(1.5, EU),                       # baseline: 2 of 3 to eu-west-1
        rec(2.1, EU, 502), rec(2.9, US), rec(3.5, EU, 502), rec(4.0, US, 503),  # window: [2, 2 + 1.5 + 1]
        rec(4.6, US), rec(5.0, AP, 0), rec(6.0, US), rec(7.9, US),     # after: one failure
        rec(8.0, US), rec(8.7, EU, location=US), rec(9.1, EU),          # restore from 8.0
    ]
    m = drill.measure(records, EU, t0=2.0, restore_started=8.0, location=EU)
    assert m.baseline == Share(3, 0) and m.baseline_to_region == 2
    assert m.failover_seconds == pytest.approx(1.5)
    assert m.window_end == pytest.approx(4.5)
    assert m.during == Share(4, 3)
    assert m.after == Share(4, 1) and m.after.share == pytest.approx(0.25)
    assert m.restore == Share(3, 0)
    # From the region's own location only: the 8.7 request came from us-east-1.
    assert m.restored_seconds == pytest.approx(1.1)
    assert m.routed_after_t0 == {EU: 2, US: 5, AP: 1}


def test_restored_needs_a_2xx_routed_to_the_region_and_any_location_when_none_is_given():
    records = [rec(10.0, EU, 502), rec(10.5, EU, location=US), rec(11.0, EU)]
    assert drill.restored_seconds(records, EU, 10.0, EU) == pytest.approx(1.0)
    assert drill.restored_seconds(records, EU, 10.0, None) == pytest.approx(0.5)
    assert drill.restored_seconds(records, AP, 10.0, None) is None
    assert Share(0, 0).share == 0.0


def test_a_clean_drill_has_no_problems_and_each_failure_is_named():
    records = [rec(1.0, EU), rec(2.5, EU, 502), rec(5.0, US), rec(8.5, EU)]
    clean = drill.measure(records, EU, 2.0, 8.0, EU)
    assert drill.problems("euw1", clean, acknowledged=10, missing=0) == []

    failing_after = drill.measure(records[:3] + [rec(6.0, AP, 504), rec(8.5, EU)], EU, 2.0, 8.0, EU)
    assert drill.problems("euw1", failing_after, 10, 0) == ["1 request(s) failed after the failover window"]

    never_left = drill.measure([rec(1.0, EU), rec(7.5, EU), rec(8.5, EU)], EU, 2.0, 8.0, EU)
    assert any("too close to the end" in p for p in drill.problems("euw1", never_left, 10, 0))

    not_back = drill.measure(records[:3] + [rec(8.5, US)], EU, 2.0, 8.0, EU)
    assert any("took no traffic back" in p for p in drill.problems("euw1", not_back, 10, 0))

    unreached = drill.measure([rec(1.0, US), rec(5.0, US), rec(8.5, EU)], EU, 2.0, 8.0, EU)
    assert any("nothing to fail over" in p for p in drill.problems("euw1", unreached, 10, 0))

    assert drill.problems("euw1", clean, 10, 3) == ["3 of 10 write(s) not readable in every region within 15 s"]
    assert drill.problems("euw1", clean, 0, 0) == ["no write succeeded: nothing to verify"]


def test_client_locations_start_with_the_drilled_region_and_its_neighbour():
    locations = client_locations(EU, [EU, US, AP])
    assert locations[:2] == [EU, "eu-west-2"]
    assert set(locations) == {EU, "eu-west-2", US, AP, "us-east-2", "ap-southeast-3"}
    assert len(locations) == len(set(locations))
    assert client_locations(US, [EU, US])[:2] == [US, "us-east-2"]


# --- traffic and verification against loopback servers -----------------------------------------------

class _Entry(BaseHTTPRequestHandler):
    """Routes a client to eu-west-1 when it is in Europe, else us-east-1; writes from `failing` get 502."""

    protocol_version = "HTTP/1.1"
    failing = "us-east-1"

    def log_message(self, *_: object) -> None:
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        location = self.headers.get("X-Client-Location", "")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-routed-to", EU if location.startswith("eu-") else US)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.seen.append(("GET", self.path, self.headers.get("Host"), self.headers.get("X-Client-Location")))
        self._answer(200, {"status": "ok"})

    def do_PUT(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        location = self.headers.get("X-Client-Location")
        self.server.seen.append(("PUT", self.path, self.headers.get("Host"), location))
        if location == self.failing:
            self._answer(502, {"message": "Bad Gateway"})
            return
        self.server.items[self.path.rsplit("/", 1)[1]] = body["data"]
        self._answer(201, body)


@pytest.fixture
def server():
    started = []

    def start(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        httpd.seen, httpd.items = [], {}
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        started.append((httpd, thread))
        return httpd

    yield start
    for httpd, thread in started:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_traffic_alternates_writes_and_reads_from_each_location_and_keeps_only_acknowledged_writes(server):
    entry = server(_Entry)
    load = Traffic(f"http://127.0.0.1:{entry.server_address[1]}", [EU, US], clients=2, rate=20.0,
                   run_id="r1", host="api.example")
    load.start()
    try:
        deadline = time.monotonic() + 10
        while (min(Counter(r.location for r in load.records()).get(loc, 0) for loc in (EU, US)) < 6
               and time.monotonic() < deadline):
            time.sleep(0.02)
    finally:
        stopped_at = time.monotonic()
        load.stop()
    assert time.monotonic() - stopped_at < 1.0, "clients must stop promptly"
    records = load.records()
    assert len(records) >= 12
    for location, routed in ((EU, EU), (US, US)):
        mine = [r for r in records if r.location == location]
        assert [r.method for r in mine[:4]] == ["PUT", "GET", "PUT", "GET"]
        assert all(r.routed_to == routed for r in mine)
    assert all(r.at >= 0 and r.seconds >= 0 for r in records)
    eu_writes = [r for r in records if r.method == "PUT" and r.location == EU]
    us_writes = [r for r in records if r.method == "PUT" and r.location == US]
    assert all(r.status == 201 and r.item_id for r in eu_writes)
    assert all(r.status == 502 and r.item_id is None for r in us_writes)
    assert set(load.written) == {r.item_id for r in eu_writes}
    assert all(item_id.startswith("drill-r1-") for item_id in load.written)
    assert {k: entry.items[k] for k in load.written} == load.written
    assert {host for _, _, host, _ in entry.seen} == {"api.example"}
    assert {path for method, path, _, _ in entry.seen if method == "GET"} == {"/health"}


def test_traffic_paces_each_client_at_its_rate(server):
    entry = server(_Entry)
    load = Traffic(f"http://127.0.0.1:{entry.server_address[1]}", [EU], clients=1, rate=10.0, run_id="r2")
    load.start()
    try:
        deadline = time.monotonic() + 10
        while len(load.records()) < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        load.stop()
    sent = [r.at for r in load.records()]
    gaps = [b - a for a, b in zip(sent, sent[1:])]
    assert len(sent) >= 6 and min(gaps) >= 0.09  # never faster than the rate (10/s)


class _Region(BaseHTTPRequestHandler):
    """A region's API: GET /items/<id> from server.items; server.late[id] = when that item becomes visible."""

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        item_id = self.path.rsplit("/", 1)[1]
        visible = self.server.items.get(item_id)
        if item_id in self.server.late and time.monotonic() < self.server.late[item_id]:
            visible = None
        data = json.dumps({"id": item_id, "data": visible} if visible is not None else {"error": "item_not_found"})
        self.send_response(200 if visible is not None else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data.encode())


def test_verify_writes_waits_for_replication_and_names_what_never_arrived(server, monkeypatch, tmp_path):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # plain URLs: no local cloud in between
    written = {"drill-a-0": {"n": 0}, "drill-a-1": {"n": 1}, "drill-a-2": {"n": 2}}
    apis = []
    for region in (EU, US):
        api = server(_Region)
        api.items = dict(written)
        api.late = {}
        apis.append((api, RegionApi(region[:4], region, f"http://127.0.0.1:{api.server_address[1]}")))
    (eu, _), (us, _) = apis
    us.late["drill-a-1"] = time.monotonic() + 0.4  # replicates late, within the bound
    del us.items["drill-a-2"]  # never replicates
    eu.items["drill-a-0"] = {"n": "stale"}  # readable, but not what was written
    endpoints = Endpoints(tmp_path / "samconfig.toml")
    started = time.monotonic()
    missing = drill_executor.verify_writes(endpoints, [api for _, api in apis], written, bound=2.0)
    assert missing == ["drill-a-0", "drill-a-2"]
    assert 2.0 <= time.monotonic() - started < 8.0
    us.items["drill-a-2"] = written["drill-a-2"]
    eu.items["drill-a-0"] = written["drill-a-0"]
    assert drill_executor.verify_writes(endpoints, [api for _, api in apis], written, bound=2.0) == []


def test_save_report_writes_beside_samconfig(tmp_path):
    config = tmp_path / "samconfig.toml"
    config.write_text("")
    report = {"env": "euw1", "run_id": "20250101T000000Z-abcd", "ok": True}
    path = save_report(config, report)
    assert path == tmp_path / ".globalctl" / "drills" / "euw1-20250101T000000Z.json"
    assert json.loads(path.read_text()) == report
    second = save_report(config, {**report, "run_id": "20250101T000000Z-ef01"})
    assert second.name == "euw1-20250101T000000Z-ef01.json" and path.exists()


# --- preconditions: one line, before any AWS call ----------------------------------------------------

@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    shutil.copy(ROOT / "samconfig.toml", tmp_path / "samconfig.toml")
    return str(tmp_path / "samconfig.toml")


@pytest.mark.parametrize(("args", "code", "message"), [
    (["routing"], 2, "error: routing is the routing stack, not a region: drill a region env (euw1, use1, apse1)"),
    (["mars1"], 2, "error: unknown environment 'mars1' (known: table, euw1, use1, apse1, routing)"),
    (["euw1", "--mode", "flood"], 2, "error: unknown --mode 'flood'; choose drain or outage"),
    (["euw1", "--mode", "outage"], 2,
     "error: --mode outage needs the local cloud (it injects the outage); use --mode drain on AWS"),
    (["euw1"], 1, "error: drills need the local cloud's global entry, or --entry URL"),
])
def test_a_drill_that_cannot_run_says_why_in_one_line(config, args, code, message):
    result = CliRunner().invoke(app, ["--config", config, "drill", *args])
    assert result.exit_code == code, result.output
    assert result.stderr.strip() == message
