"""The drill's report: a JSON-ready dict of the plan, the measurement, the writes read back and the
verdict (`ok`, `problems`), saved as .globalctl/drills/<env>-<UTC stamp>.json beside samconfig."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from globalctl.drill.measure import VERIFY_BOUND_SECONDS, Measurement, RequestRecord, problems
from globalctl.drill.plan import DrillPlan
from globalctl.inputs import inside

STATE_DIR = Path(".globalctl") / "drills"


def build(plan: DrillPlan, locations: list[str], t0: float, restore_started: float, records: list[RequestRecord],
          m: Measurement, acknowledged: int, missing: list[str]) -> dict[str, Any]:
    """The report of a run; `locations` are the clients' (one per client), `missing` the write ids
    not read back everywhere."""
    options = plan.options
    found = problems(options.env, m, acknowledged, len(missing))
    return {
        "env": options.env, "region": plan.region, "mode": options.mode, "run_id": plan.run_id,
        "entry": plan.entry, "duration_s": options.duration, "clients": options.clients, "rate": options.rate,
        "locations": locations, "t0_s": round(t0, 3), "restore_started_s": round(restore_started, 3),
        "requests": len(records), "baseline": {**m.baseline.to_dict(), "to_region": m.baseline_to_region},
        "failover_s": round(m.failover_seconds, 3), "window_end_s": round(m.window_end, 3),
        "during_window": m.during.to_dict(), "after_window": m.after.to_dict(),
        "routed_after_t0": m.routed_after_t0,
        "restore": {**m.restore.to_dict(), "restored_s": None if m.restored_seconds is None
                    else round(m.restored_seconds, 3)},
        "writes": {"acknowledged": acknowledged, "verified": acknowledged - len(missing),
                   "missing": missing, "regions": [api.env for api in plan.apis],
                   "bound_s": VERIFY_BOUND_SECONDS},
        "ok": not found, "problems": found,
        "records": [asdict(r) for r in records],
    }


def save_report(config_path: Path, report: dict[str, Any]) -> Path:
    """.globalctl/drills/<env>-<UTC stamp>.json beside samconfig."""
    folder = config_path.resolve().parent / STATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    # The env is a samconfig name: checked as a plain file name before it is joined to a path.
    path = inside(folder, (f"{report['env']}-{report['run_id'].split('-')[0]}.json", "drill report"))
    if path.exists():  # two drills in one second
        path = inside(folder, (f"{report['env']}-{report['run_id']}.json", "drill report"))
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(report, indent=2))
    partial.replace(path)
    return path
