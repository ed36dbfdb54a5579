"""Runs a drill plan: the client load started, a baseline, the region taken out at T0, traffic
kept going to the end of the drill, the region restored and its traffic waited for, then every
acknowledged write read back through every region's own API. The region is always restored, also
when the run fails or is interrupted half-way."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from globalctl.drill import report as reports
from globalctl.drill.disruptions import Disruption, Drain, Outage, shielded
from globalctl.drill.measure import RESTORE_TIMEOUT_SECONDS, VERIFY_BOUND_SECONDS, measure, restored_seconds
from globalctl.drill.plan import MIN_OBSERVED_AFTER_SECONDS, DrillPlan, Options, plan_drill
from globalctl.drill.traffic import REQUEST_TIMEOUT_SECONDS, Traffic
from globalctl.endpoints import Endpoints
from globalctl.regions import RegionApi

VERIFY_WORKERS = 8
POLL_SECONDS = 0.1


def run(context: Any, options: Options, say: Callable[[str], None]) -> dict[str, Any]:
    """Plan and run the drill; the report (a JSON-ready dict with `ok` and `problems`)."""
    endpoints = Endpoints(context.config_path)
    plan = plan_drill(context, options, endpoints)
    disruption: Disruption = (Outage(context.config_path, options.env) if options.mode == "outage"
                              else Drain(context.topology, options.env, plan.weight))
    return execute(plan, disruption, endpoints, say)


def execute(plan: DrillPlan, disruption: Disruption, endpoints: Endpoints,
            say: Callable[[str], None]) -> dict[str, Any]:
    options = plan.options
    load = Traffic(plan.entry, plan.locations, options.clients, options.rate, plan.run_id, plan.host)
    say(f"drill {plan.run_id}: {options.mode} {options.env} ({plan.region}) for {options.duration:.0f} s, "
        f"{options.clients} client(s) at {options.rate:g} req/s through {plan.entry}")
    applied = restored = False
    t0 = restore_started = 0.0
    try:
        load.start()
        _wait_until(load, plan.baseline_seconds)
        t0 = load.now()
        say(f"  T0 {t0:.1f} s: {'draining' if options.mode == 'drain' else 'outage of'} {options.env}")
        applied = True  # before apply(): a half-done drain is undone too
        with shielded(say, f"finishing the change to {options.env}, then restoring it"):
            disruption.apply()
        _wait_until(load, max(options.duration, load.now() + MIN_OBSERVED_AFTER_SECONDS))
        restore_started = load.now()
        say(f"  {restore_started:.1f} s: restoring {options.env}")
        with shielded(say):
            disruption.restore()
        restored = True
        deadline = time.monotonic() + RESTORE_TIMEOUT_SECONDS
        while (restored_seconds(load.records(), plan.region, restore_started, plan.own_location) is None
               and time.monotonic() < deadline):
            time.sleep(POLL_SECONDS)
    finally:
        load.stop()
        if applied and not restored:
            say(f"  restoring {options.env}")
            with shielded(say):
                disruption.restore()
    records = load.records()
    m = measure(records, plan.region, t0, restore_started, plan.own_location)
    say(f"  verifying {len(load.written)} write(s) in {len(plan.apis)} region(s)")
    missing = verify_writes(endpoints, plan.apis, load.written)
    return reports.build(plan, load.locations, t0, restore_started, records, m, len(load.written), missing)


def verify_writes(endpoints: Endpoints, apis: list[RegionApi], written: dict[str, dict[str, Any]],
                  bound: float = VERIFY_BOUND_SECONDS) -> list[str]:
    """Item ids not readable, with the data written, through every region's own API within bound."""
    pending = {(item_id, index) for item_id in written for index in range(len(apis))}
    deadline = time.monotonic() + bound

    def readable(pair: tuple[str, int]) -> bool:
        item_id, index = pair
        api = apis[index]
        timeout = max(0.5, min(REQUEST_TIMEOUT_SECONDS, deadline - time.monotonic()))
        response = endpoints.request("GET", api.endpoint, api.region, f"/items/{item_id}", timeout=timeout)
        return response.status == 200 and (response.json() or {}).get("data") == written[item_id]

    with ThreadPoolExecutor(VERIFY_WORKERS, thread_name_prefix="drill-verify") as pool:
        while pending:
            order = sorted(pending)
            pending -= {pair for pair, ok in zip(order, pool.map(readable, order)) if ok}
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    return sorted({item_id for item_id, _ in pending})


def _wait_until(load: Traffic, at: float) -> None:
    """Let the traffic run until `at` seconds after it started (the pacing of the drill, not a
    condition: nothing is being waited for)."""
    while (left := at - load.now()) > 0:
        time.sleep(min(POLL_SECONDS, left))
