"""`python -m chaos`: deploy the app on a fresh local cloud, run the scenarios, print the summary,
save it as JSON and each scenario's chart (SVG) beside it; exit 1 if any check failed (the cloud is
stopped either way). `--charts-from SUMMARY.json` only draws the charts again, beside that file."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from . import charts, report, scenarios
from .cloud import ROOT, ChaosCloud, ChaosSetupFailed

# region-add last: it leaves the cloud with a fourth region.
SCENARIOS = {"outage": scenarios.outage, "partition": scenarios.partition, "bad-release": scenarios.bad_release,
             "region-add": scenarios.region_add, "outage-geolocation": scenarios.outage_geolocation}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--scenarios", default="outage,partition,bad-release,region-add,outage-geolocation",
                        help="comma-separated: outage, partition, bad-release, region-add, outage-geolocation (the "
                             "outage under geolocation routing; it leaves the routing geolocation: run it last)")
    parser.add_argument("--region", default="euw1", help="the region env the fault hits (default: euw1)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of workload per scenario")
    parser.add_argument("--fault-at", type=float, default=20.0, help="seconds into the workload the fault starts")
    parser.add_argument("--fault-for", type=float, default=20.0, help="seconds the fault lasts")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rate", type=float, default=3.0, help="requests per second per client (bounded)")
    parser.add_argument("--health-interval-scale", type=float, default=0.2,
                        help="the local cloud's health-check interval scale (0.2: 10 s checks run every 2 s)")
    parser.add_argument("--alarm-period-scale", type=float, default=0.05,
                        help="the local cloud's alarm period scale (0.05: a 60 s period lasts 3 s)")
    parser.add_argument("--json", type=Path, default=ROOT / "chaos" / "results" / "summary.json")
    parser.add_argument("--readme", action="store_true", help="also rewrite the README's chaos block")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project (for debugging)")
    parser.add_argument("--charts-from", type=Path, metavar="SUMMARY_JSON",
                        help="no run: draw each scenario's chart again from a saved summary, beside it")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown or not names:
        parser.error(f"unknown scenario(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(SCENARIOS)}")
    if not 0 < args.fault_at < args.fault_at + args.fault_for < args.duration:
        parser.error("need 0 < --fault-at < --fault-at + --fault-for < --duration")
    if args.clients < 1 or args.rate <= 0 or not 0 < args.health_interval_scale <= 1:
        parser.error("--clients >= 1, --rate > 0 and 0 < --health-interval-scale <= 1")
    args.names = names
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.charts_from:
        return _charts_from(args.charts_from)
    try:
        return _run(args)
    except ChaosSetupFailed as e:
        print(f"error: {e}")
        return 2


def _run(args: argparse.Namespace) -> int:
    settings = scenarios.Settings(args.duration, args.fault_at, args.fault_for, args.clients, args.rate)
    print(f"chaos: starting a local cloud and rolling the app out ({', '.join(args.names)} next)", flush=True)
    cloud = ChaosCloud(args.health_interval_scale, keep=args.keep, alarm_period_scale=args.alarm_period_scale)
    try:
        if args.region not in cloud.state["regions"]:
            print(f"error: unknown region env {args.region!r}; known: {', '.join(cloud.state['regions'])}")
            return 2
        cloud.rollout("chaos")
        table = cloud.table_name()
        results = []
        for name in args.names:
            what = (f"us-west-2 added {args.fault_at:.0f} s into" if name == "region-add" else
                    f"{name} of {args.region} for {args.fault_for:.0f} s in")
            print(f"chaos: {what} a {args.duration:.0f} s workload", flush=True)
            results.append(SCENARIOS[name](cloud, table, args.region, settings))
    finally:
        cloud.close()
    meta = {"date": time.strftime("%Y-%m-%d"), "cores": os.cpu_count(), "clients": args.clients,
            "duration_s": args.duration, "rate_per_client": args.rate,
            "health_interval_scale": args.health_interval_scale, "alarm_period_scale": args.alarm_period_scale}
    report.print_summary(results)
    report.save_json(results, meta, args.json)
    for path in charts.save(results, meta, args.json.parent):
        print(f"chaos: chart {path}")
    if args.readme:
        report.write_readme(ROOT / "README.md", report.markdown(results, meta))
    failed = [f"{r['scenario']}: {check}" for r in results for check, ok in r["checks"].items() if not ok]
    for line in failed:
        print(f"FAILED {line}")
    print(f"chaos: {'all checks passed' if not failed else f'{len(failed)} check(s) failed'}; JSON in {args.json}")
    return 1 if failed else 0


def _charts_from(summary: Path) -> int:
    saved = json.loads(summary.read_text())
    written = charts.save(saved["scenarios"], saved, summary.parent)
    for path in written:
        print(f"chaos: chart {path}")
    if not written:
        print(f"error: {summary} has no timeline (saved before charts were): run `make chaos`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
