"""Rollout wall time: `globalctl rollout` of the whole app on the local cloud, for the shipped 3
regions and for 6 (the shipped samconfig plus us-west-2, eu-central-1 and ap-northeast-1), one
region at a time (--max-concurrent 1) and every non-canary region in one wave (--max-concurrent
N-1). Median of 3 runs each (quick: 1); target: 6 regions in parallel take at most 0.5x the
sequential time.

How: each topology gets its own local cloud (free ports) and a first rollout that creates every
stack (not measured); each measured run is then a real release to stacks that exist, as a user's
next release would be: table, canary, waves, routing, each region drained, `sam deploy`ed, gated
(health, smoke write and read, replication canary, alarms) and restored. Sequential and parallel
runs alternate so machine noise falls on both. `--bake 0`: a bake is an idle wait that adds the
same seconds per wave on both sides, which would flatter the ratio. SAM_CLI_POLL_DELAY is 0.5 s,
as `globalctl local env` sets it (sam's default of 5 s would add 5 idle seconds to every deploy).

Why it is fair: both sides run the same stacks, the same release size and the same gates; only
--max-concurrent differs. The table, the canary and the routing are sequential in both by design,
so even infinitely fast parallelism leaves them in the parallel time. What it does not show: on AWS
a deploy is minutes of waiting on CloudFormation, which overlaps perfectly; here it is seconds of
CPU (sam's packaging and the local CloudFormation's SAM transform) on a 2-core machine shared with
other work, which does not. Each run therefore records where its time and CPU went: the table /
canary / wave / routing split read from the rollout's own progress lines (wall and CPU), each
region's phase times, and the CPU used by the machine, the local cloud (its supervisor process
apart) and globalctl+sam; from these, cpu_floor() estimates the best ratio the machine's cores
could reach with nothing else running.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from bench import localapp, stats

RUNS, QUICK_RUNS = 3, 1
TARGET_REGIONS, TARGET_RATIO = 6, 0.5
# Real region codes, each a copy of the canary's environment block with its own name and region.
ADDED_REGIONS = (("usw2", "us-west-2"), ("euc1", "eu-central-1"), ("apne1", "ap-northeast-1"))
PHASES = ("record", "drain", "deploy", "gate", "restore", "deployed")
# "  use1       deploy" / "  use1       deployed: 8.4 s": the executor's report lines
# (cli/globalctl/commands/rollout.py _report), printed and flushed as each step starts.
EVENT = re.compile(r"^  (\S+)\s+(record|drain|deploy|gate|restore|deployed|failed)\b")


def six_region_samconfig(text: str) -> str:
    """The shipped samconfig with ADDED_REGIONS appended after its last region environment.

    Each new block is a copy of the first region environment's block (the canary's): the same
    stack name, template, capabilities and parameters, in another region; the topology is only
    the environments (cli/globalctl/topology.py), so nothing else changes."""
    blocks = re.split(r"(?m)^(?=\[)", text)
    region_headers = [i for i, block in enumerate(blocks) if _is_region_block(block)]
    if not region_headers:
        raise ValueError("samconfig has no region environment to copy")
    model = blocks[region_headers[0]]
    model_env = re.match(r"\[(\w+)\.deploy\.parameters\]", model).group(1)  # type: ignore[union-attr]
    added = []
    for env, region in ADDED_REGIONS:
        block = model.replace(f"[{model_env}.deploy.parameters]", f"[{env}.deploy.parameters]", 1)
        block, count = re.subn(r'(?m)^region = "[^"]*"', f'region = "{region}"', block, count=1)
        if count != 1:
            raise ValueError(f"the {model_env} block has no region line to replace")
        added.append(block if block.endswith("\n\n") else block.rstrip("\n") + "\n\n")
    last = region_headers[-1]
    return "".join(blocks[: last + 1] + added + blocks[last + 1:])


def _is_region_block(block: str) -> bool:
    header = re.match(r"\[(\w+)\.deploy\.parameters\]", block)
    return bool(header) and "template_file" not in block


def timeline(lines: list[tuple[float, str]]) -> dict[str, dict[str, float]]:
    """env -> phase -> seconds since launch, from the rollout's progress lines (first sighting)."""
    seen: dict[str, dict[str, float]] = {}
    for at, line in lines:
        match = EVENT.match(line)
        if match:
            seen.setdefault(match.group(1), {}).setdefault(match.group(2), at)
    return seen


def breakdown(events: dict[str, dict[str, float]], wall: float, roles: dict[str, Any]) -> dict[str, Any]:
    """Where a run's wall time went: start-up, table, canary, the wave(s), routing, finish; and
    each non-canary region's phase durations."""
    def span(env: str) -> float:
        return events[env]["deployed"] - events[env]["record"]

    others = roles["others"]
    wave_start = min(events[env]["record"] for env in others)
    wave_end = max(events[env]["deployed"] for env in others)
    phases = {}
    for env in others:
        times = events[env]
        present = [p for p in PHASES if p in times]
        phases[env] = {p: round(times[n] - times[p], 3) for p, n in zip(present, present[1:])}
    return {"startup_s": round(events[roles["table"]]["record"], 3), "table_s": round(span(roles["table"]), 3),
            "canary_s": round(span(roles["canary"]), 3), "wave_s": round(wave_end - wave_start, 3),
            "routing_s": round(span(roles["routing"]), 3),
            "finish_s": round(wall - events[roles["routing"]]["deployed"], 3), "regions": phases}


def _roles(app: localapp.App) -> dict[str, Any]:
    from globalctl import topology

    top = topology.load(app.config)
    regions = [env.name for env in top.regions]
    return {"table": top.table.name, "routing": top.routing.name, "canary": regions[0], "others": regions[1:],
            "regions": {env.name: env.region for env in top.regions}}


def _one_run(app: localapp.App, release: str, concurrent: int, roles: dict[str, Any]) -> dict[str, Any]:
    """One measured rollout: its wall time, and both its wall time and its CPU time split by step.

    The CPU split samples, at each progress line, the CPU of the local cloud's process tree and of
    globalctl's (sam processes count once globalctl has reaped them, i.e. at the end of their step)."""
    supervisor = app.state["pid"]
    cloud_before = localapp.tree_cpu_seconds(supervisor)
    own_before = localapp.process_cpu_seconds(supervisor)
    cli: dict[str, int] = {}
    at_lines: list[tuple[float, str]] = []
    cpu_lines: list[tuple[float, str]] = []
    supervisor_lines: list[tuple[float, str]] = []

    def seen(at: float, line: str) -> None:
        at_lines.append((at, line))
        if EVENT.match(line) and "pid" in cli:
            used = localapp.tree_cpu_seconds(supervisor) - cloud_before + localapp.tree_cpu_seconds(cli["pid"])
            cpu_lines.append((used, line))
            supervisor_lines.append((localapp.process_cpu_seconds(supervisor) - own_before, line))

    meter = localapp.CpuMeter(supervisor)
    meter.start()
    app.rollout(release, "--max-concurrent", str(concurrent), on_line=seen,
                on_start=lambda pid: cli.setdefault("pid", pid))
    cpu = meter.stop()
    wall = cpu.pop("wall_s")
    used = cpu["cloud_cpu_s"] + cpu["children_cpu_s"]
    own = localapp.process_cpu_seconds(supervisor) - own_before
    return {"release": release, "max_concurrent": concurrent, "wall_s": round(wall, 3),
            "steps": breakdown(timeline(at_lines), wall, roles),
            "steps_cpu": breakdown(timeline(cpu_lines), used, roles),
            "steps_supervisor_cpu": breakdown(timeline(supervisor_lines), own, roles),
            "cpu": {**cpu, "supervisor_process_cpu_s": round(own, 2)}}


def cpu_floor(parallel: dict[str, Any], sequential: dict[str, Any], cores: int) -> dict[str, float]:
    """An estimate of the best ratio this machine's cores could give with nothing else running:
    the parallel run's sequential steps at their CPU time, plus its wave at the larger of its CPU
    spread over every core and the local cloud's supervisor CPU in it (one Python process: its
    CloudFormation, S3 and DynamoDB work shares one GIL, so it cannot go faster than one core),
    against the sequential run's CPU time (its steps run one after another, about one core busy
    at a time). Serialised drains and waits only add to it, so it is a floor."""
    steps = parallel["steps_cpu"]
    serial = sum(steps[key] for key in ("startup_s", "table_s", "canary_s", "routing_s", "finish_s"))
    supervisor_wave = (parallel.get("steps_supervisor_cpu") or {}).get("wave_s", 0.0)
    wave = max(steps["wave_s"] / cores, supervisor_wave)
    floor = serial + wave
    sequential_cpu = sequential["cpu"]["cloud_cpu_s"] + sequential["cpu"]["children_cpu_s"]
    return {"cores": cores, "serial_steps_cpu_s": round(serial, 2), "wave_cpu_s": round(steps["wave_s"], 2),
            "wave_supervisor_cpu_s": round(supervisor_wave, 2), "wave_floor_s": round(wave, 2),
            "parallel_floor_s": round(floor, 2), "sequential_cpu_s": round(sequential_cpu, 2),
            "ratio_floor": round(floor / sequential_cpu, 3),
            "ratio_floor_unlimited_cores": round((serial + supervisor_wave) / sequential_cpu, 3)}


def _topology(count: int, runs: int) -> dict[str, Any]:
    samconfig = None if count == 3 else six_region_samconfig((localapp.ROOT / "samconfig.toml").read_text())
    with localapp.local_cloud(f"rollout{count}", samconfig) as app:
        roles = _roles(app)
        if len(roles["regions"]) != count:
            raise RuntimeError(f"expected {count} regions, the samconfig has {len(roles['regions'])}")
        validated = None
        if samconfig is not None:  # the generated topology must pass what a user's would
            app.globalctl("validate")
            validated = "globalctl validate: ok"
        app.rollout("setup")
        modes = {"sequential": 1, "parallel": count - 1}
        samples: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
        for run in range(runs):
            order = list(modes) if run % 2 == 0 else list(reversed(modes))
            for mode in order:
                samples[mode].append(_one_run(app, f"r{count}-{run}-{mode}", modes[mode], roles))
    result: dict[str, Any] = {"regions": roles["regions"], "canary": roles["canary"], "validated": validated}
    for mode, runs_of_mode in samples.items():
        walls = [r["wall_s"] for r in runs_of_mode]
        middle = stats.median(walls)
        median_run = min(runs_of_mode, key=lambda r: abs(r["wall_s"] - middle))
        result[mode] = {"max_concurrent": modes[mode], "wall_s": walls, "median_s": round(middle, 3),
                        "median_run": median_run, "runs": runs_of_mode}
    result["ratio"] = round(result["parallel"]["median_s"] / result["sequential"]["median_s"], 3)
    result["cpu_floor"] = cpu_floor(result["parallel"]["median_run"], result["sequential"]["median_run"],
                                    os.cpu_count() or 1)
    return result


def measure(quick: bool = False) -> dict[str, Any]:
    runs = QUICK_RUNS if quick else RUNS
    topologies = {str(count): _topology(count, runs) for count in (3, TARGET_REGIONS)}
    ratio = topologies[str(TARGET_REGIONS)]["ratio"]
    return {"runs": runs, "quick": quick, "bake_s": 0, "sam_cli_poll_delay_s": 0.5, "topologies": topologies,
            "target": {"regions": TARGET_REGIONS, "max_ratio": TARGET_RATIO, "ratio": ratio,
                       "met": ratio <= TARGET_RATIO}}


def _deploy_median(run: dict[str, Any]) -> float:
    return stats.median(phases["deploy"] for phases in run["steps"]["regions"].values())


def markdown(result: dict[str, Any]) -> str:
    rows: list[list[object]] = []
    runs = result["runs"]
    for count, top in result["topologies"].items():
        seq, par = top["sequential"], top["parallel"]
        met = None
        if int(count) == result["target"]["regions"]:
            met = top["ratio"] <= result["target"]["max_ratio"]
        target = f"<= {result['target']['max_ratio']}x {stats.verdict(met)}" if met is not None else ""
        rows.append([f"{count} regions, sequential (--max-concurrent 1), median of {runs}",
                     f"{seq['median_s']:.1f} s", "", "", ""])
        rows.append([f"{count} regions, parallel (--max-concurrent {par['max_concurrent']}), median of {runs}",
                     f"{par['median_s']:.1f} s", f"{seq['median_s']:.1f} s sequential", f"{top['ratio']:.2f}x", target])
    six = result["topologies"][str(result["target"]["regions"])]
    seq_run, par_run = six["sequential"]["median_run"], six["parallel"]["median_run"]
    split = ("table_s", "canary_s", "wave_s", "routing_s")
    rows.append([f"{result['target']['regions']} regions, parallel: table / canary / other regions / routing",
                 " / ".join(f"{par_run['steps'][k]:.1f}" for k in split) + " s",
                 " / ".join(f"{seq_run['steps'][k]:.1f}" for k in split) + " s sequential",
                 f"{par_run['steps']['wave_s'] / seq_run['steps']['wave_s']:.2f}x (other regions)", ""])
    rows.append([f"{result['target']['regions']} regions, parallel: one region's deploy step, median",
                 f"{_deploy_median(par_run):.1f} s", f"{_deploy_median(seq_run):.1f} s sequential",
                 f"{_deploy_median(par_run) / _deploy_median(seq_run):.2f}x", ""])
    used = {name: run["cpu"]["cloud_cpu_s"] + run["cpu"]["children_cpu_s"] for name, run in
            (("par", par_run), ("seq", seq_run))}
    rows.append([f"{result['target']['regions']} regions, parallel: CPU used (globalctl + sam + local cloud)",
                 f"{used['par']:.1f} s", f"{used['seq']:.1f} s sequential", f"{used['par'] / used['seq']:.2f}x", ""])
    floor = six.get("cpu_floor")
    if floor:
        unlimited = (floor["serial_steps_cpu_s"] + floor["wave_supervisor_cpu_s"]) / floor["sequential_cpu_s"]
        rows.append([f"{result['target']['regions']} regions: best ratio the CPU allows (estimate, see below)",
                     f"{floor['ratio_floor']:.2f}x on {floor['cores']} idle cores, {unlimited:.2f}x on unlimited",
                     f"{floor['parallel_floor_s']:.1f} s floor / {floor['sequential_cpu_s']:.1f} s sequential CPU",
                     f"{floor['ratio_floor']:.2f}x", ""])
    supervisor = par_run.get("steps_supervisor_cpu")
    if supervisor:
        rows.append([f"{result['target']['regions']} regions, parallel: other regions' CPU, of it the local "
                     f"cloud's supervisor process (one GIL)", f"{par_run['steps_cpu']['wave_s']:.1f} s, "
                     f"{supervisor['wave_s']:.1f} s", f"{par_run['steps']['wave_s']:.1f} s wall", "", ""])
    rows.append([f"{result['target']['regions']} regions: machine busy / 1-min load average ({_cores()} cores)",
                 f"{par_run['cpu']['machine_busy_cores']:.2f} / {par_run['cpu'].get('load_average_1m', 0):.1f}",
                 f"{seq_run['cpu']['machine_busy_cores']:.2f} / {seq_run['cpu'].get('load_average_1m', 0):.1f} "
                 f"sequential", "", ""])
    note = ("Local cloud, `--bake 0`, SAM_CLI_POLL_DELAY=0.5 (as `globalctl local env` sets it); each run is a new "
            "release to existing stacks; the split rows are from the median runs. Table, canary and routing are "
            "sequential in both modes; the drains and restores of a wave's regions share routing-stack updates "
            "(group commit). A deploy here is CPU (sam's packaging, the local CloudFormation's SAM transform) where "
            "on AWS it is mostly waiting, so regions deployed at once share the cores. The CPU-bound floor (the "
            "parallel run's sequential steps at their CPU time plus its wave's CPU spread over every core, against "
            "the sequential run's CPU) estimates the best ratio these cores could show with nothing else running "
            "(with unlimited cores, the sequential steps plus the supervisor's share of the wave remain). On AWS, "
            "where a deploy is minutes of waiting, 6 regions are 8 stack deploys in a row sequentially and 4 in "
            "parallel (table, canary, one wave, routing): 0.5x is the limit when every deploy takes as long.")
    return stats.table("Rollout wall time (local cloud, globalctl rollout)", rows) + "\n\n" + note


def _cores() -> int:
    return os.cpu_count() or 1


if __name__ == "__main__":
    from bench import run

    sys.exit(run.standalone("rollout", sys.argv[1:]))
