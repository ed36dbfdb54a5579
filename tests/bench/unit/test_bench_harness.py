"""The benchmark harness on fake results only (benchmarks never run in `make test`): the shared
statistics, the README block writer, run.py's module selection and result files, and the pure
helpers of the rollout benchmark (the generated 6-region topology, the progress-line timeline)."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from bench import rollout, run, stats
from tests.support import ROOT



# --- stats --------------------------------------------------------------------------------------------

def test_nearest_rank_p50_and_p99_on_100_samples():
    samples = list(range(100, 0, -1))  # 1..100, unsorted on purpose
    assert stats.percentile(samples, 50) == 50
    assert stats.percentile(samples, 99) == 99  # rank ceil(0.99 * 100) = 99, not an interpolation
    assert stats.percentile(samples, 100) == 100


def test_nearest_rank_on_7_samples_is_an_observed_value():
    samples = [7.0, 1.0, 3.0, 5.0, 2.0, 6.0, 4.0]
    assert stats.percentile(samples, 50) == 4.0  # rank ceil(3.5) = 4
    assert stats.percentile(samples, 99) == 7.0  # rank ceil(6.93) = 7: the maximum
    assert stats.percentile(samples, 10) == 1.0  # rank ceil(0.7) = 1


def test_median_of_odd_and_even_counts():
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([4.0, 1.0, 3.0, 2.0]) == 2.5


def test_summary_of_known_samples():
    assert stats.summary([5.0, 1.0, 9.0]) == {"count": 3, "min": 1.0, "p50": 5.0, "median": 5.0, "p99": 9.0,
                                              "max": 9.0}


@pytest.mark.parametrize("p", [0, -1, 100.5])
def test_percentile_outside_range_is_refused(p):
    with pytest.raises(ValueError):
        stats.percentile([1.0, 2.0], p)


def test_empty_samples_are_refused():
    with pytest.raises(ValueError):
        stats.percentile([], 50)
    with pytest.raises(ValueError):
        stats.median([])


def test_table_has_the_contract_columns_and_verdicts():
    text = stats.table("Group", [["a", "1 s", None, "0.50x", f"<= 0.5x {stats.verdict(True)}"],
                                 ["b", 2, "", "", stats.verdict(False)]])
    lines = text.splitlines()
    assert lines[0] == "**Group**"
    assert lines[2] == "| measure | value | baseline | ratio | target |"
    assert lines[4] == "| a | 1 s | - | 0.50x | <= 0.5x met |"
    assert lines[5] == "| b | 2 | - | - | NOT met |"
    with pytest.raises(ValueError):
        stats.table("Group", [["too", "short"]])


# --- the README block ---------------------------------------------------------------------------------

README = "# Title\n\nintro\n\n## Benchmarks\n\nsentence above\n\n<!-- bench:start -->\nold table\n<!-- bench:end -->\n\n## After\n\ntext\n"


def test_replace_block_replaces_exactly_the_block_and_keeps_the_rest():
    new = run.replace_block(README, "<!-- bench:start -->\nnew\n<!-- bench:end -->")
    assert new == README.replace("old table", "new")
    before, after = README.split("<!-- bench:start -->")[0], README.split("<!-- bench:end -->")[1]
    assert new.startswith(before) and new.endswith(after)


@pytest.mark.parametrize("text", [
    "no markers at all\n",
    "<!-- bench:end -->\n<!-- bench:start -->\n",  # out of order
    "<!-- bench:start -->\n<!-- bench:end -->\n<!-- bench:start -->\n<!-- bench:end -->\n",  # two blocks
])
def test_replace_block_refuses_a_readme_without_one_ordered_pair(text):
    with pytest.raises(run.BenchError):
        run.replace_block(text, "x")


def test_heading_names_date_cores_cpu_and_python():
    line = run.heading({"date": "2026-11-23", "cores": 2, "cpu": "AMD EPYC", "python": "3.11.7"})
    assert line == "Measured 2026-11-23 on 2 cores (AMD EPYC), Python 3.11.7; reproduce with `make bench`."


# --- run.py: selection, results, README ---------------------------------------------------------------

def _fake(name: str, calls: list[str], fail: bool = False) -> SimpleNamespace:
    def measure(quick: bool = False) -> dict:
        calls.append(name)
        if fail:
            raise RuntimeError(f"{name} broke\nsecond line")
        return {"name": name, "quick": quick, "samples": [1, 2, 3]}

    def markdown(result: dict) -> str:
        return stats.table(f"fake {result['name']}", [[result["name"], len(result["samples"]), "", "", ""]])

    return SimpleNamespace(measure=measure, markdown=markdown)


@pytest.fixture
def bench_dir(tmp_path):
    folder = tmp_path / "bench"
    folder.mkdir()
    for name in ("handlers", "throughput", "rollout"):  # cli_help and replication_lag absent
        (folder / f"{name}.py").write_text("")
    readme = tmp_path / "README.md"
    readme.write_text(README)
    return SimpleNamespace(folder=folder, readme=readme, results=tmp_path / "results")


def _main(bench_dir, argv, calls, failing=()):
    modules = {name: _fake(name, calls, name in failing) for name in run.ORDER}
    return run.main(argv, loader=modules.__getitem__, folder=bench_dir.folder, readme=bench_dir.readme,
                    results=bench_dir.results)


def test_select_keeps_the_fixed_order_and_refuses_unknown_names():
    known = ["handlers", "throughput", "rollout"]
    assert run.select(None, known) == known
    assert run.select("rollout, handlers", known) == ["handlers", "rollout"]
    with pytest.raises(run.BenchError, match="nope"):
        run.select("handlers,nope", known)
    with pytest.raises(run.BenchError):
        run.select(" , ", known)


def test_only_runs_the_named_modules_and_writes_their_results(bench_dir, capsys):
    calls: list[str] = []
    assert _main(bench_dir, ["--only", "rollout,handlers"], calls) == 0
    assert calls == ["handlers", "rollout"]
    assert sorted(p.name for p in bench_dir.results.iterdir()) == ["handlers.json", "rollout.json"]
    stored = json.loads((bench_dir.results / "rollout.json").read_text())
    assert stored["samples"] == [1, 2, 3] and stored["quick"] is False and stored["measured"]["cores"]
    text = bench_dir.readme.read_text()
    block = text[text.index("<!-- bench:start -->"):text.index("<!-- bench:end -->")]
    assert re.search(r"Measured \d{4}-\d\d-\d\d on \d+ cores \(.+\), Python [\d.]+; reproduce with `make bench`\.",
                     block)
    assert block.index("**fake handlers**") < block.index("**fake rollout**")
    assert "fake throughput" not in block and "old table" not in text
    assert text.startswith("# Title\n\nintro\n\n## Benchmarks\n\nsentence above\n\n")
    assert text.endswith("<!-- bench:end -->\n\n## After\n\ntext\n")


def test_a_later_partial_run_keeps_the_other_stored_results_in_the_block(bench_dir):
    calls: list[str] = []
    _main(bench_dir, ["--only", "handlers"], calls)
    stored = json.loads((bench_dir.results / "handlers.json").read_text())
    stored["measured"]["date"] = "2000-01-01"  # as if measured long ago
    (bench_dir.results / "handlers.json").write_text(json.dumps(stored))
    assert _main(bench_dir, ["--only", "throughput"], calls) == 0
    assert calls == ["handlers", "throughput"]
    block = bench_dir.readme.read_text()
    assert "**fake handlers**" in block and "**fake throughput**" in block
    assert "_Measured 2000-01-01" in block  # the stored one says when it was measured


def test_render_rewrites_the_block_from_stored_results_without_measuring(bench_dir):
    calls: list[str] = []
    _main(bench_dir, ["--only", "rollout"], calls)
    bench_dir.readme.write_text(README)
    assert _main(bench_dir, ["--render"], calls) == 0
    assert calls == ["rollout"]  # nothing measured the second time
    assert "**fake rollout**" in bench_dir.readme.read_text()
    assert _main(bench_dir, ["--render", "--only", "rollout"], calls) == 2


def test_quick_prints_but_writes_nothing(bench_dir, capsys):
    calls: list[str] = []
    assert _main(bench_dir, ["--quick", "--only", "throughput"], calls) == 0
    assert "**fake throughput**" in capsys.readouterr().out
    assert not bench_dir.results.exists()
    assert bench_dir.readme.read_text() == README


def test_a_failing_module_is_one_line_and_the_others_still_run(bench_dir, capsys):
    calls: list[str] = []
    assert _main(bench_dir, [], calls, failing={"throughput"}) == 1
    assert calls == ["handlers", "throughput", "rollout"]
    err = capsys.readouterr().err
    assert "bench throughput: failed: throughput broke" in err and "second line" not in err
    assert "Traceback" not in err
    block = bench_dir.readme.read_text()
    assert "**fake handlers**" in block and "**fake rollout**" in block and "fake throughput" not in block


def test_unknown_only_name_exits_2_before_measuring(bench_dir, capsys):
    calls: list[str] = []
    assert _main(bench_dir, ["--only", "cli_help"], calls) == 2  # its file does not exist here
    assert calls == [] and "unknown benchmark cli_help" in capsys.readouterr().err


def test_a_readme_without_markers_is_refused_before_measuring(bench_dir, capsys):
    bench_dir.readme.write_text("# no block\n")
    calls: list[str] = []
    assert _main(bench_dir, [], calls) == 2
    assert calls == []


def test_the_real_readme_has_one_bench_block():
    run.replace_block((ROOT / "README.md").read_text(), "")


# --- the rollout benchmark's pure parts ---------------------------------------------------------------

def test_six_region_samconfig_adds_three_real_regions_globalctl_reads(tmp_path):
    from globalctl import topology

    config = tmp_path / "samconfig.toml"
    config.write_text(rollout.six_region_samconfig((ROOT / "samconfig.toml").read_text()))
    top = topology.load(config)
    assert [(e.name, e.region) for e in top.regions] == [
        ("euw1", "eu-west-1"), ("use1", "us-east-1"), ("apse1", "ap-southeast-1"),
        ("usw2", "us-west-2"), ("euc1", "eu-central-1"), ("apne1", "ap-northeast-1")]
    canary = top.env("euw1")
    for env in top.regions[3:]:
        assert (env.stack_name, env.template_file, env.parameters, env.capabilities) == (
            canary.stack_name, canary.template_file, canary.parameters, canary.capabilities)
    assert top.table.name == "table" and top.routing.name == "routing" and top.home_region == "eu-west-1"


PROGRESS = """rollout r: max 5 region(s) at once, failure tolerance 0, bake 0 s
  wave 1: table global-backend-table (eu-west-1)
  each region: record -> drain -> deploy -> gate -> restore
  table      record
  table      deploy
  table      gate
  table      deployed: 2.8 s
  euw1       record
  euw1       drain
  euw1       deploy
  euw1       gate
  euw1       restore
  euw1       deployed: 3.6 s
  use1       record
  apse1      record
  use1       drain
  apse1      drain
  apse1      drain: skipped: no other healthy region serves
  apse1      deploy
  use1       deploy
  use1       gate
  apse1      gate
  use1       restore
  apse1      restore
  use1       deployed: 8.4 s
  apse1      deployed: 8.6 s
  routing    record
  routing    deploy
  routing    gate
  routing    deployed: 2.7 s"""


def test_timeline_and_breakdown_from_progress_lines():
    lines = [(float(i), line) for i, line in enumerate(PROGRESS.splitlines())]
    events = rollout.timeline(lines)
    assert set(events) == {"table", "euw1", "use1", "apse1", "routing"}
    assert events["apse1"]["drain"] == 16.0  # the first sighting, not the "skipped" detail line
    roles = {"table": "table", "routing": "routing", "canary": "euw1", "others": ["use1", "apse1"]}
    steps = rollout.breakdown(events, 40.0, roles)
    assert steps["startup_s"] == 3.0 and steps["table_s"] == 3.0 and steps["canary_s"] == 5.0
    assert steps["wave_s"] == 25.0 - 13.0 and steps["routing_s"] == 3.0 and steps["finish_s"] == 40.0 - 29.0
    assert steps["regions"]["use1"] == {"record": 2.0, "drain": 4.0, "deploy": 1.0, "gate": 2.0, "restore": 2.0}


def test_cpu_floor_spreads_only_the_wave_over_the_cores():
    steps = {"startup_s": 1.0, "table_s": 2.0, "canary_s": 3.0, "wave_s": 20.0, "routing_s": 3.0, "finish_s": 1.0}
    parallel = {"steps_cpu": steps}
    sequential = {"cpu": {"cloud_cpu_s": 15.0, "children_cpu_s": 15.0}}
    floor = rollout.cpu_floor(parallel, sequential, cores=2)
    assert floor["serial_steps_cpu_s"] == 10.0 and floor["wave_cpu_s"] == 20.0
    assert floor["parallel_floor_s"] == 20.0  # 10 + 20 / 2
    assert floor["sequential_cpu_s"] == 30.0 and floor["ratio_floor"] == round(20 / 30, 3)
    # a wave whose single-process share exceeds its CPU spread over the cores is bound by that process
    parallel["steps_supervisor_cpu"] = {"wave_s": 14.0}
    assert rollout.cpu_floor(parallel, sequential, cores=2)["parallel_floor_s"] == 24.0
