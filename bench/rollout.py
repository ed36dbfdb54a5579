"""make bench (rollout part): the wall time of `globalctl rollout` over the shipped three regions
on the local cloud, one region at a time (--max-concurrent 1) and all at once after the canary
(--max-concurrent 3), and their ratio. Written to bench/results/rollout.json and to the README's
benchmark table (between the bench:rollout markers). A benchmark, never a timed test."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ("template.yaml", "regional", "global", "src", "samconfig.toml")
MARK_START, MARK_END = "<!-- bench:rollout:start -->", "<!-- bench:rollout:end -->"
RUNS = 3


def globalctl(project: Path, env: dict[str, str], *args: str) -> None:
    command = [str(Path(sys.executable).with_name("globalctl")), "--config", str(project / "samconfig.toml"), *args]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False, timeout=900)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def main() -> int:
    sys.path.insert(0, str(ROOT / "cli"))
    from localcloud import lifecycle

    with tempfile.TemporaryDirectory(prefix="bench-rollout-") as folder:
        project = Path(folder)
        for name in FILES:
            source = ROOT / name
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, project / name)
        layout = lifecycle.Layout(0, {"euw1": "eu-west-1", "use1": "us-east-1", "apse1": "ap-southeast-1"})
        state = lifecycle.up(project / ".globalctl" / "local", project / "samconfig.toml", layout)
        env = {**os.environ, "AWS_ENDPOINT_URL": state["endpoint"], "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
               "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "SAM_CLI_TELEMETRY": "0"}
        common = ("--yes", "--bake", "0", "--skip-validate")
        try:
            globalctl(project, env, "rollout", "--release", "setup", *common)
            times: dict[int, list[float]] = {1: [], 3: []}
            for run in range(RUNS):
                for concurrent in (1, 3):
                    started = time.monotonic()
                    globalctl(project, env, "rollout", "--release", f"b{run}c{concurrent}", "--max-concurrent",
                              str(concurrent), *common)
                    times[concurrent].append(time.monotonic() - started)
        finally:
            lifecycle.down(project / ".globalctl" / "local")
    sequential, parallel = sorted(times[1])[RUNS // 2], sorted(times[3])[RUNS // 2]
    result = {"date": time.strftime("%Y-%m-%d"), "cores": os.cpu_count(), "python": platform.python_version(),
              "regions": 3, "runs": RUNS, "sequential_s": round(sequential, 1), "parallel_s": round(parallel, 1),
              "ratio": round(parallel / sequential, 2), "all_s": {str(k): [round(v, 1) for v in vs] for k, vs in times.items()}}
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "rollout.json").write_text(json.dumps(result, indent=2) + "\n")
    table = (f"{MARK_START}\n| rollout of 3 regions (local cloud, median of {RUNS}) | wall time |\n| --- | --- |\n"
             f"| --max-concurrent 1 | {result['sequential_s']} s |\n| --max-concurrent 3 | {result['parallel_s']} s |\n"
             f"| ratio (parallel / sequential) | {result['ratio']} |\n\n"
             f"Measured {result['date']} on {result['cores']} cores, Python {result['python']}; table, canary and "
             f"routing are sequential in both, so only the non-canary regions run in parallel.\n{MARK_END}")
    readme = ROOT / "README.md"
    text = readme.read_text()
    if MARK_START in text:
        head, rest = text.split(MARK_START, 1)
        text = head + table + rest.split(MARK_END, 1)[1]
        readme.write_text(text)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
