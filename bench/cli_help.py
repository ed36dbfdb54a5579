"""make bench (cli_help): the wall time of `globalctl --help` next to `sam --help`, and their ratio.

Both are the console scripts installed in the same .venv (same interpreter, same site-packages),
run as a user runs them: a fresh process each time, output to a pipe, exit status 0 and the help
text checked. One untimed warm-up each (the .pyc files and the page cache), then 10 samples of
each, alternating so that noise on a shared machine hits both alike; wall time is
perf_counter() around subprocess.run, medians compared. The CPU time of each run (user + sys,
from getrusage(RUSAGE_CHILDREN)) is kept beside it, being less sensitive to other load.

It is a fair comparison because both tools do the same thing here: start Python, import their
CLI framework (Typer for globalctl, Click for the SAM CLI) and their command tree, print help.
Target: `globalctl --help` no slower than `sam --help`.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
from bench import stats

TARGET = 1.0
# (name, arguments after the script, a word its help must contain)
TOOLS = (("globalctl", "rollout"), ("sam", "deploy"))


def _script(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: run `make venv`")
    return str(path)


def run_once(name: str, must_contain: str) -> tuple[float, float]:
    """(wall ms, CPU ms) of one `<name> --help`."""
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "COLUMNS": "100"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([_script(name), "--help"], env=env, capture_output=True, text=True, timeout=120, check=False)
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or "Usage:" not in done.stdout or must_contain not in done.stdout:
        raise RuntimeError(f"{name} --help failed ({done.returncode}): {(done.stderr or done.stdout)[-500:]}")
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return wall, cpu


def measure(quick: bool = False) -> dict[str, Any]:
    runs = 3 if quick else 10
    samples: dict[str, dict[str, list[float]]] = {name: {"wall_ms": [], "cpu_ms": []} for name, _ in TOOLS}
    for round_ in range(runs + 1):  # round 0 is the warm-up, discarded
        for name, word in TOOLS:
            wall, cpu = run_once(name, word)
            if round_:
                samples[name]["wall_ms"].append(round(wall, 2))
                samples[name]["cpu_ms"].append(round(cpu, 2))
    result: dict[str, Any] = {"quick": quick, "runs": runs, "target": TARGET, "tools": {}}
    for name, _ in TOOLS:
        result["tools"][name] = {**samples[name], "wall_median_ms": round(stats.median(samples[name]["wall_ms"]), 1),
                                 "cpu_median_ms": round(stats.median(samples[name]["cpu_ms"]), 1)}
    ours, theirs = result["tools"]["globalctl"], result["tools"]["sam"]
    result["ratio"] = round(ours["wall_median_ms"] / theirs["wall_median_ms"], 2)
    result["cpu_ratio"] = round(ours["cpu_median_ms"] / theirs["cpu_median_ms"], 2)
    return result


def markdown(result: dict[str, Any]) -> str:
    ours, theirs = result["tools"]["globalctl"], result["tools"]["sam"]
    met = None if result.get("quick") else result["ratio"] <= result["target"]
    rows = [
        [f"`globalctl --help` wall time (median of {result['runs']})", f"{ours['wall_median_ms']:.0f} ms",
         f"`sam --help` {theirs['wall_median_ms']:.0f} ms", f"{result['ratio']:.2f}x",
         f"<= {result['target']}x {stats.verdict(met)}".rstrip()],
        ["`globalctl --help` CPU time (user + sys, median)", f"{ours['cpu_median_ms']:.0f} ms",
         f"`sam --help` {theirs['cpu_median_ms']:.0f} ms", f"{result['cpu_ratio']:.2f}x", "- (CPU, not a target)"],
    ]
    return stats.table("CLI start-up", rows)


if __name__ == "__main__":
    from bench import run

    sys.exit(run.standalone("cli_help", sys.argv[1:]))
