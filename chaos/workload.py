"""The clients: 20 threads over three client locations, each a keep-alive connection to the
global entry, pacing a bounded number of mixed requests (writes, reads, deletes).

Each client owns a few private items (one writer, sequential requests: what "no acknowledged write
is lost" can be checked against exactly) and shares a handful of hot items with every other client
(concurrent writers in different regions: conflicts that last writer wins must settle).
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlparse

SHARED_ITEMS = 8
PRIVATE_ITEMS = 4
# The share of each kind of request; the rest are reads of the client's own items.
WRITE_SHARE, SHARED_WRITE_SHARE, DELETE_SHARE = 0.40, 0.15, 0.05


@dataclass
class Request:
    """One request as the client saw it; times are seconds on the run's monotonic clock."""

    client: int
    location: str
    method: str
    item: str
    sent: float
    done: float
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    routed_to: str = ""
    version: int | None = None
    updated_at: str | None = None
    data: Any = None
    error: str = ""

    def json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ClientSpec:
    index: int
    location: str
    rate_per_s: float
    max_requests: int
    seed: int


@dataclass
class Workload:
    entry_url: str
    locations: tuple[str, ...]
    clients: int = 20
    duration_s: float = 60.0
    rate_per_client: float = 3.0
    prefix: str = "chaos"
    timeout_s: float = 10.0
    log: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.t0 = 0.0

    def now(self) -> float:
        return time.monotonic() - self.t0

    def specs(self) -> list[ClientSpec]:
        bound = int(self.rate_per_client * self.duration_s) + 1  # the request count is bounded
        return [ClientSpec(i, self.locations[i % len(self.locations)], self.rate_per_client, bound, 7919 * (i + 1))
                for i in range(self.clients)]

    def start(self) -> list[threading.Thread]:
        self.t0 = time.monotonic()
        threads = [threading.Thread(target=self._client, args=(spec,), name=f"chaos-client-{spec.index}", daemon=True)
                   for spec in self.specs()]
        for thread in threads:
            thread.start()
        return threads

    def stop(self) -> None:
        self._stop.set()

    def shared_item(self, n: int) -> str:
        return f"{self.prefix}-shared-{n}"

    def private_item(self, client: int, n: int | str) -> str:
        return f"{self.prefix}-c{client}-{n}"

    def _client(self, spec: ClientSpec) -> None:
        rng = random.Random(spec.seed)
        connection = _Connection(self.entry_url, self.timeout_s)
        written: set[str] = set()
        try:
            for sequence in range(spec.max_requests):
                due = sequence / spec.rate_per_s
                while not self._stop.is_set() and self.now() < due:
                    self._stop.wait(min(0.05, due - self.now()))
                if self._stop.is_set() or self.now() >= self.duration_s:
                    return
                method, item, body = self._next(rng, spec, sequence, written)
                self._record(spec, connection, method, item, body)
                if method == "PUT" and item.startswith(self.private_item(spec.index, "")):
                    written.add(item)
                elif method == "DELETE":
                    written.discard(item)
        finally:
            connection.close()

    def _next(self, rng: random.Random, spec: ClientSpec, sequence: int,
              written: set[str]) -> tuple[str, str, dict[str, Any] | None]:
        roll = rng.random()
        body = {"data": {"client": spec.index, "seq": sequence, "location": spec.location}}
        if roll < SHARED_WRITE_SHARE:
            return "PUT", self.shared_item(rng.randrange(SHARED_ITEMS)), body
        if roll < SHARED_WRITE_SHARE + WRITE_SHARE or not written:
            return "PUT", self.private_item(spec.index, rng.randrange(PRIVATE_ITEMS)), body
        if roll < SHARED_WRITE_SHARE + WRITE_SHARE + DELETE_SHARE:
            return "DELETE", rng.choice(sorted(written)), None
        return "GET", rng.choice(sorted(written)), None

    def _record(self, spec: ClientSpec, connection: _Connection, method: str, item: str,
                body: dict[str, Any] | None) -> None:
        sent = self.now()
        status, headers, payload, error = connection.request(method, f"/items/{item}", body, spec.location)
        request = Request(spec.index, spec.location, method, item, sent, self.now(), status,
                          headers.get("x-routed-to", ""), error=error)
        if isinstance(payload, dict) and "version" in payload:
            request.version = payload["version"]
            request.updated_at = payload.get("updated_at")
            request.data = payload.get("data")
        elif method == "PUT":
            request.data = body["data"] if body else None
        with self._lock:
            self.log.append(request)


class _Connection:
    """A keep-alive HTTP/1.1 connection to the global entry, reopened after any failure."""

    def __init__(self, url: str, timeout: float) -> None:
        parsed = urlparse(url)
        self.host, self.port, self.timeout = parsed.hostname or "127.0.0.1", parsed.port or 80, timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: dict[str, Any] | None,
                location: str) -> tuple[int, dict[str, str], Any, str]:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"X-Client-Location": location, "Content-Type": "application/json"}
        try:
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._conn.request(method, path, body=payload, headers=headers)
            response = self._conn.getresponse()
            raw = response.read()
            answer = {k.lower(): v for k, v in response.getheaders()}
            if answer.get("connection", "").lower() == "close":
                self.close()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return 0, {}, None, f"{type(e).__name__}: {e}"
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return response.status, answer, parsed, ""

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
