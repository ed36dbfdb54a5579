"""The chaos run's pictures: each scenario's timeline (globalctl.chart) drawn from its result,
saved as <scenario>.svg beside summary.json. The shaded window is the fault (the outage, the cut,
or the rollout of the bad release or of the added region); the outage's failover line is the
fault's start + the failover time measured; the bad release's marker is its alarm.

Drawn from the saved summary alone, so `python -m chaos --charts-from chaos/results/summary.json`
draws them again without a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from globalctl import chart


def file_name(scenario: str) -> str:
    """The scenario's name as `--scenarios` spells it ("bad release": bad-release.svg)."""
    return scenario.replace(" ", "-") + ".svg"


def render(result: dict[str, Any], meta: dict[str, Any]) -> str | None:
    """The scenario's SVG; None for a result saved before timelines were."""
    m = result["measures"]
    if "timeline" not in m:
        return None
    timeline = chart.Timeline.from_dict(m["timeline"])
    failed = [check for check, ok in result["checks"].items() if not ok]
    title = f"chaos: {result['scenario']}, {f'{len(failed)} check(s) failed' if failed else 'all checks passed'}"
    desc = (f"{meta.get('clients', '?')} clients through the global entry, health checks at "
            f"{meta.get('health_interval_scale', '?')}x their deployed interval.")
    return chart.render_timeline(title, timeline.series(), bucket_s=timeline.bucket_s, end_s=timeline.end_s,
                                 desc=desc, **_moments(result["scenario"], m))


def _moments(scenario: str, m: dict[str, Any]) -> dict[str, Any]:
    start, end = m["fault_s"]
    if scenario.startswith("outage"):
        return {"window": (start, end), "window_label": f"{m['failed_region']} outage",
                "failover_at": start + m["failover_s"],
                "failover_label": f"failover {m['failover_s']:g} s (bound {m['failover_bound_s']:g} s)"}
    if scenario == "partition":
        return {"window": (start, end), "window_label": f"{m['partitioned_region']} replication cut"}
    if scenario == "bad release":
        moments: dict[str, Any] = {"window": (start, end),
                                   "window_label": f"bad release rolled out (canary {m['canary']})"}
        # The detection is measured from the first error a client saw: the earliest error sample.
        if m.get("detection_s") is not None and m.get("error_samples"):
            fired = m["error_samples"][0]["done"] + m["detection_s"]
            label = f"Api5xxRateAlarm in ALARM {m['detection_s']:g} s after the first error"
            moments["markers"] = [chart.Marker(fired, label)]
        return moments
    if scenario == "region add":
        return {"window": (start, end), "window_label": f"{m['added_region']} added by a rollout"}
    return {"window": (start, end)}


def save(results: list[dict[str, Any]], meta: dict[str, Any], folder: Path) -> list[Path]:
    """Each scenario's chart in `folder`; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for result in results:
        svg = render(result, meta)
        if svg is not None:
            path = folder / file_name(result["scenario"])
            path.write_text(svg)
            written.append(path)
    return written
