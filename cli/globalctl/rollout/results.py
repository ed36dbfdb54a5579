"""What running a plan leaves behind: each target's result (a row of the results table and of the
rollout's state file) and the outcome of the whole run. The executor writes them; the records
read them back when a rollout resumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TargetResult:
    env: str
    kind: str
    region: str
    status: str = "pending"  # pending | in progress | deployed | failed | rolled back | rollback failed | restored
    phase: str = ""
    reason: str = ""
    seconds: float = 0.0
    drained: bool = False
    replication_lag_ms: float | None = None
    bake_seconds: float | None = None  # how long its alarms were watched under live traffic

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Outcome:
    ok: bool
    status: str  # complete | complete with failures | rolled back | interrupted | failed
    results: list[TargetResult] = field(default_factory=list)
