"""The gates a region passes after its deploy, before it takes traffic again:

1. health: /health through the region's own API answers 200 with the new release;
2. smoke: a write and a read of a canary item through that region;
3. replication canary: that item is readable through another region within a bound; for a region
   added to a running deployment, also an item written before its replica existed (the backfill)
   and one written through another region after (replication both ways);
4. alarms: none of the region's alarms goes to ALARM during the bake, after its traffic is back
   (globalctl.bake: how long that must be).

The table stack has one gate of its own: the table ACTIVE with an ACTIVE replica in every region.
`status` reuses the smoke and replication gates to measure the replication lag.
"""

from __future__ import annotations

import time
from typing import Callable

from globalctl import aws
from globalctl.endpoints import Endpoints
from globalctl.regions import RegionApi

HEALTH_TIMEOUT_SECONDS = 60.0
REPLICATION_BOUND_SECONDS = 10.0
POLL_SECONDS = 0.5
ALARM_POLL_SECONDS = 2.0  # DescribeAlarms is cheap; an alarm seen 2 s late costs 2 s more of a bad release
REPLICATION_POLL_SECONDS = 0.02  # the lag is measured by this poll: keep it fine-grained


class GateFailed(Exception):
    def __init__(self, gate: str, reason: str):
        super().__init__(f"{gate} gate: {reason}")
        self.gate = gate
        self.reason = reason


def _until(check: Callable[[], str | None], timeout: float, poll: float = POLL_SECONDS) -> str | None:
    """Poll check() (None = passed, else why not) until it passes or time runs out; the last reason."""
    deadline = time.monotonic() + timeout
    reason = check()
    while reason is not None and time.monotonic() < deadline:
        time.sleep(poll)
        reason = check()
    return reason


def health(endpoints: Endpoints, api: RegionApi, release: str, timeout: float = HEALTH_TIMEOUT_SECONDS) -> float:
    started = time.monotonic()

    def check() -> str | None:
        response = endpoints.request("GET", api.endpoint, api.region, "/health")
        body = response.json() or {}
        if response.status != 200:
            return f"/health answered {response.status or 'nothing'}: {response.body[:200]!r}"
        if body.get("release") != release:
            return f"/health reports release {body.get('release')!r}, not {release!r}"
        return None

    reason = _until(check, timeout)
    if reason:
        raise GateFailed("health", reason)
    return (time.monotonic() - started) * 1000


def smoke(endpoints: Endpoints, api: RegionApi, release: str, item_id: str | None = None) -> str:
    """Write then read a canary item through the region; its id."""
    item_id = item_id or f"globalctl-canary-{api.env}"
    payload = {"data": {"release": release, "written_at": time.time()}}
    written = endpoints.request("PUT", api.endpoint, api.region, f"/items/{item_id}", payload)
    if written.status not in (200, 201):
        raise GateFailed("smoke", f"PUT /items/{item_id} answered {written.status}: {written.body[:200]!r}")
    read = endpoints.request("GET", api.endpoint, api.region, f"/items/{item_id}")
    if read.status != 200 or (read.json() or {}).get("data") != payload["data"]:
        raise GateFailed("smoke", f"GET /items/{item_id} did not return what was written ({read.status})")
    return item_id


def remove(endpoints: Endpoints, api: RegionApi, item_id: str) -> bool:
    """Delete a gate's item through the region; False when the API did not confirm it."""
    return endpoints.request("DELETE", api.endpoint, api.region, f"/items/{item_id}").status in (200, 204, 404)


def replication(endpoints: Endpoints, source: RegionApi, other: RegionApi, item_id: str, release: str,
                bound: float = REPLICATION_BOUND_SECONDS) -> float:
    """Milliseconds until the canary written in `source` is readable in `other`."""
    started = time.monotonic()
    wanted = f"/items/{item_id}"

    def check() -> str | None:
        response = endpoints.request("GET", other.endpoint, other.region, wanted)
        data = (response.json() or {}).get("data") if response.status == 200 else None
        if not data or data.get("release") != release:
            return f"not readable in {other.env} ({other.region}) yet"
        return None

    reason = _until(check, bound, REPLICATION_POLL_SECONDS)
    if reason:
        raise GateFailed("replication", f"{reason} after {bound:.0f} s")
    return (time.monotonic() - started) * 1000


def describe_alarms(region: str, names: list[str]) -> list[dict]:
    """The named alarms as DescribeAlarms returns them (100 names per call, its limit)."""
    cloudwatch = aws.client("cloudwatch", region)
    found: list[dict] = []
    for start in range(0, len(names), 100):
        found += cloudwatch.describe_alarms(AlarmNames=names[start:start + 100])["MetricAlarms"]
    return found


def alarms_quiet(api: RegionApi, bake_seconds: float) -> int:
    """No alarm of the region in ALARM from now through the bake time; how many were watched.
    The first one in ALARM fails the gate at once, with the alarm's name and CloudWatch's reason."""
    return alarms_quiet_all([api], bake_seconds)


def alarms_quiet_all(apis: list[RegionApi], bake_seconds: float) -> int:
    """alarms_quiet over several regions at once (a traffic shift touches every serving region)."""
    watched = [api for api in apis if api.alarms]
    if not watched:
        return 0
    deadline = time.monotonic() + bake_seconds
    while True:
        found = [alarm for api in watched for alarm in describe_alarms(api.region, api.alarms)]
        firing = [a for a in found if a.get("StateValue") == "ALARM"]
        if firing:
            raise GateFailed("alarms", "; ".join(f"{a['AlarmName']} in ALARM: {a.get('StateReason') or 'no reason'}"
                                                 for a in firing))
        if time.monotonic() >= deadline:
            return len(found)
        time.sleep(min(ALARM_POLL_SECONDS, max(0.1, deadline - time.monotonic())))


def table(region: str, table_name: str, replica_regions: set[str]) -> None:
    """The global table ACTIVE in its home `region`, with an ACTIVE replica in every other region."""
    description = aws.client("dynamodb", region).describe_table(TableName=table_name)["Table"]
    wanted = replica_regions - {region}
    present = {r["RegionName"] for r in description.get("Replicas", []) if r.get("ReplicaStatus") == "ACTIVE"}
    if description.get("TableStatus") != "ACTIVE" or not wanted <= present:
        raise GateFailed("table", f"table {table_name} is {description.get('TableStatus')} with replicas "
                                  f"{sorted(present)}, expected {sorted(wanted)}")
