"""Route 53 on the local cloud: its moto patch, its data plane and the wiring between them.

- patch.py: the moto patch (traffic policies, GetHealthCheckStatus from the local checkers,
  health checks updated in place; record_sets.py: records and record set groups changed record by
  record, groups updated and deleted);
- the data plane, which never imports moto (callers hand it plain Python objects): latency (the
  inter-region latency table), routing (Answer, health-aware picking), policy (traffic policy
  documents), records (resource record sets), health (the health checkers) and entry (the global
  entry proxy that routes each client to the region Route 53 would pick);
- wiring.py: how the supervisor feeds the data plane from moto's zones, health checks and traffic
  policy instances, and maps answers (execute-api host names) to each region's loopback port.

Connections go to loopback only (localcloud.loopback).
"""

from __future__ import annotations

from localcloud.route53.entry import GlobalEntry, Upstream
from localcloud.route53.health import HealthChecker, HealthCheckers, Observation
from localcloud.route53.latency import known_regions, latency_ms, nearest
from localcloud.route53.policy import PolicyError, evaluate, explain, validate
from localcloud.route53.records import resolve_records
from localcloud.route53.routing import Answer

__all__ = [
    "Answer", "GlobalEntry", "HealthChecker", "HealthCheckers", "Observation", "PolicyError", "Upstream",
    "evaluate", "explain", "known_regions", "latency_ms", "nearest", "resolve_records", "validate",
]
