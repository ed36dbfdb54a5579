"""The chaos clients against a tiny in-process entry: bounded, spread over locations, logged."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chaos.__main__ import _arguments
from chaos.workload import Workload


class _Entry(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    versions: dict[str, int] = {}
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def _answer(self, status, body=None):
        raw = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("x-routed-to", {"eu-west-2": "eu-west-1"}.get(self.headers["X-Client-Location"], "us-east-1"))
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_PUT(self):
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["data"]
        with self.lock:
            version = self.versions[self.path] = self.versions.get(self.path, 0) + 1
        self._answer(200, {"id": self.path, "data": data, "version": version, "updated_at": "t"})

    def do_GET(self):
        version = self.versions.get(self.path)
        self._answer(200, {"version": version, "data": {}, "updated_at": "t"} if version else None) if version else \
            self._answer(404, {"error": "not_found", "message": "no"})

    def do_DELETE(self):
        with self.lock:
            found = self.versions.pop(self.path, None)
        self._answer(204 if found else 404)


@pytest.fixture
def entry():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Entry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_clients_send_a_bounded_mix_from_every_location_and_log_each_answer(entry):
    workload = Workload(entry, ("eu-west-2", "us-east-2", "ap-southeast-2"), clients=6, duration_s=1.0,
                        rate_per_client=20.0, prefix="t")
    for thread in workload.start():
        thread.join(timeout=10)
    log = workload.log
    assert 0 < len(log) <= 6 * 21
    assert {r.location for r in log} == {"eu-west-2", "us-east-2", "ap-southeast-2"}
    assert {r.method for r in log} >= {"PUT", "GET"}
    assert all(r.status in (200, 204, 404) and r.done >= r.sent for r in log)
    assert {r.routed_to for r in log} == {"eu-west-1", "us-east-1"}
    shared = [r for r in log if "-shared-" in r.item]
    assert shared and all(r.method == "PUT" for r in shared), "shared items are only ever written"
    puts = [r for r in log if r.method == "PUT"]
    assert all(r.version and r.data["client"] == r.client for r in puts)
    private = [r for r in log if "-shared-" not in r.item]
    assert all(r.item.startswith(f"t-c{r.client}-") for r in private), "a private item has one writer"


def test_an_unreachable_entry_is_logged_as_no_answer():
    workload = Workload("http://127.0.0.1:9", ("eu-west-2",), clients=1, duration_s=0.3, rate_per_client=10.0)
    for thread in workload.start():
        thread.join(timeout=10)
    assert workload.log and all(r.status == 0 and r.error for r in workload.log)


@pytest.mark.parametrize("argv", [["--scenarios", "flood"], ["--fault-at", "50", "--fault-for", "20"],
                                  ["--clients", "0"], ["--health-interval-scale", "2"]])
def test_bad_arguments_are_one_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        _arguments(argv)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("python -m chaos: error:")
