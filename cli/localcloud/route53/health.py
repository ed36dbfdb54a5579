"""Route 53 health checkers that probe the local regional API servers.

Behaviour, from the Route 53 Developer Guide and API Reference:
- HTTP/HTTPS: a TCP connection within 4 s, then a 2xx/3xx status within 2 s; *_STR_MATCH: the
  body within 2 more seconds, SearchString within its first 5,120 bytes; TCP: a connection within
  10 s ("How Amazon Route 53 determines whether a health check is healthy",
  https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html).
- Status changes after FailureThreshold consecutive failures (healthy -> unhealthy) or successes
  (back), probing every RequestInterval seconds (HealthCheckConfig.FailureThreshold,
  https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html).
- A new health check is healthy until there is enough data; an inverted one starts unhealthy
  (same Developer Guide page). Inverted flips the status; a Disabled check stops probing and is
  always healthy before inversion, so disabled + inverted forces it unhealthy (HealthCheckConfig
  .Disabled: "If you want to stop routing traffic to a resource, change the value of Inverted").
- Host header: FullyQualifiedDomainName (or IPAddress when there is none), with ":Port" unless
  the port is 80 for HTTP types or 443 for HTTPS types (HealthCheckConfig
  .FullyQualifiedDomainName).
- CALCULATED: healthy while at least HealthThreshold children are healthy; 0 is always healthy.

Local differences: there is one checker (no 18% vote across regions); `target` maps the endpoint
(FullyQualifiedDomainName or IPAddress, Port, scheme) to a loopback address and nothing but a
loopback IP literal is ever connected to; HTTPS types probe with plain HTTP because the local API
servers speak plain HTTP; CLOUDWATCH_METRIC and RECOVERY_CONTROL checks are not monitored
(status from InsufficientDataHealthStatus, healthy by default).
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Mapping

from localcloud.loopback import NonLoopbackTarget, require_loopback

TargetFn = Callable[[str, int, str], "tuple[str, int] | None"]

CONNECT_TIMEOUT_S = 4.0
RESPONSE_TIMEOUT_S = 2.0
TCP_CONNECT_TIMEOUT_S = 10.0
SEARCH_WINDOW_BYTES = 5120
DEFAULT_INTERVAL_S = 30
DEFAULT_FAILURE_THRESHOLD = 3
USER_AGENT = "Amazon-Route53-Health-Check-Service (ref {id}; localcloud)"
PROBED_TYPES = ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP")

_calculating = threading.local()  # ids of CALCULATED checks being evaluated on this thread


@dataclass(frozen=True)
class Observation:
    ok: bool
    status: str  # as GetHealthCheckStatus reports it, e.g. "Success: HTTP Status Code 200, OK"
    checked_time: datetime


class HealthChecker:
    """One health check: probes its endpoint on a daemon thread and keeps Route 53's status."""

    def __init__(
        self,
        health_check_id: str,
        config: Mapping,
        target: TargetFn,
        *,
        interval_scale: float = 1.0,
        child_status: Callable[[str], bool] | None = None,
        checker_region: str = "us-east-1",
        history: int = 16,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        response_timeout: float = RESPONSE_TIMEOUT_S,
        condition: threading.Condition | None = None,
        on_status: Callable[[str, bool], None] | None = None,
    ):
        self.id = health_check_id
        self._on_status = on_status
        self.config = dict(config)
        self.type = self.config.get("Type", "HTTP")
        self._target = target
        self.interval = float(self.config.get("RequestInterval") or DEFAULT_INTERVAL_S) * interval_scale
        self.threshold = int(self.config.get("FailureThreshold") or DEFAULT_FAILURE_THRESHOLD)
        self._child_status = child_status or (lambda _id: True)
        self._checker_region = checker_region
        self._connect_timeout, self._response_timeout = connect_timeout, response_timeout
        self._cond = condition or threading.Condition()
        self._observations: deque[Observation] = deque(maxlen=history)
        self._raw_healthy = True  # before inversion; new checks start healthy
        self._streak = 0  # consecutive results disagreeing with _raw_healthy
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._active: socket.socket | None = None

    # ------------------------------------------------------------ status

    @property
    def probes(self) -> bool:
        return self.type in PROBED_TYPES and not self.config.get("Disabled")

    def status(self) -> bool:
        """Route 53's current view of this health check: True is healthy."""
        if self.config.get("Disabled"):
            raw = True
        elif self.type == "CALCULATED":
            raw = self._calculated()
        elif self.type in PROBED_TYPES:
            raw = self._raw_healthy
        else:
            raw = self.config.get("InsufficientDataHealthStatus", "Healthy") != "Unhealthy"
        return raw != bool(self.config.get("Inverted"))

    def _calculated(self) -> bool:
        if not hasattr(_calculating, "ids"):
            _calculating.ids = set()
        visiting: set[str] = _calculating.ids
        if self.id in visiting:  # a cycle of calculated checks: do not recurse forever
            return True
        visiting.add(self.id)
        try:
            children = self.config.get("ChildHealthChecks") or []
            healthy = sum(1 for child in children if self._child_status(child))
            return healthy >= int(self.config.get("HealthThreshold") or 0)
        finally:
            visiting.discard(self.id)

    def observations(self) -> list[dict]:
        """Newest first, shaped like GetHealthCheckStatus HealthCheckObservations."""
        with self._cond:
            recent = list(self._observations)
        return [
            {"Region": self._checker_region, "IPAddress": "127.0.0.1",
             "StatusReport": {"Status": o.status, "CheckedTime": o.checked_time}}
            for o in reversed(recent)
        ]

    def last_failure_reason(self) -> list[dict]:
        """Like GetHealthCheckLastFailureReason: the failed observations, newest first."""
        return [o for o in self.observations() if o["StatusReport"]["Status"].startswith("Failure")]

    def wait_for(self, healthy: bool, timeout: float) -> bool:
        """Block until status() == healthy (True) or timeout seconds pass (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.status() == healthy, timeout)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if not self.probes or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"route53-health-{self.id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        active = self._active
        if active is not None:  # unblock a probe waiting on a slow endpoint
            try:
                active.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.check_now()
            self._stop.wait(self.interval)

    def check_now(self) -> Observation:
        """Probe once and count the result towards the status."""
        observation = self.probe()
        if self._stop.is_set() and not observation.ok:
            return observation  # a probe cut short by stop() says nothing about the endpoint
        with self._cond:
            self._observations.append(observation)
            if observation.ok == self._raw_healthy:
                self._streak = 0
            else:
                self._streak += 1
                if self._streak >= self.threshold:
                    self._raw_healthy, self._streak = observation.ok, 0
            self._cond.notify_all()
        if self._on_status is not None:  # HealthCheckStatus, once per check
            self._on_status(self.id, self.status())
        return observation

    # ------------------------------------------------------------ probing

    def probe(self) -> Observation:
        """One request to the endpoint, as one Route 53 health checker would make it."""
        ok, status = self._probe()
        return Observation(ok, status, datetime.now(timezone.utc))

    def _probe(self) -> tuple[bool, str]:
        https = self.type.startswith("HTTPS")
        scheme = "tcp" if self.type == "TCP" else "https" if https else "http"
        endpoint = self.config.get("IPAddress") or self.config.get("FullyQualifiedDomainName")
        port = int(self.config.get("Port") or (443 if https else 80))
        if not endpoint:
            return False, "Failure: The health check has neither an IPAddress nor a FullyQualifiedDomainName."
        address = self._target(endpoint, port, scheme)
        if address is None:
            return False, f"Failure: DNS resolution failed: {endpoint} does not map to a local endpoint."
        try:
            ip = require_loopback(address[0])
        except NonLoopbackTarget as e:
            return False, f"Failure: {e}."
        if self.type == "TCP":
            return self._probe_tcp(ip, address[1])
        return self._probe_http(ip, address[1], self._host_header(port, https))

    def _host_header(self, port: int, https: bool) -> str:
        host = self.config.get("FullyQualifiedDomainName") or self.config.get("IPAddress")
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # IPv6 literal
        return host if port == (443 if https else 80) else f"{host}:{port}"

    def _probe_tcp(self, ip: str, port: int) -> tuple[bool, str]:
        try:
            with socket.create_connection((ip, port), timeout=TCP_CONNECT_TIMEOUT_S):
                return True, "Success: TCP connection established."
        except OSError as e:
            return False, _connect_failure(e)

    def _probe_http(self, ip: str, port: int, host_header: str) -> tuple[bool, str]:
        conn = http.client.HTTPConnection(ip, port, timeout=self._connect_timeout)
        try:
            try:
                conn.connect()
            except OSError as e:
                return False, _connect_failure(e)
            self._active = conn.sock
            conn.sock.settimeout(self._response_timeout)
            path = self.config.get("ResourcePath") or "/"
            conn.putrequest("GET", path if path.startswith("/") else "/" + path,
                            skip_host=True, skip_accept_encoding=True)
            for name, value in (("Host", host_header), ("User-Agent", USER_AGENT.format(id=self.id)),
                                ("Accept", "*/*"), ("Connection", "close")):
                conn.putheader(name, value)
            conn.endheaders()
            try:
                response = conn.getresponse()
            except TimeoutError:
                return False, (f"Failure: The endpoint did not return an HTTP status code within "
                               f"{self._response_timeout:g} seconds after connecting.")
            code = f"HTTP Status Code {response.status}, {response.reason}"
            if not 200 <= response.status < 400:
                return False, f"Failure: {code}"
            if self.type.endswith("_STR_MATCH"):
                body = response.read(SEARCH_WINDOW_BYTES)
                if self.config.get("SearchString", "").encode() not in body:
                    return False, (f"Failure: The search string was not found in the first "
                                   f"{SEARCH_WINDOW_BYTES} bytes of the response body ({code}).")
            return True, f"Success: {code}"
        except TimeoutError:
            return False, "Failure: The endpoint did not send the response body within the timeout."
        except (OSError, http.client.HTTPException) as e:
            return False, f"Failure: {type(e).__name__}: {e}"
        finally:
            self._active = None
            conn.close()


def _connect_failure(e: OSError) -> str:
    if isinstance(e, TimeoutError):
        return ("Failure: Connection timed out. The endpoint or the internet connection is down, "
                "or firewall or proxy rules block the connection.")
    if isinstance(e, ConnectionRefusedError):
        return "Failure: Connection refused. Nothing is listening on the endpoint's port."
    return f"Failure: Could not connect: {e}"


class HealthCheckers:
    """Every health check of the local cloud, kept in step with the control plane by sync()."""

    def __init__(self, target: TargetFn, *, interval_scale: float = 1.0,
                 checker_region: str = "us-east-1", history: int = 16,
                 connect_timeout: float = CONNECT_TIMEOUT_S, response_timeout: float = RESPONSE_TIMEOUT_S,
                 on_status: Callable[[str, bool], None] | None = None):
        self._target = target
        self._options = dict(interval_scale=interval_scale, checker_region=checker_region, history=history,
                             connect_timeout=connect_timeout, response_timeout=response_timeout, on_status=on_status)
        self._cond = threading.Condition()
        self._sync_lock = threading.Lock()
        # Replaced, never mutated: readers (healthy(), routing on request threads) need no lock.
        self._checkers: dict[str, HealthChecker] = {}
        self._closed = False

    def sync(self, configs: Mapping[str, Mapping]) -> None:
        """Make the running checkers match {health_check_id: HealthCheckConfig}: start new ones,
        stop removed ones, restart changed ones."""
        with self._sync_lock:
            if self._closed:
                raise RuntimeError("HealthCheckers is closed")
            current = self._checkers
            wanted = {hc_id: dict(cfg) for hc_id, cfg in configs.items()}
            keep = {i: c for i, c in current.items() if i in wanted and c.config == wanted[i]}
            retired = [c for i, c in current.items() if i not in keep]
            fresh = {i: self._make(i, cfg) for i, cfg in wanted.items() if i not in keep}
            self._checkers = {**keep, **fresh}
            for checker in retired:
                checker.stop()
            for checker in fresh.values():
                checker.start()
        with self._cond:
            self._cond.notify_all()

    def _make(self, hc_id: str, config: dict) -> HealthChecker:
        return HealthChecker(hc_id, config, self._target, child_status=self.healthy,
                             condition=self._cond, **self._options)

    def get(self, health_check_id: str) -> HealthChecker | None:
        return self._checkers.get(health_check_id)

    def ids(self) -> list[str]:
        return sorted(self._checkers)

    def healthy(self, health_check_id: str) -> bool:
        """Current status; an unknown id is healthy, as a record without a health check is."""
        checker = self._checkers.get(health_check_id)
        return True if checker is None else checker.status()

    def observations(self, health_check_id: str) -> list[dict]:
        checker = self._checkers.get(health_check_id)
        return [] if checker is None else checker.observations()

    def wait_for(self, health_check_id: str, healthy: bool, timeout: float) -> bool:
        """Block until healthy(id) == healthy (True) or timeout seconds pass (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.healthy(health_check_id) == healthy, timeout)

    def close(self) -> None:
        with self._sync_lock:
            self._closed = True
            retired, self._checkers = list(self._checkers.values()), {}
        for checker in retired:
            checker.stop()
        with self._cond:
            self._cond.notify_all()

    def __enter__(self) -> HealthCheckers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
