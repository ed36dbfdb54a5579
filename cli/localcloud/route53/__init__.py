"""Local Route 53 data plane: health checking, routing (traffic policies and record sets) and the
global entry proxy that routes each client to the region Route 53 would pick.

The control plane (zones, record sets, health check and traffic policy definitions) lives in
moto; callers hand its data to these modules as plain Python objects. Nothing here imports moto.

Modules: latency (region latency table), routing (Answer, health-aware picking), policy (traffic
policy documents), records (resource record sets), health (health checkers), entry (the proxy),
loopback (the loopback-only connection guard).
"""

from __future__ import annotations

from localcloud.route53.entry import GlobalEntry, Upstream
from localcloud.route53.health import HealthChecker, HealthCheckers, Observation
from localcloud.route53.latency import known_regions, latency_ms, nearest
from localcloud.route53.loopback import NonLoopbackTarget, require_loopback
from localcloud.route53.policy import PolicyError, evaluate, explain, validate
from localcloud.route53.records import resolve_records
from localcloud.route53.routing import Answer

__all__ = [
    "Answer", "GlobalEntry", "HealthChecker", "HealthCheckers", "NonLoopbackTarget", "Observation",
    "PolicyError", "Upstream", "evaluate", "explain", "known_regions", "latency_ms", "nearest",
    "require_loopback", "resolve_records", "validate",
]
