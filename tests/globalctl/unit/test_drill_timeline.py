"""The drill's chart, drawn from a report built the way the executor builds one: the disruption
shaded, the failover line at T0 + the failover time, the outage's failed requests in their lane,
saved beside the report by `globalctl drill` and drawn again from a saved report."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from globalctl.drill import executor, measure, report, timeline
from globalctl.drill.measure import RequestRecord
from globalctl.drill.plan import DrillPlan, Options
from globalctl.main import app
from tests.support import ROOT

SVG = "{http://www.w3.org/2000/svg}"
EU, US, AP = "eu-west-1", "us-east-1", "ap-southeast-1"
T0, RESTORE = 2.0, 10.0


def outage_records() -> list[RequestRecord]:
    """Thirty requests a second for 11 s from three locations; eu-west-1 fails from T0 until Route 53
    moves its clients to us-east-1 at 5 s, and serves them again 0.5 s after the restore."""
    records = []
    for k in range(330):
        at = k / 30
        location = (EU, US, AP)[k % 3]
        routed = US if location == EU and T0 + 3.0 <= at < RESTORE + 0.5 else location
        status = 502 if location == EU and T0 <= at < T0 + 3.0 else 200
        records.append(RequestRecord(at, location, "GET", status, routed))
    return records


def outage_report(records=None) -> dict:
    records = outage_records() if records is None else records
    plan = DrillPlan(Options(env="euw1", duration=10.0, mode="outage", clients=3, rate=10.0), region=EU,
                     entry="http://127.0.0.1:1", host=None, local=True, weight=1, run_id="20250101T000000Z-abcd")
    m = measure.measure(records, EU, T0, RESTORE, EU)
    return report.build(plan, [EU, US, AP], T0, RESTORE, records, m, acknowledged=1, missing=[])


def tick_x(root: ET.Element, seconds: float) -> float:
    return {float(t.get("data-value")): float(t.get("x")) for t in root.iter(f"{SVG}text")
            if t.get("class") == "x-tick"}[seconds]


def of_class(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if e.get("class") == cls]


def test_the_drill_chart_shades_the_disruption_and_marks_the_failover_and_the_restore():
    drilled = outage_report()
    assert drilled["failover_s"] == pytest.approx(2.9)  # the last request sent to eu-west-1
    root = ET.fromstring(timeline.render(drilled))
    assert root[0].text == "drill 20250101T000000Z-abcd: euw1 (eu-west-1) outage, passed"
    per_second = (tick_x(root, 2) - tick_x(root, 0)) / 2
    (window,) = of_class(root, "rect", "fault-window")
    assert float(window.get("x")) == pytest.approx(tick_x(root, 0) + T0 * per_second, abs=0.3)
    assert float(window.get("width")) == pytest.approx((RESTORE - T0) * per_second, abs=0.3)
    (failover,) = of_class(root, "line", "failover")
    assert float(failover.get("x1")) == pytest.approx(tick_x(root, 0) + (T0 + drilled["failover_s"]) * per_second,
                                                      abs=0.3)
    assert [t.text for t in of_class(root, "text", "failover-label")] == [f"failover {drilled['failover_s']:.2f} s"]
    (serves_again,) = of_class(root, "line", "marker")
    restored = drilled["restore"]["restored_s"]
    assert float(serves_again.get("x1")) == pytest.approx(tick_x(root, 0) + (RESTORE + restored) * per_second, abs=0.3)
    assert sorted(p.get("data-region") for p in of_class(root, "path", "region")) == [AP, EU, US]
    # The 30 failed requests of the outage, in 0.5 s buckets from T0 to the failover.
    assert len(of_class(root, "rect", "errors")) == 6
    assert f"failed requests per bucket below: 30 ({EU} 30)" in root[1].text


def test_a_drill_whose_region_never_came_back_has_no_restore_marker():
    records = [r for r in outage_records() if not (r.at >= RESTORE and r.routed_to == EU)]
    drilled = outage_report(records)
    assert drilled["restore"]["restored_s"] is None
    root = ET.fromstring(timeline.render(drilled))
    assert not of_class(root, "line", "marker") and len(of_class(root, "line", "failover")) == 1


def test_the_chart_is_drawn_again_from_a_saved_report(tmp_path, capsys):
    saved = tmp_path / "euw1-20250101T000000Z.json"
    saved.write_text(json.dumps(outage_report()))
    assert timeline.main([str(saved)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "euw1-20250101T000000Z.svg")
    assert timeline.main([str(saved), str(tmp_path / "elsewhere.svg")]) == 0
    assert (tmp_path / "elsewhere.svg").read_text() == (tmp_path / "euw1-20250101T000000Z.svg").read_text()
    assert timeline.main([]) == 2


def test_globalctl_drill_saves_the_chart_beside_its_report_and_says_where(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    shutil.copy(ROOT / "samconfig.toml", tmp_path / "samconfig.toml")
    drilled = outage_report()
    monkeypatch.setattr(executor, "run", lambda context, options, say: drilled)
    result = CliRunner().invoke(app, ["--config", str(tmp_path / "samconfig.toml"), "drill", "euw1", "--json"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / ".globalctl" / "drills"
    assert f"report saved to {folder / 'euw1-20250101T000000Z.json'}" in result.stderr
    assert f"chart saved to {folder / 'euw1-20250101T000000Z.svg'}" in result.stderr
    assert json.loads(result.stdout) == drilled
    assert ET.fromstring((folder / "euw1-20250101T000000Z.svg").read_text())[0].text.startswith("drill 20250101")
