"""The drill's client load: threads sending, each from its client location at `rate` requests/s,
alternately PUT /items/drill-<run id>-<n> and GET /health through the global entry, each answer
kept as a RequestRecord (with the region that served it) and each acknowledged write kept to be
read back later."""

from __future__ import annotations

import threading
import time
from typing import Any

from globalctl.drill.measure import RequestRecord
from globalctl.endpoints import Response
from globalctl.endpoints import http as send

REQUEST_TIMEOUT_SECONDS = 5.0
ROUTED_TO = "x-routed-to"  # the local global entry's answer: the region Route 53 picked
SERVED_BY = "x-served-by-region"  # the API's own answer, on AWS as locally


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = REQUEST_TIMEOUT_SECONDS) -> Response:
    return send(method, url, body, headers, timeout)


class Traffic:
    """Client threads sending, each from its location at `rate` requests/s, alternately
    PUT /items/drill-<run id>-<n> and GET /health through the entry."""

    def __init__(self, entry: str, locations: list[str], clients: int, rate: float, run_id: str,
                 host: str | None = None):
        self.entry = entry.rstrip("/")
        self.locations = [locations[i % len(locations)] for i in range(clients)]
        self.interval = 1.0 / rate
        self.run_id = run_id
        self.host = host
        self.written: dict[str, dict[str, Any]] = {}  # item id -> data, for 2xx writes
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._next_item = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started = 0.0

    def start(self) -> None:
        self.started = time.monotonic()
        for index, location in enumerate(self.locations):
            thread = threading.Thread(target=self._client, args=(index, location), daemon=True,
                                      name=f"drill-client-{index}")
            self._threads.append(thread)
            thread.start()

    def now(self) -> float:
        return time.monotonic() - self.started

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT_SECONDS + 1)

    def _item(self, location: str) -> tuple[str, dict[str, Any]]:
        with self._lock:
            n = self._next_item
            self._next_item += 1
        return f"drill-{self.run_id}-{n}", {"drill": self.run_id, "n": n, "from": location}

    def _client(self, index: int, location: str) -> None:
        headers = {"X-Client-Location": location, **({"Host": self.host} if self.host else {})}
        # Clients start spread over one interval so their requests interleave.
        next_at = time.monotonic() + self.interval * index / max(1, len(self.locations))
        write = True
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += self.interval
            sent = self.now()
            if write:
                item_id, data = self._item(location)
                response = http("PUT", f"{self.entry}/items/{item_id}", {"data": data}, headers)
            else:
                item_id, data = None, None
                response = http("GET", f"{self.entry}/health", None, headers)
            record = RequestRecord(sent, location, "PUT" if write else "GET", response.status,
                                   response.headers.get(ROUTED_TO) or response.headers.get(SERVED_BY),
                                   item_id if 200 <= response.status < 300 else None, self.now() - sent)
            with self._lock:
                self._records.append(record)
                if record.item_id:
                    self.written[record.item_id] = data  # type: ignore[assignment]
            write = not write
            next_at = max(next_at, time.monotonic())  # a slow answer does not cause a burst after it
