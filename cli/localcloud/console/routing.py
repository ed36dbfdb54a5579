"""Where Route 53 sends each client location, and what that means for each region.

The grid asks the same resolution the global entry asks (Dns.resolve), for every location of the
latency table at once. The name is the one the entry serves for a loopback Host: the only routed
name; with several, the first is shown (the entry itself then needs a Host header naming one).
"""

from __future__ import annotations

from typing import Any, Iterable

from localcloud.route53 import latency


def routed_name(dns: Any) -> tuple[str | None, list[str]]:
    """(the name shown, every routed name)."""
    names = list(dns.routed_names())
    return (names[0] if names else None), names


def client_grid(dns: Any, name: str | None, locations: Iterable[str], region_envs: dict[str, str]) -> list[dict]:
    """One row per client location: the region Route 53 answers with, its env, and how it got there.
    region_envs: AWS region -> region env of the regions served."""
    rows = []
    for location in locations:
        row: dict[str, Any] = {"location": location, "location_name": _location_name(location), "region": None,
                               "env": None, "values": [], "path": [], "via": None, "healthy": None, "error": None}
        if name is not None:
            try:
                resolved = dns.resolve(name, location)
            except Exception as error:  # noqa: BLE001 - one bad routing document must not hide the others
                row["error"] = f"resolution failed: {type(error).__name__}"
                resolved = None
            if resolved is not None:
                answer, _record_type, via = resolved
                region = answer.region_of(answer.values[0]) if answer.values else None
                row.update(region=region, env=region_envs.get(region or ""), values=list(answer.values),
                           path=[str(step) for step in answer.path], via=via, healthy=answer.healthy)
            elif row["error"] is None:
                row["error"] = "no answer"
        rows.append(row)
    return rows


def serving(grid: list[dict], region: str, routed: bool) -> dict[str, Any]:
    """Whether Route 53 currently answers with `region` for at least one client location."""
    if not routed:
        return {"state": "no routing", "locations": 0}
    count = sum(1 for row in grid if row["region"] == region)
    return {"state": "serving" if count else "not serving", "locations": count}


def route53_health(checkers: Any, check_ids: list[str]) -> dict[str, Any]:
    """The region's health checks as the local checkers see them, with each one's last result."""
    checks = []
    for hc_id in check_ids:
        checker = checkers.get(hc_id)
        if checker is None:
            continue
        observations = checker.observations()
        last = observations[0]["StatusReport"]["Status"] if observations else None
        checks.append({"id": hc_id, "healthy": bool(checker.status()), "last": last})
    if not checks:
        return {"state": "no health check", "healthy": None, "checks": []}
    healthy = all(c["healthy"] for c in checks)
    return {"state": "healthy" if healthy else "unhealthy", "healthy": healthy, "checks": checks}


def _location_name(code: str) -> str:
    try:
        return latency.region_info(code).name
    except (KeyError, ValueError):
        return code
