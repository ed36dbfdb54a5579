"""One region's HTTP API endpoint on a loopback port: HTTP/1.1 with keep-alive, thread per connection.

The request pipeline lives in gateway.ApiGateway; this module only speaks HTTP. An `outage` fault
drops the connection without a byte of response (SO_LINGER 0, so the peer gets a reset), which is
what a client or health checker sees when a region's endpoint is unreachable.

Payload limit 10 MB -> 413: "Quotas for configuring and running an HTTP API",
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
"""

from __future__ import annotations

import logging
import random
import socket
import socketserver
import struct
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlsplit

from .contracts import ApiCatalog, FaultSource, Invoker, Publish
from .event import HttpRequest
from .gateway import ApiGateway
from .response import HttpResponse, bad_request, gateway_error, request_entity_too_large
from .throttle import Throttler

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
_MAX_REQUEST_LINE = 65536
_NO_BODY_STATUSES = frozenset({204, 304})
_LINGER_S = 2.0


class _BodyRejected(Exception):
    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status)
        self.response = response


class _ApiRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ApiHttpServer

    def setup(self) -> None:
        # Idle keep-alive connections close on their own instead of pinning a thread forever.
        self.timeout = self.server.idle_timeout_s
        super().setup()

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(_MAX_REQUEST_LINE + 1)
            if len(self.raw_requestline) > _MAX_REQUEST_LINE:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self._serve()
        except OSError:  # timeouts, resets, a connection cut by stop()
            self.close_connection = True

    def _serve(self) -> None:
        gateway = self.server.gateway
        fault = gateway.current_fault()
        if fault is not None and fault.kind == "outage":
            gateway.handle(self._request(b""), fault)  # counted as dropped
            self._drop()
            return
        try:
            body = self._read_body()
        except _BodyRejected as rejected:
            self.close_connection = True  # the unread body makes the connection unusable
            self._write(gateway.reject(self._request(b""), rejected.response))
            self._linger()
            return
        response = gateway.handle(self._request(body), fault)
        if response is None:
            self._drop()
            return
        self._write(response)

    def _request(self, body: bytes) -> HttpRequest:
        target = self.path
        if not target.startswith("/"):
            # absolute-form ("http://host/path?q", RFC 9112 3.2.2) as proxies send it
            parts = urlsplit(target)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return HttpRequest(
            method=self.command,
            target=target,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
            scheme="http",
            server_port=self.server.server_address[1],
        )

    def _read_body(self) -> bytes:
        transfer_encoding = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in transfer_encoding:
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            raise _BodyRejected(bad_request()) from None
        if length < 0:
            raise _BodyRejected(bad_request())
        if length > self.server.max_payload_bytes:
            raise _BodyRejected(request_entity_too_large())
        body = self.rfile.read(length)
        if len(body) < length:
            raise ConnectionError("client closed the connection mid-body")
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(_MAX_REQUEST_LINE)
            if not size_line:
                raise ConnectionError("client closed the connection mid-body")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BodyRejected(bad_request()) from None
            if size == 0:
                while self.rfile.readline(_MAX_REQUEST_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailers carry nothing API Gateway forwards
                return b"".join(chunks)
            total += size
            if total > self.server.max_payload_bytes:
                raise _BodyRejected(request_entity_too_large())
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise ConnectionError("client closed the connection mid-body")
            chunks.append(chunk)
            self.rfile.readline(_MAX_REQUEST_LINE)

    def _linger(self) -> None:
        """Half-close, then swallow what the client is still sending before the socket closes.

        Closing with unread input makes the kernel send a reset, which can destroy the error
        response before the client reads it (the lingering close of RFC 9112 section 9.6).
        """
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(_LINGER_S)
            deadline = time.monotonic() + _LINGER_S
            budget = self.server.max_payload_bytes + _MAX_REQUEST_LINE
            while budget > 0 and time.monotonic() < deadline:
                chunk = self.connection.recv(min(budget, 65536))
                if not chunk:
                    break
                budget -= len(chunk)
        except OSError:
            pass

    def _drop(self) -> None:
        self.close_connection = True
        try:
            # Linger 0: close() resets the connection instead of a polite FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass

    def _write(self, response: HttpResponse) -> None:
        status = response.status
        headers = response.headers
        body = response.body
        if status in _NO_BODY_STATUSES or status < 200:
            body = b""
            if status != 304:
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        lines = [f"HTTP/1.1 {status} {reason}".rstrip()]
        lines.extend(f"{name}: {value}" for name, value in headers)
        lines.append(f"Connection: {'close' if self.close_connection else 'keep-alive'}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
        self.wfile.write(head + body)
        self.wfile.flush()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Malformed requests get API Gateway's JSON error shape, never http.server's HTML page.
        self.close_connection = True
        status = int(code)
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Bad Request"
        request = HttpRequest(method=getattr(self, "command", "") or "GET", target="/")
        try:
            self._write(self.server.gateway.reject(request, gateway_error(status, phrase)))
        except OSError:
            pass

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.server.gateway.region, format % args)


class _ApiHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], gateway: ApiGateway, idle_timeout_s: float, max_payload_bytes: int
    ) -> None:
        self.gateway = gateway
        self.idle_timeout_s = idle_timeout_s
        self.max_payload_bytes = max_payload_bytes
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._handlers: set[threading.Thread] = set()
        super().__init__(address, _ApiRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would reverse-resolve the host (getfqdn); loopback needs no name.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request, client_address) -> None:  # type: ignore[override]
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:  # type: ignore[override]
        current = threading.current_thread()
        with self._lock:
            self._handlers.add(current)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._handlers.discard(current)
                self._connections.discard(request)

    def handle_error(self, request, client_address) -> None:  # type: ignore[override]
        log.debug("error serving %s", client_address, exc_info=True)

    def close_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def join_handlers(self, deadline: float) -> None:
        with self._lock:
            handlers = list(self._handlers)
        for handler in handlers:
            handler.join(max(0.0, deadline - time.monotonic()))


class RegionalApiServer:
    """Serves one region's HTTP API(s) on a loopback port until stop()."""

    def __init__(
        self,
        region: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        catalog: ApiCatalog,
        invoker: Invoker,
        faults: FaultSource | None = None,
        throttler: Throttler | None = None,
        rng: random.Random | None = None,
        wall_clock: Callable[[], float] = time.time,
        lambda_throttle_status: int = 500,
        idle_timeout_s: float = 60.0,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        publish: Publish | None = None,
    ) -> None:
        self.region = region
        self.host = host
        self._requested_port = port
        self._stopping = threading.Event()
        self.gateway = ApiGateway(
            region,
            catalog,
            invoker,
            faults,
            throttler=throttler,
            rng=rng,
            wall_clock=wall_clock,
            lambda_throttle_status=lambda_throttle_status,
            stopping=self._stopping,
            publish=publish,
        )
        self._idle_timeout_s = idle_timeout_s
        self._max_payload_bytes = max_payload_bytes
        self._httpd: _ApiHttpServer | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()

    def start(self) -> RegionalApiServer:
        """Bind and listen; returns once connections are accepted (queued until served)."""
        with self._lifecycle:
            if self._httpd is not None:
                raise RuntimeError(f"API server for {self.region} already started")
            self._stopping.clear()
            httpd = _ApiHttpServer(
                (self.host, self._requested_port), self.gateway, self._idle_timeout_s, self._max_payload_bytes
            )
            thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"apigw-{self.region}",
                daemon=True,
            )
            thread.start()
            self._httpd, self._thread = httpd, thread
            log.info("HTTP API for %s listening on %s", self.region, self.url)
            return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop accepting, close the listening socket and every open connection, join threads."""
        with self._lifecycle:
            httpd, thread = self._httpd, self._thread
            if httpd is None:
                return
            deadline = time.monotonic() + timeout_s
            self._stopping.set()
            httpd.shutdown()
            httpd.server_close()
            httpd.close_connections()
            if thread is not None:
                thread.join(max(0.0, deadline - time.monotonic()))
            httpd.join_handlers(deadline)
            self._httpd = self._thread = None

    close = stop

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"API server for {self.region} is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def requests_total(self) -> int:
        return self.gateway.requests_total

    def stats(self) -> dict:
        return self.gateway.stats()

    def __enter__(self) -> RegionalApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
