"""The console's reading of globalctl's records: history.json and drill reports, where a missing or
malformed file is an empty list, never an error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from localcloud.console import records


def _history(folder: Path, content: object) -> None:
    (folder / "history.json").write_text(content if isinstance(content, str) else json.dumps(content))


def _drill(folder: Path, name: str, report: object, mtime: int) -> Path:
    path = folder / "drills" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(report if isinstance(report, str) else json.dumps(report))
    os.utime(path, (mtime, mtime))
    return path


def test_history_is_newest_first_with_each_region_outcome(tmp_path: Path):
    _history(tmp_path, [
        {"action": "rollout", "at": "2026-12-04T01:00:00Z", "release": "r1", "status": "complete",
         "regions": {"table": "deployed", "euw1": "deployed"}},
        {"action": "rollback", "at": "2026-12-04T02:00:00Z", "release": "r2", "status": "failed", "regions": {}},
    ])

    shown = records.history(tmp_path)

    assert [h["release"] for h in shown] == ["r2", "r1"]
    assert shown[1] == {"action": "rollout", "at": "2026-12-04T01:00:00Z", "release": "r1", "status": "complete",
                        "regions": [{"env": "table", "status": "deployed"}, {"env": "euw1", "status": "deployed"}]}


@pytest.mark.parametrize("content", [None, "", "{not json", '{"a": 1}', "42", '"text"'])
def test_a_missing_or_malformed_history_is_no_history(tmp_path: Path, content: str | None):
    if content is not None:
        _history(tmp_path, content)

    assert records.history(tmp_path) == []


def test_history_entries_of_the_wrong_shape_are_skipped_and_long_values_cut(tmp_path: Path):
    _history(tmp_path, ["text", 3, None, {"release": "x" * 5000, "regions": ["euw1"]}, {"regions": "odd"}])

    shown = records.history(tmp_path)

    assert len(shown) == 2
    assert shown[0] == {"action": None, "at": None, "release": None, "status": None, "regions": []}
    assert len(shown[1]["release"]) == 200 and shown[1]["regions"] == [{"env": "euw1", "status": None}]


def test_history_keeps_the_last_entries_only(tmp_path: Path):
    _history(tmp_path, [{"release": f"r{n}"} for n in range(30)])

    assert [h["release"] for h in records.history(tmp_path, limit=3)] == ["r29", "r28", "r27"]


REPORT = {"env": "euw1", "region": "eu-west-1", "mode": "drain", "run_id": "20261204T014932Z-14fd", "ok": True,
          "problems": [], "failover_s": 0.844, "requests": 296, "records": [{"t": 0.1}] * 50}


def test_drills_are_newest_first_with_their_verdict(tmp_path: Path):
    _drill(tmp_path, "euw1-1.json", REPORT, 1_800_000_000)
    _drill(tmp_path, "use1-2.json", {**REPORT, "env": "use1", "ok": False, "problems": ["p"] * 9,
                                     "failover_s": None}, 1_800_000_100)
    (tmp_path / "drills" / "euw1-1.svg").write_text("<svg/>")

    shown = records.DrillReports(tmp_path).latest()

    assert [d["env"] for d in shown] == ["use1", "euw1"]
    assert shown[1] == {"env": "euw1", "region": "eu-west-1", "mode": "drain", "run_id": "20261204T014932Z-14fd",
                        "at": "2027-01-15T08:00:00Z", "ok": True, "problems": [], "failover_s": 0.844,
                        "requests": 296}
    assert shown[0]["ok"] is False and len(shown[0]["problems"]) == records.MAX_PROBLEMS
    assert shown[0]["failover_s"] is None


def test_malformed_drill_reports_are_skipped(tmp_path: Path):
    _drill(tmp_path, "a.json", "{broken", 1_800_000_000)
    _drill(tmp_path, "b.json", [1, 2], 1_800_000_001)
    _drill(tmp_path, "c.json", {"env": "euw1"}, 1_800_000_002)  # no verdict
    _drill(tmp_path, "d.json", '{"ok": true, "failover_s": NaN, "problems": "x"}', 1_800_000_003)

    shown = records.DrillReports(tmp_path).latest()

    assert len(shown) == 1 and shown[0]["ok"] is True
    assert shown[0]["failover_s"] is None and shown[0]["problems"] == []
    json.dumps(shown, allow_nan=False)  # what the browser parses


def test_no_drills_folder_is_no_drills(tmp_path: Path):
    assert records.DrillReports(tmp_path / "absent").latest() == []


def test_a_drill_report_is_parsed_again_only_when_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = _drill(tmp_path, "euw1-1.json", REPORT, 1_800_000_000)
    reader = records.DrillReports(tmp_path)
    loads: list[Path] = []
    real = records._load
    monkeypatch.setattr(records, "_load", lambda p: loads.append(p) or real(p))

    reader.latest()
    reader.latest()
    _drill(tmp_path, "euw1-1.json", {**REPORT, "ok": False}, 1_800_000_050)
    changed = reader.latest()
    path.unlink()

    assert loads == [path, path]
    assert changed[0]["ok"] is False
    assert reader.latest() == []


def test_drills_keep_the_last_reports_only(tmp_path: Path):
    for n in range(5):
        _drill(tmp_path, f"euw1-{n}.json", {**REPORT, "run_id": f"run{n}"}, 1_800_000_000 + n)

    assert [d["run_id"] for d in records.DrillReports(tmp_path).latest(limit=2)] == ["run4", "run3"]
