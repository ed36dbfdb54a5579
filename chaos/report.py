"""The chaos summary: a table on the terminal, JSON for scripts, and the README's block."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

MARK_START, MARK_END = "<!-- chaos:start -->", "<!-- chaos:end -->"
# Only across newlines, which a JSON string never holds raw: no string's text is touched.
_NUMBER_LIST = re.compile(r"\[\n\s*(-?[\d.eE+-]+(?:,\n\s*-?[\d.eE+-]+)*)\n\s*\]")


def rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    m = result["measures"]
    out = [("requests (acknowledged writes)", f"{m['requests']} ({m['acknowledged_writes']})"),
           ("lost acknowledged writes", str(m["lost_writes"])),
           ("replicas identical after heal", "yes" if result["checks"]["every replica identical"] else "NO"),
           ("convergence after the clients stopped", f"{m['convergence_s']} s"),
           ("stale reads of a client's own write", str(m["stale_reads"]))]
    if result["scenario"] == "bad release":
        out = [("canary (release rolled out at, run clock)", f"{m['canary']} {m['fault_s'][0]} s"),
               ("rollout exit, after", f"{m['rollout_exit']}, {m['rollout_s']} s"),
               ("detection: first client error to ALARM (bound)", f"{m['detection_s']} s ({m['detection_bound_s']} s)"),
               ("blast radius: client errors / requests", f"{m['client_errors']}/{m['requests']} ({m['blast_radius']:.2%})"),
               ("client errors by region", ", ".join(f"{k} {v}" for k, v in m["errors_by_region"].items()) or "-"),
               ("releases after", ", ".join(f"{k} {v}" for k, v in m["releases_after"].items())),
               *out[:2]]
        return out
    if result["scenario"] == "region add":
        whole = m["errors"]["whole run"]
        return [("region added (rollout started at, run clock)", f"{m['added_region']} {m['fault_s'][0]} s"),
                ("rollout exit, after", f"{m['rollout_exit']}, {m['rollout_s']} s"),
                ("writes during the add", str(m["writes_during_the_add"])),
                *out[:4],
                ("requests from its clients served there afterwards", str(m["served_from_the_new_region_after"])),
                ("errors", f"{whole['errors']}/{whole['requests']}")]
    if result["scenario"].startswith("outage"):
        out.insert(0, ("region in outage (fault window, run clock)", f"{m['failed_region']} {m['fault_s'][0]}-{m['fault_s'][1]} s"))
        out.append(("failover time (bound)", f"{m['failover_s']} s ({m['failover_bound_s']} s)"))
        for window, rate in m["errors"].items():
            out.append((f"errors {window}", f"{rate['errors']}/{rate['requests']} ({rate['error_rate']:.1%})"))
        for location, routed in m.get("routed_by_location", {}).items():
            out.append((f"{location} served by (before / after failover)",
                        f"{', '.join(routed['before'])} / {', '.join(routed['after failover'])}"))
    else:
        out.insert(0, ("region partitioned (fault window, run clock)", f"{m['partitioned_region']} {m['fault_s'][0]}-{m['fault_s'][1]} s"))
        out.append(("shared items written on both sides", str(m["items_written_on_both_sides"])))
        whole = m["errors"]["whole run"]
        out.append(("errors", f"{whole['errors']}/{whole['requests']}"))
    return out


def print_summary(results: list[dict[str, Any]], console: Console | None = None) -> None:
    console = console or Console()
    for result in results:
        table = Table(title=f"chaos: {result['scenario']}", show_header=True)
        table.add_column("measure")
        table.add_column("value", justify="right")
        for name, value in rows(result):
            table.add_row(name, value)
        console.print(table)
        for check, passed in result["checks"].items():
            console.print(f"  {'PASS' if passed else 'FAIL'}  {check}")
        for lost in result.get("lost", [])[:5]:
            console.print(f"  lost: {lost}")


def save_json(results: list[dict[str, Any]], meta: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({**meta, "scenarios": results}, indent=2, default=str)
    # A list of numbers (a timeline's counts) on one line: indented, it would be a line per number.
    text = _NUMBER_LIST.sub(lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    path.write_text(text + "\n")


def markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [f"Measured {meta['date']} on {meta['cores']} cores, {meta['clients']} clients over "
             f"{meta['duration_s']:.0f} s per scenario, health checks at {meta['health_interval_scale']}x the "
             f"deployed interval, alarm periods at {meta.get('alarm_period_scale', 1.0)}x; reproduce with "
             f"`make chaos` (JSON in `chaos/results/summary.json`).", ""]
    for result in results:
        lines += [f"| {result['scenario']} | |", "| --- | --- |"]
        lines += [f"| {name} | {value} |" for name, value in rows(result)]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_readme(readme: Path, block: str) -> None:
    text = readme.read_text()
    if MARK_START not in text or MARK_END not in text:
        raise SystemExit(f"{readme} has no {MARK_START} ... {MARK_END} block")
    head, rest = text.split(MARK_START, 1)
    readme.write_text(head + MARK_START + "\n" + block + MARK_END + rest.split(MARK_END, 1)[1])
