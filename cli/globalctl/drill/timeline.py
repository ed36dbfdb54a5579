"""The drill's picture: its report's request records as a timeline (globalctl.chart), saved beside
the report as <same stem>.svg. The window shaded is the disruption (T0 to the restore), the
failover line is T0 + the failover time, and a marker shows when the region served again.

`python -m globalctl.drill.timeline REPORT.json [OUT.svg]` draws it again from a saved report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from globalctl import chart


def render(report: dict[str, Any]) -> str:
    records = report["records"]
    timeline = chart.timeline((r["at"], r["routed_to"] or chart.NO_ANSWER, 200 <= r["status"] < 300)
                              for r in records)
    region, t0, restore_started = report["region"], report["t0_s"], report["restore_started_s"]
    taken_out = "drained" if report["mode"] == "drain" else "outage"
    restored = report["restore"]["restored_s"]
    markers = ([] if restored is None else
               [chart.Marker(restore_started + restored, f"{region} serves again {restored:.2f} s after the restore")])
    title = (f"drill {report['run_id']}: {report['env']} ({region}) {taken_out}, "
             f"{'passed' if report['ok'] else 'FAILED'}")
    return chart.render_timeline(
        title, timeline.series(), bucket_s=timeline.bucket_s, end_s=timeline.end_s,
        window=(t0, restore_started), window_label=f"{region} {taken_out}",
        failover_at=t0 + report["failover_s"], failover_label=f"failover {report['failover_s']:.2f} s",
        markers=markers,
        desc=f"A failover drill through the global entry: {report['clients']} client(s) at {report['rate']:g} "
             f"requests/s each; {region} {taken_out} at {t0:.1f} s.")


def save(report_path: Path, report: dict[str, Any]) -> Path:
    """<report stem>.svg beside the report."""
    path = report_path.with_suffix(".svg")
    partial = path.with_suffix(".svg.tmp")
    partial.write_text(render(report))
    partial.replace(path)
    return path


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print("usage: python -m globalctl.drill.timeline REPORT.json [OUT.svg]", file=sys.stderr)
        return 2
    source = Path(argv[0])
    report = json.loads(source.read_text())
    if len(argv) == 2:
        out = Path(argv[1])
        out.write_text(render(report))
    else:
        out = save(source, report)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
