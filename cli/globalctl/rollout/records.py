"""What a rollout leaves on disk, beside samconfig.toml under .globalctl/:

- rollouts/current.json: the plan, each target's result and the snapshot taken before it was
  touched; written after every step, so an interrupted rollout can resume or be rolled back;
- releases/<release>/<env>.json: each stack as the release left it, for `rollback --to <release>`;
- history.json: one line per rollout or rollback (release, outcome, regions, times).

Release ids and env names become file names here, so every path is built by inputs.inside: a
hand-edited state file naming `../../etc` is one clear error, never a read or write elsewhere.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from globalctl.exceptions import GlobalctlError, PlanError
from globalctl.inputs import inside
from globalctl.rollout.plan import Plan
from globalctl.rollout.results import TargetResult
from globalctl.stacks import Snapshot

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
        state = self._read(self.current_path)
        if state is not None and not isinstance(state, dict):
            raise GlobalctlError(f"{self.current_path} is not a rollout state (a JSON object); "
                                 f"move it aside to start afresh")
        return state

    def resumable(self, topology: Any) -> dict[str, Any] | None:
        """The interrupted rollout's state, checked against the topology; None when there is none."""
        state = self.current()
        if not state or state.get("status") not in ("interrupted", "running"):
            return None
        try:
            _check_resumable(state, topology)
        except (GlobalctlError, KeyError, TypeError, ValueError) as error:
            raise PlanError(f"{self.current_path}: {error}; move it aside (or `globalctl rollback`)") from None
        return state

    # --- releases and history -----------------------------------------------------------------------

    def _release_path(self, release: str, env: str) -> Path:
        return inside(self.root, ("releases", "folder"), (release, "release id"), (f"{env}.json", "env"))

    def keep_release(self, release: str, snap: Snapshot) -> None:
        with self._lock:
            self._write(self._release_path(release, snap.env), snap.to_dict())

    def release_snapshot(self, release: str, env: str) -> Snapshot | None:
        path = self._release_path(release, env)
        data = self._read(path)
        if not data:
            return None
        try:
            return Snapshot.from_dict(data)
        except (TypeError, ValueError) as error:
            raise GlobalctlError(f"{path}: {error}; move it aside") from None

    def release_code(self, release: str, deployed: dict[str, str]) -> dict[str, str]:
        """The code recorded for `release` (functions -> CodeSha256); the first caller's `deployed`
        becomes the record."""
        path = self._code_path(release)
        with self._lock:
            recorded = self._read(path)
            if recorded is None:
                self._write(path, deployed)
                return dict(deployed)
        if not isinstance(recorded, dict):
            raise GlobalctlError(f"{path} is not a map of functions to CodeSha256; move it aside")
        return recorded

    def recorded_code(self, release: str) -> dict[str, str] | None:
        recorded = self._read(self._code_path(release))
        return recorded if isinstance(recorded, dict) else None

    def forget_code(self, release: str) -> None:
        """A new run of a release id builds anew: the code an earlier run recorded no longer binds."""
        self._code_path(release).unlink(missing_ok=True)

    def _code_path(self, release: str) -> Path:
        # A dot keeps it apart from the <env>.json records: a samconfig env name has none.
        return inside(self.root, ("releases", "folder"), (release, "release id"), ("code.sha256.json", "file"))

    def releases(self) -> list[str]:
        folder = self.root / "releases"
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    @property
    def history_path(self) -> Path:
        return self.root / "history.json"

    def history(self) -> list[dict[str, Any]]:
        history = self._read(self.history_path) or []
        if not isinstance(history, list) or not all(isinstance(entry, dict) for entry in history):
            raise GlobalctlError(f"{self.history_path} is not a list of JSON objects; move it aside")
        return history

    def append_history(self, entry: dict[str, Any]) -> None:
        with self._lock:
            history = self.history()
            history.append({**entry, "at": _now()})
            self._write(self.history_path, history)


def _check_resumable(state: dict[str, Any], topology: Any) -> None:
    """Every target of the recorded plan is the same stack in samconfig; results and snapshots
    have the shapes the executor reads back. Raises with the first thing that does not hold."""
    plan = Plan.from_dict(state.get("plan"))
    for target in plan.targets:
        env = topology.env(target.env)
        if (env.kind, env.region, env.stack_name) != (target.kind, target.region, target.stack_name):
            raise PlanError(f"target {target.env} is {target.kind} {target.stack_name} in {target.region}, "
                            f"samconfig says {env.kind} {env.stack_name} in {env.region}")
    known = {t.env for t in plan.targets}
    for key in ("results", "snapshots"):
        entries = state.get(key, {})
        if not isinstance(entries, dict) or not set(entries) <= known:
            raise PlanError(f"{key} must map the plan's envs ({', '.join(sorted(known))}) to objects")
        for env, entry in entries.items():
            if key == "snapshots" and entry is not None:
                Snapshot.from_dict(entry)
            if key == "results":
                try:  # exactly how the executor reads it back
                    TargetResult(**entry)
                except TypeError:
                    raise PlanError(f"the result of {env} is not a target result") from None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
