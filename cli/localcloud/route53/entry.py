"""The global entry point: an HTTP reverse proxy that does what Route 53 DNS + the client would.

A real client resolves the global name (Route 53 picks a region for the client's resolver
location) and connects to the regional endpoint. Locally there is no DNS, so clients send their
requests here with `X-Client-Location: <aws region code>`, or a browser carries the location the
console picked in the `localcloud-client-location` cookie (the header wins; default: the home
region); the proxy asks `resolve(host, location)` for Route 53's answer, takes the first value (a
random one for a multivalue answer, as clients spread over those), maps it to a loopback upstream
with `upstream(value)` and forwards the request there with Host set to that value, so the
regional server can pick the API. The response comes back unchanged but for an added `x-routed-to:
<region>` header.

A cookie value that is not an AWS region code is ignored (the home region serves): a browser
cannot show or easily clear a stale cookie, and failing every page of a site on it would leave the
user nowhere to recover from; the explicit header is refused instead, as a caller chose it.

Errors, as JSON {"message": ...}: 400 for an X-Client-Location that is not an AWS region code;
503 when Route 53 has no answer; 502 when the answer maps to no local upstream; 502 "Bad Gateway"
when the upstream refuses or resets the connection (a real client would get a connection error;
a 502 lets load tests count it); 504 when the upstream does not answer within upstream_timeout.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, NamedTuple

from localcloud.loopback import NonLoopbackTarget, require_loopback
from localcloud.route53 import latency
from localcloud.route53.routing import Answer, Rng

log = logging.getLogger(__name__)

ROUTED_TO = "x-routed-to"
CLIENT_LOCATION = "X-Client-Location"
# Set by the console on the AWS endpoint's origin. Cookies are scoped by host, not by port (RFC 6265
# section 8.5), so the browser sends a cookie set on 127.0.0.1:<endpoint port> to
# 127.0.0.1:<global entry port> too: a site opened through the entry follows the console's pick.
LOCATION_COOKIE = "localcloud-client-location"
# RFC 9110 7.6.1: connection-specific, never forwarded by a proxy.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "transfer-encoding", "upgrade",
})
# Also rewritten or already handled here: Host is the answer value, the body is re-framed with a
# Content-Length, and 100-continue was answered when the body was read.
NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length", "expect"}
CHUNK = 64 * 1024


class Upstream(NamedTuple):
    """Where a Route 53 answer value is served locally: a loopback address, and its region."""

    host: str
    port: int
    region: str | None = None


ResolveFn = Callable[[str, str], "Answer | None"]
UpstreamFn = Callable[[str], "Upstream | tuple[str, int] | None"]


@dataclass
class _Route:
    value: str
    upstream: Upstream
    region: str | None


@dataclass
class _NoRoute:
    status: int
    message: str


class GlobalEntry:
    """Reverse proxy on host:port (port 0 picks a free one). Thread per request."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, resolve: ResolveFn,
                 upstream: UpstreamFn, default_location: str, upstream_timeout: float = 30.0,
                 rng: Rng = random):
        self.host = require_loopback(host)
        self._requested_port = port
        self.resolve = resolve
        self.upstream = upstream
        self.default_location = latency.check_region(default_location)
        self.upstream_timeout = upstream_timeout
        self.rng = rng
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("GlobalEntry is not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        if self._server is not None:
            return
        server_cls = _Server6 if ":" in self.host else _Server
        self._server = server_cls((self.host, self._requested_port), _Handler)
        self._server.entry = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"route53-entry-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> GlobalEntry:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def route(self, host: str, location: str) -> _Route | _NoRoute:
        """The upstream for a request from a client in `location`, or why there is none."""
        answer = self.resolve(host, location)
        if answer is None or not answer.values:
            return _NoRoute(503, f"Route 53 has no answer for {host or '(no Host header)'} from {location}")
        value = self.rng.choice(answer.values) if answer.multivalue else answer.values[0]
        raw = self.upstream(value)
        if raw is None:
            return _NoRoute(502, f"{value} is not served by any local region")
        up = Upstream(*raw)
        return _Route(value, up, up.region or answer.region_of(value))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default listen backlog is 5: twenty clients connecting at once overflowed it
    # and the kernel reset the excess connections, which no real Route 53 endpoint would do.
    request_queue_size = 128
    entry: GlobalEntry

    def __init__(self, *args, **kwargs):
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            (self._connections.add if alive else self._connections.discard)(conn)

    def close_connections(self) -> None:
        """Wake handler threads parked on idle keep-alive connections so they end now."""
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so load tests can reuse connections
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle + delayed ACKs
        # add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s - " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._proxy()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _proxy(self) -> None:
        entry = self.server.entry
        try:
            body = self._read_body()
        except ValueError as e:
            self._json(400, {"message": f"Bad request body: {e}"})
            return
        location = ((self.headers.get(CLIENT_LOCATION) or "").strip()
                    or cookie_location(self.headers.get_all("Cookie") or []) or entry.default_location)
        if not latency.is_region(location):
            self._json(400, {"message": f"{CLIENT_LOCATION} {location!r} is not an AWS region code; "
                                        f"use one of: {', '.join(latency.known_regions())}"})
            return
        host = _hostname(self.headers.get("Host", ""))
        try:
            route = entry.route(host, location)
        except Exception:  # the lead's callbacks: a bug there must not kill the connection
            log.exception("routing %s from %s failed", host, location)
            self._json(500, {"message": "Internal server error while routing the request"})
            return
        if isinstance(route, _NoRoute):
            self._json(route.status, {"message": route.message})
            return
        self._forward(route, body)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return _read_chunked(self.rfile)
        length = self.headers.get("Content-Length")
        if length is None:
            return None
        if not length.strip().isdigit():
            raise ValueError(f"invalid Content-Length {length!r}")
        return self.rfile.read(int(length))

    def _forward(self, route: _Route, body: bytes | None) -> None:
        extra = {ROUTED_TO: route.region} if route.region else {}
        try:
            ip = require_loopback(route.upstream.host)
        except NonLoopbackTarget as e:
            self._json(502, {"message": str(e)}, extra)
            return
        conn = http.client.HTTPConnection(ip, route.upstream.port, timeout=self.server.entry.upstream_timeout)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", route.value)
            for name, value in self.headers.items():
                if name.lower() not in NOT_FORWARDED:
                    conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
        except TimeoutError:
            conn.close()
            self._json(504, {"message": "Gateway Timeout"}, extra)
            return
        except (OSError, http.client.HTTPException):
            conn.close()
            self._json(502, {"message": "Bad Gateway"}, extra)
            return
        try:
            self._relay(response, extra)
        except (OSError, http.client.HTTPException):
            self.close_connection = True  # headers are out: all we can do is cut the stream
        finally:
            conn.close()

    def _relay(self, response: http.client.HTTPResponse, extra: dict[str, str]) -> None:
        self.log_request(response.status)
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        for name, value in extra.items():
            self.send_header(name, value)
        bodiless = self.command == "HEAD" or response.status in (204, 304) or response.status < 200
        chunked = not bodiless and response.getheader("Content-Length") is None
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if bodiless:
            return
        while block := response.read(CHUNK):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _json(self, status: int, payload: dict, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.log_request(status)
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def cookie_location(cookie_headers: list[str]) -> str | None:
    """The client location of the first LOCATION_COOKIE in the Cookie header(s), or None when there
    is none or its value is no AWS region code. Parsed by hand: http.cookies drops every cookie of a
    header after one it cannot parse, and browsers send whatever other sites on 127.0.0.1 set."""
    for header in cookie_headers:
        for pair in header.split(";"):
            name, sep, value = pair.partition("=")
            if sep and name.strip() == LOCATION_COOKIE:
                value = value.strip().strip('"')
                return value if latency.is_region(value) else None
    return None


def _hostname(host_header: str) -> str:
    """Host header without the port: api.example:8080 -> api.example, [::1]:80 -> ::1."""
    host = host_header.strip()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _read_chunked(rfile) -> bytes:
    data = bytearray()
    while True:
        line = rfile.readline(65537)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ValueError("malformed chunked body") from None
        if size == 0:
            while rfile.readline(65537).strip():  # trailers
                pass
            return bytes(data)
        data += rfile.read(size)
        rfile.readline(65537)  # CRLF after the chunk
