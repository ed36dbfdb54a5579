"""Synthetic traffic for a region's bake (`rollout --bake-traffic RPS`): a region with few clients
sends its alarms too few datapoints to fire, so a bad release would bake clean there.

Through the region's own API, at a bounded steady rate, for the bake and no longer, it cycles over
every route the API has: write a probe item, read it, list items, delete it. Probe items have ids
of their own (`globalctl-bake-<env>-<n>`), and every one written is deleted by the end, including
on an error or an alarm. Its requests count in the API's metrics like any client's: that is the
point. Its own errors are not judged here; the alarms judge them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from globalctl.endpoints import Endpoints
from globalctl.regions import RegionApi

MAX_RPS = 50.0  # a bake probes the region; it does not load-test it
CLEANUP_TIMEOUT_SECONDS = 5.0


@dataclass
class Tally:
    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    left_behind: list[str] = field(default_factory=list)

    def count(self, status: int) -> None:
        self.requests += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1


GONE = (200, 204, 404)


def _cycle(endpoints: Endpoints, api: RegionApi, item_id: str, tally: Tally) -> bool:
    """One pass over every route; True when the probe item is gone at its end."""
    path = f"/items/{item_id}"
    steps = (("PUT", path, {"data": {"probe": "globalctl bake"}}), ("GET", path, None),
             ("GET", "/items?limit=5", None), ("DELETE", path, None))
    status = 0
    for method, route, body in steps:
        status = endpoints.request(method, api.endpoint, api.region, route, body).status
        tally.count(status)
    return status in GONE


@contextmanager
def probing(endpoints: Endpoints, api: RegionApi, rps: float) -> Iterator[Tally]:
    """Steady probe traffic while the block runs (rps requests per second, capped at MAX_RPS);
    every probe item deleted at the end."""
    tally = Tally()
    if rps <= 0:
        yield tally
        return
    rps = min(rps, MAX_RPS)
    stop = threading.Event()
    undeleted: list[str] = []

    def run() -> None:
        interval = 4 / rps  # one cycle is four requests
        n = 0
        next_at = time.monotonic()
        while not stop.is_set():
            item_id = f"globalctl-bake-{api.env}-{n}"
            if not _cycle(endpoints, api, item_id, tally):
                undeleted.append(item_id)
            n += 1
            next_at += interval
            stop.wait(max(0.0, next_at - time.monotonic()))

    worker = threading.Thread(target=run, name=f"bake-traffic-{api.env}", daemon=True)
    worker.start()
    try:
        yield tally
    finally:
        stop.set()
        worker.join(timeout=30)
        for item_id in undeleted:  # a DELETE that failed in its cycle is tried once more
            status = endpoints.request("DELETE", api.endpoint, api.region, f"/items/{item_id}",
                                       timeout=CLEANUP_TIMEOUT_SECONDS).status
            if status not in GONE:
                tally.left_behind.append(item_id)
