"""A real RegionalApiServer on a free loopback port, with in-process fakes behind it."""

from __future__ import annotations

import base64
import http.client
import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from localcloud.apigatewayv2 import (
    DeployedApi,
    Integration,
    InvokerTimeout,
    RegionalApiServer,
    Route,
    Stage,
)
from localcloud.apigatewayv2.server import MAX_PAYLOAD_BYTES
from localcloud.faults import Fault
from localcloud.invocation import InvokeOutcome, TooManyRequests

REGION = "eu-west-1"
ARN = "arn:aws:lambda:eu-west-1:123456789012:function:api"
URI = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{ARN}/invocations"
V2 = Integration("int-v2", integration_uri=URI, timeout_ms=1500)
V1 = Integration("int-v1", integration_uri=ARN, payload_format_version="1.0")


def make_api(api_id: str = "a1b2c3", stage: Stage | None = None, extra: list[Route] | None = None) -> DeployedApi:
    routes = [
        Route("r-get", "GET /items/{id}", V2),
        Route("r-put", "PUT /items/{id}", V2),
        Route("r-echo", "ANY /echo", V2),
        Route("r-size", "POST /size", V2),
        Route("r-fail", "GET /fail", V2),
        Route("r-bad", "GET /bad", V2),
        Route("r-timeout", "GET /timeout", V2),
        Route("r-throttled", "GET /throttled", V2),
        Route("r-inferred", "GET /inferred", V2),
        Route("r-v1", "GET /v1/{id}", V1),
        Route("r-none", "GET /unintegrated", None),
        *(extra or []),
    ]
    return DeployedApi(api_id, f"api-{api_id}", REGION, routes, stage or Stage())


class FakeCatalog:
    """Picks the API by the Host's first label when it names one, else the region's API."""

    def __init__(self, *apis: DeployedApi) -> None:
        self.apis = {api.api_id: api for api in apis}
        self.region_api: DeployedApi | None = apis[0] if apis else None

    def lookup(self, region: str, host_header: str | None) -> DeployedApi | None:
        label = (host_header or "").split(".", 1)[0].split(":", 1)[0]
        if label in self.apis:
            return self.apis[label]
        return self.region_api if region == REGION else None


class FakeFaults:
    def __init__(self) -> None:
        self.current: Fault | None = None
        self.calls = 0

    def fault(self, region: str) -> Fault | None:
        self.calls += 1
        return self.current if region == REGION else None


@dataclass
class EchoInvoker:
    """A tiny function in-process: an items store, an echo and the failure modes."""

    items: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, dict, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, function_arn: str, event: dict, timeout_s: float) -> InvokeOutcome:
        with self.lock:
            self.calls.append((function_arn, event, timeout_s))
        key = event.get("routeKey") or f"{event['httpMethod']} {event['resource']}"
        if key == "PUT /items/{id}":
            body = base64.b64decode(event["body"]).decode() if event["isBase64Encoded"] else event["body"]
            with self.lock:
                self.items[event["pathParameters"]["id"]] = body
            return self._json(200, {"id": event["pathParameters"]["id"], "stored": json.loads(body)})
        if key == "GET /items/{id}":
            with self.lock:
                stored = self.items.get(event["pathParameters"]["id"])
            if stored is None:
                return self._json(404, {"error": "not_found"})
            return self._json(200, {"id": event["pathParameters"]["id"], "stored": json.loads(stored)},
                              cookies=["seen=1; Path=/", "theme=dark"])
        if key in ("ANY /echo", "GET /only-here"):
            return self._json(200, event)
        if key == "POST /size":
            raw = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode()
            return self._json(200, {"size": len(raw)})
        if key == "GET /fail":
            error = {"errorMessage": "boom", "errorType": "RuntimeError"}
            return InvokeOutcome(json.dumps(error).encode(), function_error="Unhandled")
        if key == "GET /bad":
            return InvokeOutcome(b"<html>not json</html>")
        if key == "GET /timeout":
            raise InvokerTimeout(f"no answer in {timeout_s}s")
        if key == "GET /throttled":
            raise TooManyRequests("Rate Exceeded.")
        if key == "GET /inferred":
            return InvokeOutcome(b'{"hello": "world"}')
        if key == "GET /v1/{id}":
            return InvokeOutcome(json.dumps({
                "statusCode": 200,
                "multiValueHeaders": {"x-multi": ["a", "b"]},
                "body": json.dumps({"version": event["version"], "id": event["pathParameters"]["id"]}),
            }).encode())
        raise AssertionError(f"unexpected route {key}")

    @staticmethod
    def _json(status: int, body: object, cookies: list[str] | None = None) -> InvokeOutcome:
        result: dict = {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
        if cookies:
            result["cookies"] = cookies
        return InvokeOutcome(json.dumps(result).encode())


@dataclass
class Harness:
    server: RegionalApiServer
    catalog: FakeCatalog
    invoker: EchoInvoker
    faults: FakeFaults

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[http.client.HTTPResponse, bytes]:
        conn = self.connect()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response, response.read()
        finally:
            conn.close()


def start_harness(catalog: FakeCatalog | None = None, **server_kwargs) -> Harness:
    catalog = catalog if catalog is not None else FakeCatalog(make_api())
    invoker, faults = EchoInvoker(), FakeFaults()
    server = RegionalApiServer(REGION, catalog=catalog, invoker=invoker, faults=faults, **server_kwargs)
    server.start()
    return Harness(server, catalog, invoker, faults)


@pytest.fixture
def gw() -> Iterator[Harness]:
    harness = start_harness()
    try:
        yield harness
    finally:
        harness.server.stop()


def message(body: bytes) -> str:
    return json.loads(body)["message"]


# --- happy paths -------------------------------------------------------------------------------


def test_put_then_get_round_trip_on_one_keep_alive_connection(gw: Harness) -> None:
    conn = gw.connect()
    try:
        conn.request("PUT", "/items/alpha", body=b'{"n": 1}', headers={"Content-Type": "application/json"})
        put = conn.getresponse()
        assert (put.status, json.loads(put.read())) == (200, {"id": "alpha", "stored": {"n": 1}})
        assert put.getheader("Connection") == "keep-alive"
        first_socket = conn.sock

        conn.request("GET", "/items/alpha")
        got = conn.getresponse()
        assert got.status == 200
        assert json.loads(got.read()) == {"id": "alpha", "stored": {"n": 1}}
        assert conn.sock is first_socket  # the same TCP connection served both
        assert got.getheader("Content-Type") == "application/json"
        assert got.msg.get_all("Set-Cookie") == ["seen=1; Path=/", "theme=dark"]
        request_id = got.getheader("apigw-requestid")
        assert request_id and got.getheader("Date") and got.getheader("Server") is None
        assert got.getheader("x-localcloud-region") is None
    finally:
        conn.close()
    arn, event, timeout_s = gw.invoker.calls[-1]
    assert arn == ARN and timeout_s == 1.5
    assert event["requestContext"]["requestId"] == request_id
    assert event["routeKey"] == "GET /items/{id}" and event["pathParameters"] == {"id": "alpha"}
    assert gw.server.requests_total == 2


def test_event_seen_by_the_function(gw: Harness) -> None:
    response, body = gw.request(
        "POST", "/echo?a=1&a=2", body=b"\x00\x01binary",
        headers={"Content-Type": "application/octet-stream", "Cookie": "c1=x; c2=y", "X-Dup": "1"},
    )
    assert response.status == 200
    event = json.loads(body)
    assert event["version"] == "2.0" and event["routeKey"] == "ANY /echo"
    assert event["cookies"] == ["c1=x", "c2=y"]
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x00\x01binary"
    assert event["headers"]["x-forwarded-port"] == str(gw.server.port)
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["domainName"] == "a1b2c3.execute-api.eu-west-1.amazonaws.com"


def test_format_inference_and_payload_v1(gw: Harness) -> None:
    response, body = gw.request("GET", "/inferred")
    assert (response.status, body) == (200, b'{"hello": "world"}')
    assert response.getheader("Content-Type") == "application/json"
    response, body = gw.request("GET", "/v1/42")
    assert response.status == 200 and json.loads(body) == {"version": "1.0", "id": "42"}
    assert response.msg.get_all("x-multi") == ["a", "b"]


def test_chunked_request_body(gw: Harness) -> None:
    conn = gw.connect()
    try:
        conn.request("POST", "/size", body=iter([b"abc", b"defg", b"h"]), encode_chunked=True,
                     headers={"Content-Type": "text/plain", "Transfer-Encoding": "chunked"})
        response = conn.getresponse()
        assert (response.status, json.loads(response.read())) == (200, {"size": 8})
    finally:
        conn.close()


def test_host_header_selects_the_api() -> None:
    other = make_api("zz9plural", extra=[Route("r-only", "GET /only-here", V2)])
    harness = start_harness(FakeCatalog(make_api(), other))
    try:
        response, body = harness.request("GET", "/only-here")
        assert (response.status, message(body)) == (404, "Not Found")
        host = {"Host": "zz9plural.execute-api.eu-west-1.amazonaws.com"}
        response, _ = harness.request("GET", "/only-here", headers=host)
        assert response.status == 200
        assert harness.invoker.calls[-1][1]["requestContext"]["apiId"] == "zz9plural"
    finally:
        harness.server.stop()


def test_named_stage_serves_under_its_prefix() -> None:
    harness = start_harness(FakeCatalog(make_api(stage=Stage(stage_name="prod"))))
    try:
        response, _ = harness.request("GET", "/prod/echo")
        assert response.status == 200
        event = harness.invoker.calls[-1][1]
        assert event["rawPath"] == "/prod/echo" and event["requestContext"]["stage"] == "prod"
        response, body = harness.request("GET", "/echo")
        assert (response.status, message(body)) == (404, "Not Found")
    finally:
        harness.server.stop()


# --- gateway errors ----------------------------------------------------------------------------


def test_no_route_and_no_api_are_404(gw: Harness) -> None:
    response, body = gw.request("GET", "/nowhere")
    assert (response.status, message(body)) == (404, "Not Found")
    response, body = gw.request("DELETE", "/items/x")  # path exists, method does not
    assert (response.status, message(body)) == (404, "Not Found")
    gw.catalog.region_api = None
    response, body = gw.request("GET", "/items/x")
    assert (response.status, message(body)) == (404, "Not Found")
    assert gw.invoker.calls == []


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/fail", 500, "Internal Server Error"),
        ("/bad", 500, "Internal Server Error"),
        ("/unintegrated", 500, "Internal Server Error"),
        ("/timeout", 503, "Service Unavailable"),
        ("/throttled", 500, "Internal Server Error"),
    ],
)
def test_integration_failures(gw: Harness, path: str, status: int, text: str) -> None:
    response, body = gw.request("GET", path)
    assert (response.status, message(body)) == (status, text)
    assert response.getheader("Content-Type") == "application/json"
    assert response.getheader("apigw-requestid")


def test_lambda_throttle_status_is_configurable() -> None:
    harness = start_harness(lambda_throttle_status=429)
    try:
        response, body = harness.request("GET", "/throttled")
        assert (response.status, message(body)) == (429, "Too Many Requests")
    finally:
        harness.server.stop()


def test_stage_throttling_answers_429() -> None:
    stage = Stage(throttling_rate_limit=0.0, throttling_burst_limit=2, route_settings={"ANY /echo": (0.0, 5)})
    harness = start_harness(FakeCatalog(make_api(stage=stage)))
    try:
        statuses = [harness.request("GET", "/inferred")[0].status for _ in range(4)]
        assert statuses == [200, 200, 429, 429]
        response, body = harness.request("GET", "/inferred")
        assert message(body) == "Too Many Requests"
        assert [harness.request("GET", "/echo")[0].status for _ in range(6)] == [200] * 5 + [429]
        assert sum(1 for _, e, _ in harness.invoker.calls if e["routeKey"] == "GET /inferred") == 2
    finally:
        harness.server.stop()


def test_payload_limit_413_and_exact_limit_accepted(gw: Harness) -> None:
    with socket.create_connection(("127.0.0.1", gw.server.port), timeout=10) as sock:
        sock.sendall(
            f"POST /size HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {MAX_PAYLOAD_BYTES + 1}\r\n\r\n".encode()
        )
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b"Connection: close" in head
    assert message(body) == "Request Entity Too Large"

    response, body = gw.request("POST", "/size", body=b"x" * MAX_PAYLOAD_BYTES, headers={"Content-Type": "text/plain"})
    assert (response.status, json.loads(body)) == (200, {"size": MAX_PAYLOAD_BYTES})


def test_malformed_request_gets_json_400(gw: Harness) -> None:
    with socket.create_connection(("127.0.0.1", gw.server.port), timeout=10) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and message(body) == "Bad Request"


# --- faults ------------------------------------------------------------------------------------


def test_outage_drops_the_connection_without_a_response(gw: Harness) -> None:
    conn = gw.connect()
    try:
        conn.request("GET", "/inferred")
        assert conn.getresponse().read() == b'{"hello": "world"}'
        gw.faults.current = Fault("outage")
        # Both an open keep-alive connection and a new one are cut.
        conn.request("GET", "/inferred")
        with pytest.raises(ConnectionError):
            conn.getresponse()
    finally:
        conn.close()
    with pytest.raises(ConnectionError):
        gw.request("GET", "/inferred")
    assert len(gw.invoker.calls) == 1
    gw.faults.current = None
    response, _ = gw.request("GET", "/inferred")
    assert response.status == 200
    assert gw.server.stats()["dropped_total"] == 2


def test_errors_fault_at_rate_one_is_all_503(gw: Harness) -> None:
    gw.faults.current = Fault("errors", error_rate=1.0)
    for _ in range(5):
        response, body = gw.request("GET", "/inferred")
        assert (response.status, message(body)) == (503, "Service Unavailable")
    assert gw.invoker.calls == []


def test_errors_fault_uses_the_injected_random() -> None:
    harness = start_harness(rng=random.Random(7))
    try:
        harness.faults.current = Fault("errors", error_rate=0.5)
        statuses = [harness.request("GET", "/inferred")[0].status for _ in range(20)]
        reference = random.Random(7)
        assert statuses == [503 if reference.random() < 0.5 else 200 for _ in range(20)]
        assert 0 < statuses.count(503) < 20
    finally:
        harness.server.stop()


def test_partition_does_not_affect_the_api(gw: Harness) -> None:
    gw.faults.current = Fault("partition")
    response, _ = gw.request("GET", "/inferred")
    assert response.status == 200


def test_slow_fault_adds_latency(gw: Harness) -> None:
    gw.faults.current = Fault("slow", latency_ms=300)
    started = time.monotonic()
    response, _ = gw.request("GET", "/inferred")
    assert response.status == 200
    assert time.monotonic() - started >= 0.3


# --- lifecycle ---------------------------------------------------------------------------------


def test_stop_frees_the_port_and_closes_open_connections() -> None:
    harness = start_harness()
    port = harness.server.port
    conn = harness.connect()
    try:
        conn.request("GET", "/inferred")
        assert conn.getresponse().read()
        harness.server.stop()
        assert not harness.server.running
        conn.request("GET", "/inferred")
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            conn.getresponse()
    finally:
        conn.close()
        harness.server.stop()  # idempotent

    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
    finally:
        probe.close()

    again = RegionalApiServer(REGION, port=port, catalog=harness.catalog, invoker=harness.invoker)
    try:
        again.start()
        assert again.port == port
        response, _ = Harness(again, harness.catalog, harness.invoker, harness.faults).request("GET", "/inferred")
        assert response.status == 200
    finally:
        again.stop()


def test_stop_does_not_wait_out_a_slow_fault() -> None:
    harness = start_harness()
    harness.faults.current = Fault("slow", latency_ms=30_000)
    outcome: list[object] = []

    def client() -> None:
        try:
            outcome.append(harness.request("GET", "/inferred")[0].status)
        except Exception as exc:  # the connection is cut by stop()
            outcome.append(exc)

    thread = threading.Thread(target=client, daemon=True)
    try:
        thread.start()
        deadline = time.monotonic() + 5
        while harness.faults.calls == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert harness.faults.calls == 1
        started = time.monotonic()
        harness.server.stop(timeout_s=5)
        assert time.monotonic() - started < 4
        thread.join(5)
        assert not thread.is_alive() and len(outcome) == 1
    finally:
        harness.server.stop()


def test_start_twice_is_refused_and_port_requires_start() -> None:
    server = RegionalApiServer(REGION, catalog=FakeCatalog(), invoker=EchoInvoker())
    with pytest.raises(RuntimeError):
        _ = server.port
    with server:
        with pytest.raises(RuntimeError):
            server.start()
        assert server.url == f"http://127.0.0.1:{server.port}"
    assert not server.running


def test_concurrent_keep_alive_clients(gw: Harness) -> None:
    failures: list[object] = []

    def client(n: int) -> None:
        conn = gw.connect()
        try:
            for i in range(25):
                conn.request("PUT", f"/items/c{n}-{i}", body=json.dumps({"n": n, "i": i}).encode(),
                             headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                if (response.status, json.loads(response.read())["stored"]) != (200, {"n": n, "i": i}):
                    failures.append((n, i, response.status))
        except Exception as exc:
            failures.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert failures == []
    assert len(gw.invoker.items) == 400
    assert gw.server.requests_total == 400
    assert gw.server.stats()["responses_by_status"] == {200: 400}


def test_head_and_absolute_form_targets(gw: Harness) -> None:
    with socket.create_connection(("127.0.0.1", gw.server.port), timeout=10) as sock:
        sock.sendall(b"GET http://a1b2c3.example/echo?x=1 HTTP/1.1\r\n"
                     b"Host: a1b2c3.example\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Connection: close" in head
    event = json.loads(body)
    assert (event["rawPath"], event["rawQueryString"]) == ("/echo", "x=1")

    response, body = gw.request("HEAD", "/echo")
    assert response.status == 200 and body == b""
    assert int(response.getheader("Content-Length")) > 0


def test_oversized_body_sent_in_full_still_gets_413(gw: Harness) -> None:
    response, body = gw.request("POST", "/size", body=b"y" * (MAX_PAYLOAD_BYTES + 1),
                                headers={"Content-Type": "text/plain"})
    assert (response.status, message(body)) == (413, "Request Entity Too Large")
    assert gw.invoker.calls == []


def test_redeployed_routes_take_effect(gw: Harness) -> None:
    assert gw.request("GET", "/new-route")[0].status == 404
    gw.catalog.region_api = make_api(extra=[Route("r-new", "GET /only-here", V2)])
    assert gw.request("GET", "/only-here")[0].status == 200
    gw.catalog.region_api.routes.remove(gw.catalog.region_api.routes[-1])  # an edited list counts too
    assert gw.request("GET", "/only-here")[0].status == 404
