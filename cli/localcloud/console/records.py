"""The last rollouts and drills, from the files globalctl writes beside samconfig.toml:
<records dir>/history.json (a list of {action, at, release, status, regions}) and
<records dir>/drills/<env>-<stamp>.json (one drill report each).

Read as plain JSON, never through globalctl: a missing, unreadable or malformed file is no
history, and an entry of the wrong shape is skipped, never an error. Only the fields the console
shows are kept, as short strings. Drill reports carry every request of the drill, so each file is
parsed once per change (by mtime and size), not on every poll.
"""

from __future__ import annotations

import json
import math
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HISTORY_LIMIT = 20
DRILL_LIMIT = 10
MAX_PROBLEMS = 5


def _text(value: Any, limit: int = 200) -> str | None:
    return None if value is None else str(value)[:limit]


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def history(records_dir: Path, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The last rollouts and rollbacks, newest first."""
    entries = _load(records_dir / "history.json")
    if not isinstance(entries, list):
        return []
    shown = []
    for entry in reversed(entries):
        if not isinstance(entry, dict):
            continue
        regions = entry.get("regions")
        if isinstance(regions, dict):
            regions = [{"env": _text(env, 64), "status": _text(status, 64)} for env, status in regions.items()]
        elif isinstance(regions, list):
            regions = [{"env": _text(env, 64), "status": None} for env in regions]
        else:
            regions = []
        shown.append({"action": _text(entry.get("action"), 64), "at": _text(entry.get("at"), 64),
                      "release": _text(entry.get("release")), "status": _text(entry.get("status"), 64),
                      "regions": regions})
        if len(shown) == limit:
            break
    return shown


class DrillReports:
    def __init__(self, records_dir: Path):
        self.folder = records_dir / "drills"
        self._lock = threading.Lock()
        self._parsed: dict[str, tuple[tuple[int, int], dict[str, Any] | None]] = {}

    def latest(self, limit: int = DRILL_LIMIT) -> list[dict[str, Any]]:
        """The last drills, newest first."""
        try:
            files = [(p, p.stat()) for p in self.folder.glob("*.json") if p.is_file()]
        except OSError:
            return []
        files.sort(key=lambda f: (f[1].st_mtime_ns, f[0].name), reverse=True)
        shown = []
        with self._lock:
            for path, stat in files:
                version = (stat.st_mtime_ns, stat.st_size)
                cached = self._parsed.get(path.name)
                if cached is None or cached[0] != version:
                    cached = self._parsed[path.name] = (version, _drill(_load(path), stat.st_mtime))
                if cached[1] is not None:
                    shown.append(cached[1])
                if len(shown) == limit:
                    break
            names = {p.name for p, _ in files}
            for gone in [n for n in self._parsed if n not in names]:
                del self._parsed[gone]
        return shown


def _finite(value: Any) -> bool:
    # JSON parsed by Python may hold NaN or Infinity, which a browser's JSON.parse refuses.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _drill(report: Any, mtime: float) -> dict[str, Any] | None:
    if not isinstance(report, dict) or not isinstance(report.get("ok"), bool):
        return None
    problems = report.get("problems")
    problems = [_text(p, 300) for p in problems[:MAX_PROBLEMS]] if isinstance(problems, list) else []
    failover = report.get("failover_s")
    return {"env": _text(report.get("env"), 64), "region": _text(report.get("region"), 64),
            "mode": _text(report.get("mode"), 64), "run_id": _text(report.get("run_id"), 64),
            "at": datetime.fromtimestamp(mtime, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ok": report["ok"], "problems": problems,
            "failover_s": failover if _finite(failover) else None,
            "requests": report.get("requests") if isinstance(report.get("requests"), int) else None}
