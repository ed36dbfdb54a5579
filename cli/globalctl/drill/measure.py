"""The drill's numbers and verdict from its request records: failover time, error shares in and
after the failover window, restored time. Pure: no clock, no network (see the package docstring
for the timeline)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

WINDOW_GRACE_SECONDS = 1.0
RESTORE_TIMEOUT_SECONDS = 120.0  # AWS: a health check back to healthy (up to 10 x 30 s) or a record TTL
VERIFY_BOUND_SECONDS = 15.0


@dataclass(frozen=True)
class RequestRecord:
    at: float  # when it was sent, seconds since the traffic started
    location: str  # X-Client-Location
    method: str
    status: int  # 0: no HTTP answer (refused, reset, timed out)
    routed_to: str | None  # AWS region that served (or was picked to serve) it
    item_id: str | None = None  # writes answered 2xx
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Share:
    requests: int
    failed: int

    @classmethod
    def of(cls, records: list[RequestRecord]) -> Share:
        return cls(len(records), sum(1 for r in records if not r.ok))

    @property
    def share(self) -> float:
        return self.failed / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "failed": self.failed, "share": round(self.share, 4)}


@dataclass(frozen=True)
class Measurement:
    baseline: Share
    baseline_to_region: int
    failover_seconds: float
    window_end: float
    during: Share
    after: Share
    restore: Share
    restored_seconds: float | None
    routed_after_t0: dict[str, int]


def failover_seconds(records: list[RequestRecord], region: str, t0: float, until: float = float("inf")) -> float:
    """The last request sent in [t0, until) still routed to region, minus t0; 0 when none was."""
    last = max((r.at for r in records if t0 <= r.at < until and r.routed_to == region), default=t0)
    return last - t0


def restored_seconds(records: list[RequestRecord], region: str, restore_started: float,
                     location: str | None) -> float | None:
    """From the restore until the first 2xx from `location` (None: any) routed to region again."""
    back = [r.at for r in records if r.at >= restore_started and r.ok and r.routed_to == region
            and (location is None or r.location == location)]
    return min(back) - restore_started if back else None


def measure(records: list[RequestRecord], region: str, t0: float, restore_started: float,
            location: str | None) -> Measurement:
    before = [r for r in records if r.at < t0]
    drilled = [r for r in records if t0 <= r.at < restore_started]
    failover = failover_seconds(drilled, region, t0)
    window_end = t0 + failover + WINDOW_GRACE_SECONDS
    return Measurement(
        baseline=Share.of(before),
        baseline_to_region=sum(1 for r in before if r.routed_to == region),
        failover_seconds=failover,
        window_end=window_end,
        during=Share.of([r for r in drilled if r.at <= window_end]),
        after=Share.of([r for r in drilled if r.at > window_end]),
        restore=Share.of([r for r in records if r.at >= restore_started]),
        restored_seconds=restored_seconds(records, region, restore_started, location),
        routed_after_t0=dict(Counter(r.routed_to or "none" for r in drilled)),
    )


def problems(env: str, m: Measurement, acknowledged: int, missing: int) -> list[str]:
    """Why the drill failed; empty when it passed."""
    found = []
    if m.baseline_to_region == 0:
        found.append(f"no request reached {env} before the disruption: there was nothing to fail over")
    if m.after.requests == 0:
        found.append(f"requests still reached {env} {m.failover_seconds:.1f} s after T0, too close to the "
                     f"end of the drill to call it failed over (a longer --duration?)")
    if m.after.failed:
        found.append(f"{m.after.failed} request(s) failed after the failover window")
    if m.restore.failed:
        found.append(f"{m.restore.failed} request(s) failed while {env} was restored")
    if m.restored_seconds is None:
        found.append(f"{env} took no traffic back within {RESTORE_TIMEOUT_SECONDS:.0f} s of the restore")
    if acknowledged == 0:
        found.append("no write succeeded: nothing to verify")
    if missing:
        found.append(f"{missing} of {acknowledged} write(s) not readable in every region "
                     f"within {VERIFY_BOUND_SECONDS:.0f} s")
    return found
