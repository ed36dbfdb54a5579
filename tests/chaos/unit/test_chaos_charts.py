"""Each chaos scenario's chart: the timeline kept in its measures (1 s buckets by send time, a
request's error as the analysis judges it), drawn with the fault window and, for the outage, the
failover line; saved beside summary.json by a run and drawn again from a saved summary."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from chaos import charts, report, scenarios
from chaos.__main__ import main
from chaos.workload import Request, Workload
from globalctl import chart

SVG = "{http://www.w3.org/2000/svg}"
EU, US = "eu-west-1", "us-east-1"
META = {"date": "2026-01-01", "cores": 2, "clients": 2, "duration_s": 30.0, "rate_per_client": 10.0,
        "health_interval_scale": 0.2, "alarm_period_scale": 0.05}


def outage_log() -> list[Request]:
    """Two clients, ten requests a second each for 30 s; eu-west-1 down from 10 s to 20 s, its
    client's requests answered 502 until Route 53 moves it to us-east-1 at 14 s."""
    log = []
    for k in range(300):
        for client, location in ((0, "eu-west-2"), (1, "us-east-2")):
            sent = k / 10
            routed = US if client == 1 or 14 <= sent < 20 else EU
            status = 502 if routed == EU and 10 <= sent < 14 else 200
            log.append(Request(client, location, "GET", f"chaos-c{client}-0", sent, sent + 0.01, status, routed))
    return log


def outage_result(log=None) -> dict:
    workload = Workload("http://127.0.0.1:1", ("eu-west-2", "us-east-2"), clients=2, duration_s=30.0)
    workload.log = outage_log() if log is None else log
    replicas = {EU: {}, US: {}}
    measures, checks, lost = scenarios._common(workload, replicas, True, 0.5)
    measures.update({"fault_s": [10.0, 20.0], "failed_region": EU, "failover_s": 3.91, "failover_bound_s": 8.0})
    checks["failover <= 8.0 s"] = True
    return {"scenario": "outage", "measures": measures, "checks": checks, "lost": lost}


def of_class(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if e.get("class") == cls]


def tick_x(root: ET.Element, seconds: float) -> float:
    return {float(t.get("data-value")): float(t.get("x")) for t in root.iter(f"{SVG}text")
            if t.get("class") == "x-tick"}[seconds]


def test_the_measures_keep_a_timeline_of_each_region_by_send_time():
    log = outage_log() + [Request(0, "eu-west-2", "GET", "gone", 29.5, 29.6, 404, US),
                          Request(0, "eu-west-2", "PUT", "x", 29.5, 29.7, 0, "", error="ConnectionResetError"),
                          Request(0, "eu-west-2", "PUT", "slow", 9.9, 10.6, 200, EU)]
    timeline = chart.Timeline.from_dict(outage_result(log)["measures"]["timeline"])
    assert timeline.bucket_s == scenarios.CHART_BUCKET_S == 1.0
    assert list(timeline.regions) == [EU, US, chart.NO_ANSWER]
    eu_ok, eu_failed = timeline.regions[EU]
    assert eu_ok[:9] == [10] * 9 and eu_ok[9] == 11 and eu_ok[10:14] == [0] * 4 and eu_failed[10:14] == [10] * 4
    assert eu_ok[14:20] == [0] * 6 and eu_ok[20:] == [10] * 10
    us_ok, us_failed = timeline.regions[US]
    assert us_ok[14:20] == [20] * 6 and us_ok[29] == 11 and sum(us_failed) == 0  # a 404 read is no error
    assert sum(timeline.regions[chart.NO_ANSWER][1]) == 1


def test_the_outage_chart_shades_the_outage_and_draws_the_failover_where_it_was_measured():
    root = ET.fromstring(charts.render(outage_result(), META))
    assert root[0].text == "chaos: outage, all checks passed"
    (window,) = of_class(root, "rect", "fault-window")
    assert float(window.get("x")) == pytest.approx(tick_x(root, 10), abs=0.3)
    (failover,) = of_class(root, "line", "failover")
    per_second = (tick_x(root, 20) - tick_x(root, 10)) / 10
    assert float(failover.get("x1")) == pytest.approx(tick_x(root, 10) + 3.91 * per_second, abs=0.3)
    assert [t.text for t in of_class(root, "text", "failover-label")] == ["failover 3.91 s (bound 8 s)"]
    assert [t.text for t in of_class(root, "text", "window-label")] == ["eu-west-1 outage"]
    assert len(of_class(root, "rect", "errors")) == 4


def test_the_title_counts_failed_checks_and_each_scenario_names_its_window():
    result = outage_result()
    result["checks"]["no error after failover"] = False
    assert ET.fromstring(charts.render(result, META))[0].text == "chaos: outage, 1 check(s) failed"
    m = result["measures"]
    partition = {"scenario": "partition", "checks": {}, "measures": {**m, "partitioned_region": EU}}
    added = {"scenario": "region add", "checks": {}, "measures": {**m, "added_region": "us-west-2"}}
    bad = {"scenario": "bad release", "checks": {},
           "measures": {**m, "canary": EU, "detection_s": 5.5, "error_samples": [{"done": 21.25}]}}
    labels = {r["scenario"]: [t.text for t in ET.fromstring(charts.render(r, META)).iter(f"{SVG}text")
                              if t.get("class") in ("window-label", "marker-label")]
              for r in (partition, added, bad)}
    assert labels == {"partition": ["eu-west-1 replication cut"], "region add": ["us-west-2 added by a rollout"],
                      "bad release": ["bad release rolled out (canary eu-west-1)",
                                      "Api5xxRateAlarm in ALARM 5.5 s after the first error"]}
    root = ET.fromstring(charts.render(bad, META))
    (alarm,) = of_class(root, "line", "marker")  # the first error at 21.25 s, then 5.5 s to ALARM
    assert float(alarm.get("x1")) == pytest.approx(tick_x(root, 20) + 6.75 * (tick_x(root, 25) - tick_x(root, 20)) / 5,
                                                   abs=0.3)


def test_a_run_saves_a_chart_per_scenario_and_old_summaries_draw_none(tmp_path):
    outage = outage_result()
    bad = {**outage, "scenario": "bad release", "measures": {**outage["measures"], "canary": EU}}
    old = {**outage, "scenario": "partition", "measures": {k: v for k, v in outage["measures"].items()
                                                           if k != "timeline"}}
    written = charts.save([outage, bad, old], META, tmp_path / "results")
    assert written == [tmp_path / "results" / "outage.svg", tmp_path / "results" / "bad-release.svg"]
    assert all(ET.fromstring(path.read_text()) is not None for path in written)


def test_charts_from_a_saved_summary_need_no_cloud(tmp_path, capsys):
    summary = tmp_path / "summary.json"
    report.save_json([outage_result()], META, summary)
    assert main(["--charts-from", str(summary)]) == 0
    assert capsys.readouterr().out.strip() == f"chaos: chart {tmp_path / 'outage.svg'}"
    assert (tmp_path / "outage.svg").read_text() == charts.render(outage_result(), META)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({**META, "scenarios": [{"scenario": "outage", "measures": {}, "checks": {}}]}))
    assert main(["--charts-from", str(old)]) == 1
    assert "has no timeline" in capsys.readouterr().out


def test_the_summary_keeps_each_list_of_numbers_on_one_line_and_reads_back_the_same(tmp_path):
    summary = tmp_path / "summary.json"
    results = [outage_result(), {"scenario": "x", "measures": {"note": "[1,\n 2]", "words": ["a", "b"]}}]
    report.save_json(results, META, summary)
    text = summary.read_text()
    assert json.loads(text) == json.loads(json.dumps({**META, "scenarios": results}))
    assert '"ok": [10, 10, 10,' in text and '"fault_s": [10.0, 20.0]' in text
    assert len(text.splitlines()) < 200  # the timeline's 300 counts would be 300 lines
