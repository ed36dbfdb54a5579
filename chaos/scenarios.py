"""The scenarios: the workload runs, a fault starts at `fault_at` and heals `fault_for` later (for
"bad release", the fault is a release rolled out with the operator's default command), the clients
finish, the replicas converge, then the analysis decides. Each returns its measures and its checks
(name -> passed) for the report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from globalctl import chart

from . import analysis
from .cloud import ChaosCloud, ChaosSetupFailed
from .workload import Workload

CLIENT_LOCATIONS = ("eu-west-2", "us-east-2", "ap-southeast-2")  # London, Ohio, Sydney
CONVERGENCE_TIMEOUT_S = 60.0
FAILOVER_SLACK_S = 2.0
CHART_BUCKET_S = 1.0  # a failover takes seconds here (health checks at 0.2x): one bucket each


@dataclass(frozen=True)
class Settings:
    duration_s: float = 60.0
    fault_at_s: float = 20.0
    fault_for_s: float = 20.0
    clients: int = 20
    rate_per_client: float = 3.0


def _run_workload(cloud: ChaosCloud, settings: Settings, prefix: str, env: str,
                  kind: str) -> tuple[Workload, float, float, float]:
    """The workload with one fault in the middle: (workload, fault start, fault end, clients done)."""
    workload = Workload(cloud.entry_url, CLIENT_LOCATIONS, settings.clients, settings.duration_s,
                        settings.rate_per_client, prefix)
    threads = workload.start()
    try:
        _sleep_until(workload, settings.fault_at_s)
        fault_start = workload.now()
        cloud.fault(env, kind)
        try:
            _sleep_until(workload, settings.fault_at_s + settings.fault_for_s)
        finally:
            fault_end = workload.now()
            cloud.heal(env)
        for thread in threads:
            thread.join(timeout=max(1.0, settings.duration_s - workload.now() + workload.timeout_s + 5))
    finally:
        workload.stop()
    return workload, fault_start, fault_end, workload.now()


def _beside_the_workload(workload: Workload, settings: Settings, change: Callable[[], dict[str, Any]],
                         then_s: float | None = None) -> tuple[float, dict[str, Any]]:
    """The workload, with `change` (a rollout as an operator runs it) started in a thread at
    `fault_at`: (when it started, its outcome with the seconds it took). With `then_s`, the
    clients stop that long after the change is done (the workload must outlast it)."""
    import threading

    outcome: dict[str, Any] = {}
    threads = workload.start()
    try:
        _sleep_until(workload, settings.fault_at_s)
        started = workload.now()
        worker = threading.Thread(target=lambda: outcome.update(change()))
        worker.start()
        worker.join(timeout=900)
        outcome["seconds"] = workload.now() - started
        if then_s is not None:
            _sleep_until(workload, workload.now() + then_s)
            workload.stop()
        for thread in threads:
            thread.join(timeout=max(1.0, settings.duration_s - workload.now() + workload.timeout_s + 5))
    finally:
        workload.stop()
    return started, outcome


def _sleep_until(workload: Workload, t: float) -> None:
    while workload.now() < t:
        time.sleep(min(0.05, t - workload.now()))


def converge(cloud: ChaosCloud, table: str, regions: list[str]) -> tuple[dict[str, dict[str, Any]], float, bool]:
    """Poll every replica until all hold the same items twice in a row: (replicas, seconds, done)."""
    started = time.monotonic()
    previous = None
    while True:
        replicas = {region: cloud.replica(region, table) for region in regions}
        sums = {analysis.checksum(items) for items in replicas.values()}
        same = len(sums) == 1
        if same and previous == sums:
            return replicas, time.monotonic() - started, True
        if time.monotonic() - started > CONVERGENCE_TIMEOUT_S:
            return replicas, time.monotonic() - started, False
        previous = sums if same else None
        time.sleep(0.25)


def _common(workload: Workload, replicas: dict[str, dict[str, Any]], converged: bool,
            convergence_s: float) -> tuple[dict[str, Any], dict[str, bool], list[dict[str, Any]]]:
    log = workload.log
    lost = analysis.lost_writes(log, replicas)
    writes = [r for r in log if r.method in ("PUT", "DELETE")]
    measures = {
        "requests": len(log),
        "acknowledged_writes": sum(1 for r in writes if analysis.acknowledged(r)),
        "lost_writes": len(lost),
        "replica_checksums": {region: analysis.checksum(items)[:12] for region, items in replicas.items()},
        "items_per_replica": {region: len(items) for region, items in replicas.items()},
        "convergence_s": round(convergence_s, 2),
        "stale_reads": analysis.stale_reads(log),
        "routed_to": analysis.routed_share(log),
        "error_samples": [{"done": round(r.done, 3), "method": r.method, "status": r.status, "routed_to": r.routed_to,
                           "error": r.error} for r in sorted(log, key=lambda r: r.done) if analysis.is_error(r)][:10],
        # By send time, as the drill's: by answer time, the answers still arriving after the clients
        # stop would read as a drop at the end. (A failed request routed to the failed region was
        # sent before its answer, so none shows after the failover measured by answer time.)
        "timeline": chart.timeline(((r.sent, r.routed_to or chart.NO_ANSWER, not analysis.is_error(r)) for r in log),
                                   CHART_BUCKET_S).to_dict(),
    }
    checks = {"no acknowledged write lost": not lost, "every replica identical": converged}
    return measures, checks, lost


@dataclass
class _Run:
    workload: Workload
    fault_start: float
    fault_end: float
    finished: float
    measures: dict[str, Any]
    checks: dict[str, bool]
    lost: list[dict[str, Any]]


def _run(cloud: ChaosCloud, table: str, env: str, settings: Settings, kind: str) -> _Run:
    """The workload with the fault, then convergence and the checks every scenario shares."""
    workload, fault_start, fault_end, finished = _run_workload(cloud, settings, kind, env, kind)
    replicas, convergence_s, converged = converge(cloud, table, [cloud.region_of(e.name) for e in cloud.topology.regions])
    measures, checks, lost = _common(workload, replicas, converged, convergence_s)
    measures.update({"fault_s": [round(fault_start, 2), round(fault_end, 2)], "workload_s": round(finished, 1)})
    return _Run(workload, fault_start, fault_end, finished, measures, checks, lost)


def outage(cloud: ChaosCloud, table: str, env: str, settings: Settings) -> dict[str, Any]:
    return _outage(cloud, table, env, settings)[0]


def _outage(cloud: ChaosCloud, table: str, env: str, settings: Settings) -> tuple[dict[str, Any], _Run]:
    region = cloud.region_of(env)
    run = _run(cloud, table, env, settings, "outage")
    log = run.workload.log
    moved = analysis.failover(log, region, run.fault_start, run.fault_end)
    bound = failover_bound(cloud)
    windows = {"before the outage": (0.0, run.fault_start), "failover window": (run.fault_start, moved.ended + 1e-6),
               "after failover": (moved.ended + 1e-6, float("inf"))}
    rates = analysis.error_rates(log, windows)
    served_before = sum(1 for r in log if r.routed_to == region and r.done < run.fault_start)
    run.measures.update({"failed_region": region, "failover_s": round(moved.seconds, 2),
                     "failover_bound_s": round(bound, 2),
                     "requests_to_failed_region_during_failover": moved.requests_to_failed,
                     "served_by_failed_region_before": served_before, "errors": rates})
    run.checks.update({
        f"{region} served its clients before the outage": served_before > 0,
        f"failover <= {bound:.1f} s": moved.seconds <= bound,
        "no error after failover": rates["after failover"]["errors"] == 0,
    })
    return {"scenario": "outage", "measures": run.measures, "checks": run.checks, "lost": run.lost[:20]}, run


# The outage again, under geolocation routing: London's region fails, and its clients must go to
# the policy's default region (Singapore), not to the nearest one (Virginia) latency routing picks;
# Ohio and Sydney keep their regions throughout.
GEOLOCATION = "RoutingPolicy=geolocation GeoLocations=euw1:eu,use1:na+sa,apse1:as+oc GeoDefault=apse1"
GEOLOCATION_HOMES = {"eu-west-2": ("eu-west-1", "ap-southeast-1"), "us-east-2": ("us-east-1", "us-east-1"),
                     "ap-southeast-2": ("ap-southeast-1", "ap-southeast-1")}  # location: (before, after failover)


def outage_geolocation(cloud: ChaosCloud, table: str, env: str, settings: Settings) -> dict[str, Any]:
    """The outage scenario with the routing switched to geolocation first, so the failover checks
    are not tied to latency routing; also checked: each location goes only where the policy says."""
    if cloud.region_of(env) != "eu-west-1":
        raise ChaosSetupFailed("outage-geolocation fails euw1 (London's region under its policy): run it with "
                               "--region euw1")
    cloud.route_by(GEOLOCATION)
    result, run = _outage(cloud, table, env, settings)
    after = analysis.failover(run.workload.log, "eu-west-1", run.fault_start, run.fault_end).ended
    for location, (before, then) in GEOLOCATION_HOMES.items():
        mine = [r for r in run.workload.log if r.location == location and r.routed_to]
        early = {r.routed_to for r in mine if r.done < run.fault_start}
        late = {r.routed_to for r in mine if after < r.done <= run.fault_end}
        result["measures"].setdefault("routed_by_location", {})[location] = {
            "before": sorted(early), "after failover": sorted(late)}
        result["checks"][f"{location} served by {before} before, {then} after failover, nowhere else"] = \
            early == {before} and late == {then}
    return {**result, "scenario": "outage under geolocation"}


def partition(cloud: ChaosCloud, table: str, env: str, settings: Settings) -> dict[str, Any]:
    region = cloud.region_of(env)
    run = _run(cloud, table, env, settings, "partition")
    measures, checks = run.measures, run.checks
    conflicted = analysis.conflicts(run.workload.log, region, run.fault_start, run.fault_end)
    errors = analysis.error_rates(run.workload.log, {"whole run": (0.0, float("inf"))})["whole run"]
    measures.update({"partitioned_region": region, "items_written_on_both_sides": conflicted,
                     "errors": {"whole run": errors}})
    checks.update({"both sides wrote the same items": conflicted > 0,
                   "no error (a partition cuts replication only)": errors["errors"] == 0})
    return {"scenario": "partition", "measures": measures, "checks": checks, "lost": run.lost[:20]}


def failover_bound(cloud: ChaosCloud) -> float:
    """Health-check interval x failure threshold + 2 s, with the local cloud's interval scale."""
    configs = cloud.health_checks()
    scale = float(cloud.state.get("health_interval_scale", 1.0))
    worst = max(c.get("RequestInterval", 30) * c.get("FailureThreshold", 3) for c in configs)
    return worst * scale + FAILOVER_SLACK_S


# The bad release: DELETE /items/<id> answers 500 (the smoke gate writes and reads, never deletes).
_DELETE = "def delete_item(id: IdParam, if_match: IfMatch = None):  # noqa: A002\n"
BAD_RELEASE_EDIT = (_DELETE, _DELETE + "    raise RuntimeError('the bad release: deleting is broken')\n")
DETECTION_SLACK_S = 2.0


def bad_release(cloud: ChaosCloud, table: str, env: str, settings: Settings) -> dict[str, Any]:
    """A release that breaks a route the smoke gate never calls, rolled out at `fault_at` under the
    workload with the default bake. It must stop in the canary: detected by the alarm within the
    bake's bound, seen by few clients and only in the canary, every region left on the release before."""
    region = cloud.region_of(env)
    workload = Workload(cloud.entry_url, CLIENT_LOCATIONS, settings.clients, settings.duration_s,
                        settings.rate_per_client, "badrelease")
    app = cloud.project / "src" / "api" / "app.py"
    source = app.read_text()
    if BAD_RELEASE_EDIT[0] not in source:
        raise RuntimeError("src/api/app.py changed: the bad release's edit no longer applies")
    clock: dict[str, float] = {}

    def release() -> dict[str, Any]:
        clock["wall_zero"] = time.time() - workload.now()  # the workload's clock has started by now
        app.write_text(source.replace(*BAD_RELEASE_EDIT, 1))
        return cloud.rollout_default("chaos-bad", canary=env)

    try:
        started, outcome = _beside_the_workload(workload, settings, release)
    finally:
        app.write_text(source)
    replicas, convergence_s, converged = converge(cloud, table, [cloud.region_of(e.name) for e in cloud.topology.regions])
    measures, checks, lost = _common(workload, replicas, converged, convergence_s)
    log = workload.log
    bad = [r for r in log if analysis.is_error(r)]
    first_error = min((r.done for r in bad), default=None)
    fired = cloud.alarm_fired_at(region, "Api5xxRateAlarm")
    detection = None if fired is None or first_error is None else fired - clock["wall_zero"] - first_error
    bound = cloud.alarm_bound(env, "Api5xxRateAlarm")
    releases = cloud.releases()
    measures.update({
        "canary": region, "rollout_exit": outcome.get("exit"), "rollout_s": round(outcome.get("seconds", 0.0), 1),
        "rollout_reason": outcome.get("reason", ""),
        "detection_s": None if detection is None else round(detection, 2), "detection_bound_s": bound,
        "client_errors": len(bad), "blast_radius": round(len(bad) / len(log), 4) if log else 0.0,
        "errors_by_region": dict(analysis.routed_share(bad)), "releases_after": releases,
        "errors": {"whole run": analysis.error_rates(log, {"whole run": (0.0, float("inf"))})["whole run"]},
        "fault_s": [round(started, 2), round(started + outcome.get("seconds", 0.0), 2)],
        "workload_s": round(workload.now(), 1)})
    checks.update({
        "the rollout failed (exit 1)": outcome.get("exit") == 1,
        "the reason names Api5xxRateAlarm": "Api5xxRateAlarm" in outcome.get("reason", ""),
        f"detected within the alarm's bound ({bound} s + {DETECTION_SLACK_S:.0f} s)":
            detection is not None and detection <= bound + DETECTION_SLACK_S,
        f"client errors only in the canary ({region})": bool(bad) and {r.routed_to for r in bad} == {region},
        "every region back on the release before": set(releases.values()) == {"chaos"},
    })
    return {"scenario": "bad release", "measures": measures, "checks": checks, "lost": lost[:20]}


ADDED_ENV, ADDED_REGION = "usw2", "us-west-2"
ADD_TAIL_S = 10.0


def region_add(cloud: ChaosCloud, table: str, env: str, settings: Settings) -> dict[str, Any]:
    """A fourth region added at `fault_at` under the workload, as a user adds one (an environment
    block, then `globalctl rollout`): every acknowledged write must be in every replica afterwards,
    the new one included (its copy of the table runs while the writes go on), and no client may
    see an error."""
    # The clients run until ADD_TAIL_S after the rollout is done (however long it takes), so that
    # the new region's own clients are seen served there.
    workload = Workload(cloud.entry_url, CLIENT_LOCATIONS + (ADDED_REGION,), settings.clients,
                        settings.fault_at_s + 900, settings.rate_per_client, "regionadd")
    started, outcome = _beside_the_workload(
        workload, settings, lambda: cloud.add_region(ADDED_ENV, ADDED_REGION, "chaos-add"), then_s=ADD_TAIL_S)
    regions = [cloud.region_of(e.name) for e in cloud.topology.regions]
    replicas, convergence_s, converged = converge(cloud, table, regions)
    measures, checks, lost = _common(workload, replicas, converged, convergence_s)
    log = workload.log
    done = started + outcome.get("seconds", 0.0)
    after = [r for r in log if r.sent > done and r.location == ADDED_REGION]
    errors = analysis.error_rates(log, {"whole run": (0.0, float("inf"))})["whole run"]
    measures.update({
        "added_region": ADDED_REGION, "rollout_exit": outcome.get("exit"), "rollout_s": round(outcome.get("seconds", 0.0), 1),
        "writes_during_the_add": sum(1 for r in log if r.method in ("PUT", "DELETE") and started <= r.sent <= done),
        "errors": {"whole run": errors}, "fault_s": [round(started, 2), round(done, 2)],
        "served_from_the_new_region_after": sum(1 for r in after if r.routed_to == ADDED_REGION),
        "workload_s": round(workload.now(), 1)})
    checks.update({
        "the rollout added the region (exit 0)": outcome.get("exit") == 0,
        f"{ADDED_REGION} holds a replica": ADDED_REGION in replicas,
        "no client error during the add": errors["errors"] == 0,
        f"clients in {ADDED_REGION} served there afterwards": bool(after) and all(
            r.routed_to == ADDED_REGION for r in after if not analysis.is_error(r)),
    })
    if outcome.get("exit") != 0:
        measures["rollout_output"] = outcome.get("output", "")[-1500:]
    return {"scenario": "region add", "measures": measures, "checks": checks, "lost": lost[:20]}
