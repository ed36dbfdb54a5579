"""Bake traffic (globalctl.bake_traffic) against a loopback stand-in for a region's API: every
route is exercised, the rate is bounded, and no probe item outlives the bake, even when a DELETE
fails in its cycle."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from globalctl.bake_traffic import MAX_RPS, probing
from globalctl.endpoints import Endpoints
from globalctl.regions import RegionApi


class FakeApi(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.items: dict[str, object] = {}
        self.seen: list[tuple[str, str]] = []
        self.fail_deletes = 0
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server: FakeApi

    def log_message(self, *_: object) -> None:
        pass

    def _answer(self, status: int, body: object = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        item = self.path.removeprefix("/items/") if self.path.startswith("/items/") else None
        with self.server.lock:
            self.server.seen.append((self.command, "/items/{id}" if item else self.path))
            if self.command == "PUT":
                self.server.items[item] = body
                return self._answer(201, body)
            if self.command == "DELETE":
                if self.server.fail_deletes > 0:
                    self.server.fail_deletes -= 1
                    return self._answer(500, {"error": "boom"})
                return self._answer(204 if self.server.items.pop(item, None) is not None else 404)
            if item:
                return self._answer(200 if item in self.server.items else 404, self.server.items.get(item))
            return self._answer(200, {"items": list(self.server.items)[:5]})

    do_GET = do_PUT = do_DELETE = _handle


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeApi, RegionApi, Endpoints]]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    server = FakeApi()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, RegionApi("euw1", "eu-west-1", f"http://127.0.0.1:{server.server_port}"), \
            Endpoints(tmp_path / "samconfig.toml")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_every_route_is_probed_and_no_probe_item_is_left(api):
    server, region, endpoints = api
    server.fail_deletes = 1  # the first cycle's DELETE fails: the end of the bake deletes it
    with probing(endpoints, region, rps=40) as tally:
        from tests.support.polling import wait_until

        wait_until(lambda: tally.requests >= 12, 10, "three cycles of probe traffic")
    assert {route for route in server.seen} == {("PUT", "/items/{id}"), ("GET", "/items/{id}"),
                                                ("GET", "/items?limit=5"), ("DELETE", "/items/{id}")}
    assert server.items == {} and tally.left_behind == []
    assert tally.by_status[500] == 1


def test_the_rate_is_capped(api):
    server, region, endpoints = api
    started = time.monotonic()
    with probing(endpoints, region, rps=10_000) as tally:
        from tests.support.polling import wait_until

        wait_until(lambda: tally.requests >= 40, 20, "40 probe requests")
    elapsed = time.monotonic() - started
    # 40 requests at no more than MAX_RPS take at least 36/MAX_RPS seconds (the first cycle starts at once).
    assert elapsed >= 36 / MAX_RPS, elapsed
