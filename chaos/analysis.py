"""What a chaos run proves, computed from the request log and the replicas alone (pure functions).

Vocabulary: a write is *acknowledged* when the API answered 2xx; its outcome is *unknown* when no
answer came (status 0) or a 5xx did (the request may or may not have been applied). Private items
have one writer issuing one request at a time, so every acknowledged write there has a precise
successor; shared items have concurrent writers in several regions, settled by last writer wins.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

from .workload import Request

EXPECTED = {"PUT": {200, 201}, "GET": {200, 404}, "DELETE": {204, 404}}


def is_error(request: Request) -> bool:
    """A failed request: no answer, a 5xx, or a status the API never gives this request."""
    return request.status not in EXPECTED[request.method]


def unknown_outcome(request: Request) -> bool:
    return request.status == 0 or request.status >= 500


def acknowledged(request: Request) -> bool:
    return request.status in (200, 201, 204)


def live(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """An item as a reader sees it: tombstones (a delete in progress) read as absent."""
    return None if item is None or item.get("deleted") else item


def checksum(items: dict[str, dict[str, Any]]) -> str:
    canonical = json.dumps(items, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Failover:
    region: str
    started: float  # the fault's start, on the run's clock
    ended: float    # the answer to the last request routed to the failed region while it was down
    requests_to_failed: int

    @property
    def seconds(self) -> float:
        return max(0.0, self.ended - self.started)


def failover(log: Iterable[Request], region: str, fault_start: float, fault_end: float) -> Failover:
    """Outage start to the last request Route 53 still sent to the failed region. Only answers
    before heal count: after heal the region is healthy again and rightly gets its traffic back."""
    routed = [r for r in log if r.routed_to == region and fault_start <= r.done <= fault_end]
    ended = max((r.done for r in routed), default=fault_start)
    return Failover(region, fault_start, ended, len(routed))


def error_rates(log: Iterable[Request], windows: dict[str, tuple[float, float]]) -> dict[str, dict[str, Any]]:
    """Requests, errors and the error rate per window [start, end), by the time the answer came."""
    out: dict[str, dict[str, Any]] = {}
    requests = list(log)
    for name, (start, end) in windows.items():
        inside = [r for r in requests if start <= r.done < end]
        errors = [r for r in inside if is_error(r)]
        out[name] = {"requests": len(inside), "errors": len(errors),
                     "error_rate": round(len(errors) / len(inside), 4) if inside else 0.0,
                     "statuses": dict(Counter(str(r.status) for r in errors))}
    return out


def stale_reads(log: Iterable[Request]) -> int:
    """Reads of a client's own private item that missed the client's last acknowledged write (read
    your writes does not hold across regions: a failover can route a client to a replica its write
    has not reached). Reported, not an error."""
    last: dict[str, Request] = {}
    stale = 0
    for request in sorted(log, key=lambda r: r.sent):
        if "-shared-" in request.item:
            continue
        if request.method == "PUT" and acknowledged(request):
            last[request.item] = request
        elif request.method == "DELETE" and request.status != 404:
            last.pop(request.item, None)
        elif request.method == "GET" and request.item in last:
            expected = last[request.item]
            if request.status == 404 or (request.status == 200 and (request.version or 0) < (expected.version or 0)):
                stale += 1
    return stale


def _superseded_by(final: dict[str, Any], write: Request) -> bool:
    """Does the final item hold this write, or one made after it?"""
    if (final.get("version") or 0) >= (write.version or 0):
        return True
    updated = str(final.get("updated_at") or "")
    return updated > str(write.updated_at or "") or (updated == write.updated_at and final.get("data") == write.data)


def lost_writes(log: Iterable[Request], replicas: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Acknowledged writes not readable in some region, with their version or a later write.

    Private items: every acknowledged PUT is in every replica, or superseded by a later write (a
    higher version, or a later update), or deleted by a DELETE sent after its answer; an
    acknowledged DELETE with no write after it leaves the item absent everywhere.
    Shared items: every replica holds an item whose data one of the PUTs wrote."""
    by_item: dict[str, list[Request]] = {}
    for request in sorted(log, key=lambda r: r.sent):
        by_item.setdefault(request.item, []).append(request)
    lost: list[dict[str, Any]] = []
    for item, history in by_item.items():
        check = _shared_losses if "-shared-" in item else _private_losses
        for region, replica in replicas.items():
            lost += [{"item": item, "region": region, **why} for why in check(history, live(replica.get(item)))]
    return lost


def _may_have_written(request: Request) -> bool:
    return acknowledged(request) or unknown_outcome(request)


def _shared_losses(history: list[Request], final: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not any(r.method == "PUT" and acknowledged(r) for r in history):
        return []
    written = [r.data for r in history if r.method == "PUT" and _may_have_written(r)]
    if final is None or final.get("data") not in written:
        return [{"final": final, "why": "holds no write's data"}]
    return []


def _private_losses(history: list[Request], final: dict[str, Any] | None) -> list[dict[str, Any]]:
    if final is not None and _resurrected(history):
        return [{"final": final, "why": "present after its last delete"}]
    losses = []
    for write in (r for r in history if r.method == "PUT" and acknowledged(r)):
        if any(r.method == "DELETE" and r.sent > write.done and _may_have_written(r) for r in history):
            continue
        if final is None:
            losses.append({"version": write.version, "why": "missing"})
        elif not _superseded_by(final, write):
            losses.append({"version": write.version, "final_version": final.get("version"),
                           "why": "older than an acknowledged write"})
    return losses


def _resurrected(history: list[Request]) -> bool:
    """Was the item's last request that may have written an acknowledged DELETE?"""
    writes = [r for r in history if r.method in ("PUT", "DELETE") and _may_have_written(r)]
    return bool(writes) and writes[-1].method == "DELETE" and acknowledged(writes[-1])


def conflicts(log: Iterable[Request], region: str, start: float, end: float) -> int:
    """Shared items acknowledged-written both inside and outside a partitioned region during the cut."""
    inside: set[str] = set()
    outside: set[str] = set()
    for r in log:
        if "-shared-" in r.item and r.method == "PUT" and acknowledged(r) and start <= r.sent <= end:
            (inside if r.routed_to == region else outside).add(r.item)
    return len(inside & outside)


def routed_share(log: Iterable[Request]) -> dict[str, int]:
    return dict(Counter(r.routed_to or "(none)" for r in log))
