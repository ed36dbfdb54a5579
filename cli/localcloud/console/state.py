"""The answer of GET /_localcloud/console/state, polled by the page every 1.5 s.

Each piece (routing, API health, Route 53 health, replication, traffic, alarms, records) is built
on its own: one that fails (moto's state mid-deploy, an unexpected document) is left empty and
named in "problems", so the rest still shows and the call never fails. Everything is read, nothing
is changed; moto's dicts are copied before they are walked, as request threads change them.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

from localcloud.control_api import region_health_checks
from localcloud.faults import KINDS
from localcloud.route53 import latency

from . import records, routing, telemetry
from .probes import HealthProbes

log = logging.getLogger(__name__)
T = TypeVar("T")
ROUTE53_METRICS_REGION = "us-east-1"  # Route 53's health-check alarms live there whatever is served


class ConsoleState:
    def __init__(self, cloud: Any, records_dir: Path, account_id: str, *, store: Any = None,
                 alarm_backends: Any = None, groups: Callable[[], list[Any]] | None = None,
                 probes: HealthProbes | None = None, console_url: str | None = None):
        self.cloud = cloud
        self.account_id = account_id
        self.records_dir = records_dir
        self.console_url = console_url
        self._store = store
        self._alarm_backends = alarm_backends
        self._groups = groups
        self.probes = probes or HealthProbes()
        self.drills = records.DrillReports(records_dir)

    def _sources(self) -> tuple[Any, Any, list[Any]]:
        """The local CloudWatch's metric store, moto's CloudWatch backends, the replication groups."""
        store, backends = self._store, self._alarm_backends
        if store is None:
            from localcloud.cloudwatch.metrics import STORE as store
        if backends is None:
            from moto.cloudwatch.models import cloudwatch_backends as backends
        if self._groups is not None:
            groups = self._groups()
        else:
            from localcloud.dynamodb.patch import GROUPS
            groups = list(GROUPS.values())
        return store, backends, groups

    def build(self) -> dict[str, Any]:
        cloud, problems = self.cloud, []

        def piece(label: str, work: Callable[[], T], empty: T) -> T:
            try:
                return work()
            except Exception as error:  # noqa: BLE001 - shown as a problem, the rest still builds
                log.warning("console: %s failed", label, exc_info=True)
                problems.append(f"{label}: {type(error).__name__}: {error}"[:300])
                return empty

        now = time.time()
        served = list(cloud.regions.items())
        region_envs = {region: env for env, region in served}
        store, backends, groups = piece("sources", self._sources, (None, None, []))
        name, names = piece("routing", lambda: routing.routed_name(cloud.dns), (None, []))
        grid = piece("routing", lambda: routing.client_grid(cloud.dns, name, latency.known_regions(), region_envs), [])
        targets = {env: ("127.0.0.1", cloud.api_servers[env].port) for env, _ in served if env in cloud.api_servers}
        health = piece("API health", lambda: self.probes.health(targets), {})
        regions = []
        for env, region in served:
            fault = cloud.faults.of_env(env)
            api = health.get(env) or {"ok": False, "status": None, "release": None, "region": None,
                                      "answer": None, "detail": "not probed"}
            server = cloud.api_servers.get(env)
            regions.append({
                "env": env, "region": region, "api_url": server.url if server is not None else None,
                "release": api["release"], "api_health": api,
                "route53": piece(f"Route 53 health of {env}", lambda: routing.route53_health(
                    cloud.dns.checkers, region_health_checks(cloud, region)),
                    {"state": "unknown", "healthy": None, "checks": []}),
                "serves": routing.serving(grid, region, name is not None),
                "fault": None if fault is None else {"kind": fault.kind, "latency_ms": fault.latency_ms,
                                                     "error_rate": fault.error_rate},
                "replication": piece(f"replication of {env}", lambda: telemetry.replication(
                    store, self.account_id, region, telemetry.pending_links(groups, region), now), []),
                "traffic": piece(f"traffic of {env}", lambda: telemetry.traffic(store, self.account_id, region, now),
                                 None),
            })
        alarm_regions = sorted({*region_envs, ROUTE53_METRICS_REGION})
        return {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "endpoint": cloud.endpoint.url, "global_url": cloud.entry.url, "console_url": self.console_url,
            "home_region": cloud.home_region, "routed_name": name, "routed_names": names,
            "fault_kinds": list(KINDS),
            "regions": regions,
            "locations": grid,
            "alarms": piece("alarms", lambda: telemetry.alarms(backends, self.account_id, alarm_regions, region_envs),
                            []),
            "history": piece("history", lambda: records.history(self.records_dir), []),
            "drills": piece("drills", self.drills.latest, []),
            "problems": problems,
        }
