"""The global entry proxy in front of two local regional servers."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from localcloud.route53 import policy
from localcloud.route53.entry import GlobalEntry, Upstream
from localcloud.route53.routing import Answer

GLOBAL = "api.global-backend.example"


def api_host(region: str) -> str:
    return f"api{region.replace('-', '')}.execute-api.{region}.amazonaws.com"


class Regional:
    """A regional API server stand-in: echoes what it received, tagged with its region."""

    def __init__(self, region: str) -> None:
        self.region = region
        me = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _echo(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received = {"region": me.region, "method": self.command, "path": self.path,
                            "host": self.headers["Host"], "body": self.rfile.read(length).decode(),
                            "client_header": self.headers.get("X-Custom"),
                            "transfer_encoding": self.headers.get("Transfer-Encoding")}
                body = json.dumps(received).encode()
                if self.path.startswith("/stream"):  # no Content-Length: chunked to the proxy
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for part in (body[:10], body[10:]):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_response(201 if self.command == "POST" else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Served-By", me.region)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _echo

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def cloud():
    """Two regional servers, a latency policy with health checks over them, and the entry proxy."""
    regionals = {r: Regional(r) for r in ("eu-west-1", "us-east-1")}
    down: set[str] = set()
    document = {
        "AWSPolicyFormatVersion": "2015-10-01", "RecordType": "CNAME", "StartRule": "nearest",
        "Endpoints": {r: {"Type": "value", "Value": api_host(r)} for r in regionals},
        "Rules": {"nearest": {"RuleType": "latency", "Regions": [
            {"Region": r, "EndpointReference": r, "HealthCheck": f"hc-{r}"} for r in regionals]}},
    }

    def resolve(host: str, location: str) -> Answer | None:
        if host not in (GLOBAL, "127.0.0.1"):
            return None
        return policy.evaluate(document, location, lambda hc: hc not in down)

    def upstream(value: str) -> Upstream | None:
        for region, server in regionals.items():
            if value == api_host(region):
                return Upstream("127.0.0.1", server.port, region)
        return None

    entry = GlobalEntry(resolve=resolve, upstream=upstream, default_location="eu-west-1")
    entry.start()
    try:
        yield entry, regionals, down
    finally:
        entry.stop()
        for server in regionals.values():
            server.close()


def call(entry: GlobalEntry, method: str = "GET", path: str = "/items", body: bytes | None = None,
         headers: dict[str, str] | None = None, conn: http.client.HTTPConnection | None = None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", entry.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers={"Host": GLOBAL, **(headers or {})})
        response = conn.getresponse()
        data = response.read()
        return response, (json.loads(data) if data else None)
    finally:
        if own:
            conn.close()


@pytest.mark.parametrize(("location", "region"), [
    ("eu-west-2", "eu-west-1"), ("eu-central-1", "eu-west-1"), ("us-west-2", "us-east-1"),
    ("sa-east-1", "us-east-1"), ("ap-northeast-1", "eu-west-1"),
])
def test_requests_go_to_the_region_route53_picks_for_the_client(cloud, location, region):
    entry, _, _ = cloud
    response, echo = call(entry, headers={"X-Client-Location": location})
    assert response.status == 200
    assert response.getheader("x-routed-to") == region
    assert echo["region"] == region
    assert echo["host"] == api_host(region)  # the regional server can tell which API is meant


def test_without_a_location_header_the_home_region_is_the_client_location(cloud):
    entry, _, _ = cloud
    response, echo = call(entry)
    assert response.getheader("x-routed-to") == echo["region"] == "eu-west-1"


def test_method_path_query_headers_and_body_pass_through_unchanged(cloud):
    entry, _, _ = cloud
    payload = json.dumps({"id": "42", "name": "bolt"}).encode()
    response, echo = call(entry, "POST", "/items?consistent=true&x=%2F", payload,
                          {"X-Client-Location": "us-east-2", "X-Custom": "kept", "Content-Type": "application/json"})
    assert response.status == 201
    assert response.getheader("X-Served-By") == "us-east-1"
    assert response.getheader("Content-Type") == "application/json"
    assert echo == {"region": "us-east-1", "method": "POST", "path": "/items?consistent=true&x=%2F",
                    "host": api_host("us-east-1"), "body": payload.decode(), "client_header": "kept",
                    "transfer_encoding": None}


def test_chunked_request_and_response_bodies_are_relayed(cloud):
    entry, _, _ = cloud
    conn = http.client.HTTPConnection("127.0.0.1", entry.port, timeout=10)
    try:
        conn.request("PUT", "/stream/1", body=iter([b"hello ", b"world"]),
                     headers={"Host": GLOBAL, "Transfer-Encoding": "chunked"}, encode_chunked=True)
        response = conn.getresponse()
        echo = json.loads(response.read())
    finally:
        conn.close()
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert echo["body"] == "hello world" and echo["transfer_encoding"] is None


def test_head_and_keep_alive(cloud):
    entry, _, _ = cloud
    conn = http.client.HTTPConnection("127.0.0.1", entry.port, timeout=10)
    try:
        head, body = call(entry, "HEAD", conn=conn)
        assert head.status == 200 and body is None and int(head.getheader("Content-Length")) > 0
        second, echo = call(entry, "DELETE", "/items/1", headers={"X-Client-Location": "us-east-1"}, conn=conn)
        assert second.status == 200 and echo["method"] == "DELETE" and echo["region"] == "us-east-1"
    finally:
        conn.close()


def test_unhealthy_region_is_skipped(cloud):
    entry, _, down = cloud
    down.add("hc-eu-west-1")
    response, echo = call(entry, headers={"X-Client-Location": "eu-west-2"})
    assert response.getheader("x-routed-to") == echo["region"] == "us-east-1"


@pytest.mark.parametrize("location", ["mars-1", "EU-WEST-1", "eu-west-1; DROP TABLE"])
def test_invalid_client_location_is_a_400(cloud, location):
    entry, _, _ = cloud
    response, error = call(entry, headers={"X-Client-Location": location})
    assert response.status == 400
    assert response.getheader("Content-Type") == "application/json"
    assert "X-Client-Location" in error["message"] and "eu-west-1" in error["message"]


def test_upstream_down_is_a_502_bad_gateway(cloud):
    entry, regionals, _ = cloud
    regionals["eu-west-1"].close()
    response, error = call(entry, headers={"X-Client-Location": "eu-west-1"})
    assert (response.status, error) == (502, {"message": "Bad Gateway"})
    assert response.getheader("x-routed-to") == "eu-west-1"
    other, echo = call(entry, headers={"X-Client-Location": "us-east-1"})  # the proxy itself is fine
    assert other.status == 200 and echo["region"] == "us-east-1"


def test_no_answer_is_a_503_and_an_unmapped_answer_a_502(cloud):
    entry, _, _ = cloud
    response, error = call(entry, headers={"Host": "unknown.example"})
    assert response.status == 503 and "no answer for unknown.example" in error["message"]

    def no_upstream(value: str):
        return None

    unmapped = GlobalEntry(resolve=lambda h, loc: Answer(["203.0.113.7"], "A"), upstream=no_upstream,
                           default_location="eu-west-1")
    with unmapped:
        response, error = call(unmapped)
    assert response.status == 502 and "203.0.113.7 is not served by any local region" in error["message"]


def test_host_header_port_is_ignored_and_127_0_0_1_falls_back_to_the_routed_name(cloud):
    entry, _, _ = cloud
    response, echo = call(entry, headers={"Host": f"{GLOBAL}:{entry.port}", "X-Client-Location": "us-east-1"})
    assert echo["region"] == "us-east-1"
    response, echo = call(entry, headers={"Host": f"127.0.0.1:{entry.port}"})
    assert response.status == 200 and echo["region"] == "eu-west-1"


def test_non_loopback_upstreams_are_refused():
    entry = GlobalEntry(resolve=lambda h, loc: Answer(["x.example"], "CNAME"),
                        upstream=lambda v: ("192.0.2.55", 80, "eu-west-1"), default_location="eu-west-1")
    with entry:
        response, error = call(entry)
    assert response.status == 502 and "not a loopback address" in error["message"]
    with pytest.raises(ValueError):
        GlobalEntry("0.0.0.0", resolve=lambda h, loc: None, upstream=lambda v: None, default_location="eu-west-1")


def test_multivalue_answers_spread_over_the_values(cloud):
    _, regionals, _ = cloud
    answer = Answer([api_host("eu-west-1"), api_host("us-east-1")], "A", multivalue=True)
    ports = {api_host(r): (s.port, r) for r, s in regionals.items()}
    entry = GlobalEntry(resolve=lambda h, loc: answer, upstream=lambda v: Upstream("127.0.0.1", *ports[v]),
                        default_location="eu-west-1")
    with entry:
        conn = http.client.HTTPConnection("127.0.0.1", entry.port, timeout=10)
        try:
            seen = {call(entry, conn=conn)[1]["region"] for _ in range(40)}
        finally:
            conn.close()
    assert seen == {"eu-west-1", "us-east-1"}


def test_stop_releases_the_port_and_idle_connections():
    entry = GlobalEntry(resolve=lambda h, loc: None, upstream=lambda v: None, default_location="eu-west-1")
    entry.start()
    port = entry.port
    idle = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        assert call(entry, conn=idle)[0].status == 503  # the connection stays open (keep-alive)
        entry.stop()
        assert idle.sock.recv(1) == b""  # stop() closed the idle keep-alive connection
    finally:
        idle.close()
    with pytest.raises(ConnectionRefusedError):  # nothing listens any more
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_upstream_that_never_answers_is_a_504():
    silent = socket.socket()  # accepts (backlog) but never responds
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    entry = GlobalEntry(resolve=lambda h, loc: Answer([api_host("eu-west-1")], "CNAME"),
                        upstream=lambda v: Upstream(*silent.getsockname(), "eu-west-1"),
                        default_location="eu-west-1", upstream_timeout=0.2)
    try:
        with entry:
            response, error = call(entry)
        assert (response.status, error) == (504, {"message": "Gateway Timeout"})
    finally:
        silent.close()


def test_a_failing_resolve_callback_is_a_500_not_a_dead_connection():
    def resolve(host: str, location: str):
        raise RuntimeError("boom")

    with GlobalEntry(resolve=resolve, upstream=lambda v: None, default_location="eu-west-1") as entry:
        response, error = call(entry)
    assert response.status == 500 and "routing" in error["message"]
