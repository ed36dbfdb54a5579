"""What a rollout leaves on disk, beside samconfig.toml under .globalctl/:

- rollouts/current.json: the plan, each target's result and the snapshot taken before it was
  touched; written after every step, so an interrupted rollout can resume or be rolled back;
- releases/<release>/<env>.json: each stack as the release left it, for `rollback --to <release>`;
- history.json: one line per rollout or rollback (release, outcome, regions, times).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from globalctl.exceptions import GlobalctlError
from globalctl.rollout.plan import Plan
from globalctl.rollout.stacks import Snapshot

STATE_DIR = ".globalctl"


class Records:
    def __init__(self, config_path: Path):
        self.root = config_path.resolve().parent / STATE_DIR
        self._lock = threading.Lock()

    def _write(self, path: Path, data: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(data, indent=2, sort_keys=True))
        partial.replace(path)

    def _read(self, path: Path) -> Any:
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except ValueError as error:
            raise GlobalctlError(f"{path} is not valid JSON ({error}); move it aside to start afresh") from None

    # --- the rollout in progress --------------------------------------------------------------------

    @property
    def current_path(self) -> Path:
        return self.root / "rollouts" / "current.json"

    def start(self, plan: Plan) -> dict[str, Any]:
        state = {"plan": plan.to_dict(), "status": "running", "started_at": _now(), "results": {},
                 "snapshots": {}}
        with self._lock:
            self._write(self.current_path, state)
        return state

    def save(self, state: dict[str, Any]) -> None:
        with self._lock:
            self._write(self.current_path, state)

    def current(self) -> dict[str, Any] | None:
        return self._read(self.current_path)

    # --- releases and history -----------------------------------------------------------------------

    def keep_release(self, release: str, snap: Snapshot) -> None:
        with self._lock:
            self._write(self.root / "releases" / release / f"{snap.env}.json", snap.to_dict())

    def release_snapshot(self, release: str, env: str) -> Snapshot | None:
        data = self._read(self.root / "releases" / release / f"{env}.json")
        return Snapshot.from_dict(data) if data else None

    def releases(self) -> list[str]:
        folder = self.root / "releases"
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def history(self) -> list[dict[str, Any]]:
        return self._read(self.root / "history.json") or []

    def append_history(self, entry: dict[str, Any]) -> None:
        with self._lock:
            history = self._read(self.root / "history.json") or []
            history.append({**entry, "at": _now()})
            self._write(self.root / "history.json", history)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
