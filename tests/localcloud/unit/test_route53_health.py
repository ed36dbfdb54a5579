"""Health checkers against a real local HTTP server we control."""

from __future__ import annotations

import http.client
import socket
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from localcloud.loopback import NonLoopbackTarget, require_loopback
from localcloud.route53.health import HealthChecker, HealthCheckers

FQDN = "abc123.execute-api.eu-west-1.amazonaws.com"
WAIT = 10.0  # an upper bound only: wait_for returns as soon as the status is reached


class Backend:
    """A regional API stand-in whose answer the test changes at will; records what it receives."""

    def __init__(self) -> None:
        self.status, self.body = 200, b'{"status":"ok"}'
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.targets: list[tuple[str, int, str]] = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                backend.requests.append((self.path, dict(self.headers.items())))
                body = backend.body
                self.send_response(backend.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def target(self, endpoint: str, port: int, scheme: str) -> tuple[str, int]:
        self.targets.append((endpoint, port, scheme))
        return "127.0.0.1", self.port


@pytest.fixture
def backend():
    b = Backend()
    b.thread.start()
    try:
        yield b
    finally:
        b.server.shutdown()
        b.server.server_close()
        b.thread.join(5)


@pytest.fixture
def free_port():
    """A loopback port with nothing listening on it."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def https_check(**overrides) -> dict:
    return {"Type": "HTTPS", "FullyQualifiedDomainName": FQDN, "Port": 443, "ResourcePath": "/health",
            "RequestInterval": 10, "FailureThreshold": 3, "EnableSNI": True, **overrides}


def test_status_flips_only_after_failure_threshold_consecutive_results(backend):
    checker = HealthChecker("hc-1", https_check(FailureThreshold=3), backend.target)
    assert checker.status()  # new checks start healthy
    backend.status = 503
    for _ in range(2):
        assert not checker.check_now().ok
        assert checker.status()
    checker.check_now()
    assert not checker.status()
    backend.status = 200
    checker.check_now()
    backend.status = 500  # a failure resets the run of successes
    checker.check_now()
    backend.status = 200
    for _ in range(2):
        checker.check_now()
        assert not checker.status()
    checker.check_now()
    assert checker.status()


def test_probe_sends_route53_style_request_to_the_mapped_loopback_port(backend):
    observation = HealthChecker("hc-7", https_check(), backend.target).probe()
    assert observation.ok and observation.status == "Success: HTTP Status Code 200, OK"
    assert backend.targets == [(FQDN, 443, "https")]  # HTTPS is probed as plain HTTP, locally
    path, headers = backend.requests[0]
    assert path == "/health"
    assert headers["Host"] == FQDN
    assert headers["User-Agent"].startswith("Amazon-Route53-Health-Check-Service (ref hc-7")


@pytest.mark.parametrize(("config", "host"), [
    ({"Port": 443}, FQDN),
    ({"Port": 8443}, f"{FQDN}:8443"),
    ({"Type": "HTTP", "Port": 80}, FQDN),
    ({"Type": "HTTP", "Port": 443}, f"{FQDN}:443"),
    ({"FullyQualifiedDomainName": None, "IPAddress": "192.0.2.10", "Port": 443}, "192.0.2.10"),
    ({"IPAddress": "192.0.2.10", "Port": 443}, FQDN),
])
def test_host_header_follows_route53_rules(backend, config, host):
    cfg = {k: v for k, v in https_check(**config).items() if v is not None}
    assert HealthChecker("hc", cfg, backend.target).probe().ok
    assert backend.requests[-1][1]["Host"] == host
    assert backend.targets[-1][0] == config.get("IPAddress", FQDN)  # IPAddress wins as the endpoint


@pytest.mark.parametrize(("status", "ok", "report"), [
    (200, True, "Success: HTTP Status Code 200, OK"),
    (204, True, "Success: HTTP Status Code 204, No Content"),
    (301, True, "Success: HTTP Status Code 301, Moved Permanently"),
    (404, False, "Failure: HTTP Status Code 404, Not Found"),
    (503, False, "Failure: HTTP Status Code 503, Service Unavailable"),
])
def test_2xx_and_3xx_are_healthy(backend, status, ok, report):
    backend.status = status
    observation = HealthChecker("hc", https_check(), backend.target).probe()
    assert (observation.ok, observation.status) == (ok, report)


def test_string_match_searches_the_first_5120_bytes(backend):
    checker = HealthChecker("hc", https_check(Type="HTTPS_STR_MATCH", SearchString="ready"), backend.target)
    backend.body = b"x" * 5000 + b"ready"
    assert checker.probe().ok
    backend.body = b"x" * 5120 + b"ready"
    observation = checker.probe()
    assert not observation.ok and "search string was not found in the first 5120 bytes" in observation.status
    backend.status, backend.body = 500, b"ready"
    assert not checker.probe().ok


@pytest.mark.parametrize(("address", "reason"), [
    (("10.1.2.3", 443), "not a loopback address"),
    (("localhost", 443), "only loopback IP literals"),
    (("api.example.com", 443), "host names are never resolved"),
    (None, "DNS resolution failed"),
])
def test_targets_outside_loopback_are_refused_without_connecting(monkeypatch, address, reason):
    def no_connect(*args, **kwargs):
        raise AssertionError("a refused target must not be connected to")

    monkeypatch.setattr(http.client.HTTPConnection, "connect", no_connect)
    monkeypatch.setattr(socket, "create_connection", no_connect)
    checker = HealthChecker("hc", https_check(FailureThreshold=1), lambda *a: address)
    observation = checker.check_now()
    assert not observation.ok and reason in observation.status
    assert not checker.status()


def test_require_loopback():
    assert require_loopback("127.0.0.1") == "127.0.0.1"
    assert require_loopback("127.8.9.10") == "127.8.9.10"
    assert require_loopback("[::1]") == "::1"
    for bad in ("0.0.0.0", "192.168.1.1", "8.8.8.8", "localhost", "example.com", "::ffff:10.0.0.1", ""):
        with pytest.raises(NonLoopbackTarget):
            require_loopback(bad)


def test_connection_refused_is_a_failure(free_port):
    checker = HealthChecker("hc", https_check(FailureThreshold=1), lambda *a: ("127.0.0.1", free_port))
    observation = checker.check_now()
    assert not observation.ok and observation.status.startswith("Failure: Connection refused")
    assert not checker.status()


def test_no_status_code_within_the_response_timeout_is_a_failure():
    silent = socket.socket()  # accepts connections (backlog) but never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        checker = HealthChecker("hc", https_check(), lambda *a: silent.getsockname(), response_timeout=0.2)
        observation = checker.probe()
        assert not observation.ok
        assert "did not return an HTTP status code within 0.2 seconds" in observation.status
    finally:
        silent.close()


def test_tcp_check(backend, free_port):
    tcp = {"Type": "TCP", "IPAddress": "192.0.2.1", "Port": 5432}
    assert HealthChecker("hc", tcp, backend.target).probe().ok
    assert backend.targets[-1] == ("192.0.2.1", 5432, "tcp")
    assert not HealthChecker("hc", tcp, lambda *a: ("127.0.0.1", free_port)).probe().ok


def test_inverted_disabled_and_unmonitored_types():
    never = lambda *a: pytest.fail("must not probe")  # noqa: E731
    assert not HealthChecker("hc", https_check(Inverted=True), never).status()  # inverted starts unhealthy
    disabled = HealthChecker("hc", https_check(Disabled=True), never)
    disabled.start()
    assert disabled.status() and not disabled.probes and disabled._thread is None
    assert not HealthChecker("hc", https_check(Disabled=True, Inverted=True), never).status()
    assert HealthChecker("hc", {"Type": "CLOUDWATCH_METRIC"}, never).status()
    assert not HealthChecker("hc", {"Type": "CLOUDWATCH_METRIC", "InsufficientDataHealthStatus": "Unhealthy"},
                             never).status()


def test_checker_thread_tracks_the_endpoint_and_wait_for_sees_each_flip(backend):
    checkers = HealthCheckers(backend.target, interval_scale=0.005)  # RequestInterval 10 -> 50 ms
    try:
        checkers.sync({"hc-eu": https_check(FailureThreshold=2)})
        assert checkers.healthy("hc-eu")
        assert checkers.wait_for("hc-eu", True, WAIT)
        backend.status = 503
        assert checkers.wait_for("hc-eu", False, WAIT)
        newest = checkers.observations("hc-eu")[:2]
        assert [o["StatusReport"]["Status"] for o in newest] == ["Failure: HTTP Status Code 503, Service Unavailable"] * 2
        backend.status = 200
        assert checkers.wait_for("hc-eu", True, WAIT)
        assert checkers.observations("hc-eu")[0]["StatusReport"]["Status"].startswith("Success")
        thread = checkers.get("hc-eu")._thread
    finally:
        checkers.close()
    assert not thread.is_alive()
    assert checkers.healthy("hc-eu")  # gone: unknown ids are healthy


def test_a_started_checker_can_be_waited_on(backend):
    checker = HealthChecker("hc", https_check(FailureThreshold=1), backend.target, interval_scale=0.005)
    checker.start()
    try:
        backend.status = 502
        assert checker.wait_for(False, WAIT)
        backend.status = 200
        assert checker.wait_for(True, WAIT)
    finally:
        checker.stop()
    assert not checker._thread.is_alive()


def test_observations_look_like_get_health_check_status(backend):
    checker = HealthChecker("hc", https_check(), backend.target, history=3, checker_region="eu-west-1")
    backend.status = 500
    checker.check_now()
    backend.status = 200
    for _ in range(3):
        checker.check_now()
    observations = checker.observations()
    assert len(observations) == 3
    first = observations[0]
    assert set(first) == {"Region", "IPAddress", "StatusReport"}
    assert first["Region"] == "eu-west-1" and first["IPAddress"] == "127.0.0.1"
    assert isinstance(first["StatusReport"]["CheckedTime"], datetime)
    assert first["StatusReport"]["CheckedTime"].tzinfo is not None
    times = [o["StatusReport"]["CheckedTime"] for o in observations]
    assert times == sorted(times, reverse=True)  # newest first
    assert checker.last_failure_reason() == []  # the failure fell out of the 3-deep history


def test_calculated_check_counts_healthy_children():
    never = lambda *a: pytest.fail("must not probe")  # noqa: E731
    with HealthCheckers(never) as checkers:
        checkers.sync({
            "up": https_check(Disabled=True),
            "down": https_check(Disabled=True, Inverted=True),
            "two": {"Type": "CALCULATED", "ChildHealthChecks": ["up", "down"], "HealthThreshold": 2},
            "one": {"Type": "CALCULATED", "ChildHealthChecks": ["up", "down"], "HealthThreshold": 1},
            "zero": {"Type": "CALCULATED", "ChildHealthChecks": ["down"], "HealthThreshold": 0},
            "loop": {"Type": "CALCULATED", "ChildHealthChecks": ["loop"], "HealthThreshold": 1},
        })
        assert [checkers.healthy(i) for i in ("two", "one", "zero", "loop")] == [False, True, True, True]


def test_calculated_check_follows_a_live_child(backend):
    with HealthCheckers(backend.target, interval_scale=0.005) as checkers:
        checkers.sync({"child": https_check(FailureThreshold=1),
                       "parent": {"Type": "CALCULATED", "ChildHealthChecks": ["child"], "HealthThreshold": 1}})
        backend.status = 500
        assert checkers.wait_for("parent", False, WAIT)
        backend.status = 200
        assert checkers.wait_for("parent", True, WAIT)


def test_sync_starts_new_restarts_changed_and_stops_removed(backend):
    with HealthCheckers(backend.target, interval_scale=0.005) as checkers:
        checkers.sync({"a": https_check(), "b": https_check()})
        a, b = checkers.get("a"), checkers.get("b")
        checkers.sync({"a": https_check(), "b": https_check(ResourcePath="/ready"), "c": https_check()})
        assert checkers.get("a") is a
        assert checkers.get("b") is not b and checkers.get("b").config["ResourcePath"] == "/ready"
        assert checkers.ids() == ["a", "b", "c"]
        assert not b._thread.is_alive()
        checkers.sync({"c": https_check()})
        assert checkers.ids() == ["c"]
        assert not a._thread.is_alive()
        assert checkers.healthy("a") and checkers.observations("a") == []
