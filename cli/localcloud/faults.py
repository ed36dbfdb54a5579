"""The faults injected into regions: one per region env at most, set and cleared by the CLI
(through the supervisor's control calls), read by each region's API server and by replication.

outage: the region's API and health endpoint stop answering and its replication is cut;
partition: replication only; slow: added latency on every API request; errors: a share of 5xx.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Literal, get_args

FaultKind = Literal["outage", "partition", "slow", "errors"]
KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
CUTS_REPLICATION = ("outage", "partition")


@dataclass(frozen=True)
class Fault:
    """The fault injected into one region; the API servers read it on every request."""

    kind: FaultKind
    latency_ms: int = 0
    error_rate: float = 0.0


class UnknownRegion(ValueError):
    pass


@dataclass
class FaultBoard:
    regions: dict[str, str]  # env -> AWS region
    on_replication: Callable[[str, bool], None]  # (aws region, cut?) -> None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {}

    def _region(self, env: str) -> str:
        if env not in self.regions:
            raise UnknownRegion(f"unknown region env {env!r}; known: {', '.join(self.regions)}")
        return self.regions[env]

    def set(self, env: str, kind: str, latency_ms: int = 500, error_rate: float = 0.5) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose one of {', '.join(KINDS)}")
        region = self._region(env)
        self.heal(env)
        with self._lock:
            self._faults[env] = Fault(kind, latency_ms=int(latency_ms), error_rate=float(error_rate))  # type: ignore[arg-type]
        if kind in CUTS_REPLICATION:
            self.on_replication(region, True)

    def heal(self, env: str) -> bool:
        region = self._region(env)
        with self._lock:
            fault = self._faults.pop(env, None)
        if fault is not None and fault.kind in CUTS_REPLICATION:
            self.on_replication(region, False)
        return fault is not None

    def of_env(self, env: str) -> Fault | None:
        with self._lock:
            return self._faults.get(env)

    def fault(self, region: str) -> Fault | None:
        """FaultSource for the API servers, which know their AWS region."""
        with self._lock:
            for env, fault in self._faults.items():
                if self.regions.get(env) == region:
                    return fault
        return None

    def cut_regions(self) -> set[str]:
        with self._lock:
            return {self.regions[e] for e, f in self._faults.items() if f.kind in CUTS_REPLICATION}
