"""Route 53's wiring: health checkers kept in step with the health checks moto holds, and name
resolution from the deployed routing (traffic policy instances, or record sets) for a
client in a given AWS region. Answer values (execute-api host names) map to loopback upstreams.
"""

from __future__ import annotations

import json
import random
import re
import threading
from typing import Any, Callable

from moto.route53.models import route53_backends

from . import policy, records
from .entry import Upstream
from .health import HealthCheckers
from .patch import traffic_policies
from .routing import Answer

# <api id or d-xxxx>.execute-api.<region>.amazonaws.com, the only names the local cloud serves
EXECUTE_API_HOST = re.compile(r"^(?P<label>[a-z0-9-]+)\.execute-api\.(?P<region>[a-z]{2}(-[a-z]+)+-\d)\.amazonaws\.com\.?$")
LOOPBACK_NAMES = {"", "127.0.0.1", "localhost", "::1", "[::1]"}
SYNC_INTERVAL_SECONDS = 1.0
RECORD_TYPES = ("CNAME", "A", "AAAA")


def _norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


class Dns:
    def __init__(self, account_id: str, region_ports: dict[str, int], interval_scale: float = 1.0,
                 publish: Callable[..., None] | None = None):
        self.account_id = account_id
        self.region_ports = region_ports  # AWS region -> loopback port of its API server
        self._publish = publish
        self.checkers = HealthCheckers(self.health_target, interval_scale=interval_scale,
                                       on_status=self._health_check_status if publish else None)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._sync_loop, name="route53-sync", daemon=True)
        self._rng = random.Random()

    # --- health checks --------------------------------------------------------------------------

    def _health_check_status(self, health_check_id: str, healthy: bool) -> None:
        """HealthCheckStatus (1 healthy, 0 not) per HealthCheckId, in us-east-1, as Route 53 publishes
        it ("Monitoring health checks using CloudWatch",
        https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-health-checks.html)."""
        self._publish(self.account_id, "us-east-1", "AWS/Route53", "HealthCheckStatus",
                      {"HealthCheckId": health_check_id}, 1.0 if healthy else 0.0, "None")

    def health_target(self, fqdn_or_ip: str, port: int, scheme: str) -> tuple[str, int] | None:
        upstream = self.upstream(fqdn_or_ip)
        return (upstream.host, upstream.port) if upstream else None

    def start(self) -> None:
        self.sync()
        self._thread.start()

    def changed(self, _account_id: str = "") -> None:
        self._wake.set()

    def _sync_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(SYNC_INTERVAL_SECONDS)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.sync()
            except Exception:  # noqa: BLE001 - a half-built zone mid-deploy; the next pass catches up
                continue

    def sync(self) -> None:
        backend = route53_backends[self.account_id]["aws"]
        configs = {hc.id: hc.health_check_config for hc in list(backend.health_checks.values())}
        self.checkers.sync(configs)

    def healthy(self, health_check_id: str) -> bool:
        return self.checkers.healthy(health_check_id)

    def observations(self, health_check_id: str) -> list[dict[str, Any]] | None:
        if self.checkers.get(health_check_id) is None:
            return None
        # GetHealthCheckStatus lists each checker's latest result; the local cloud has one checker.
        return self.checkers.observations(health_check_id)[:1]

    # --- resolution -----------------------------------------------------------------------------

    def upstream(self, value: str) -> Upstream | None:
        match = EXECUTE_API_HOST.match(_norm(value))
        if not match or match["region"] not in self.region_ports:
            return None
        return Upstream("127.0.0.1", self.region_ports[match["region"]], match["region"])

    def routed_names(self) -> list[str]:
        """The names clients ask for: traffic policy instances, and routed record sets that no
        other record aliases (in records mode a policy's inner rules and guards are alias targets)."""
        names = {_norm(i.name) for i in traffic_policies(self.account_id).instances.values()}
        aliased: set[str] = set()
        for zone in list(route53_backends[self.account_id]["aws"].zones.values()):
            for rrset in list(zone.rrsets):
                if rrset.type in RECORD_TYPES and (rrset.set_identifier or rrset.health_check_id):
                    names.add(_norm(rrset.name))
                if rrset.alias_target:
                    aliased.add(_norm(rrset.alias_target.get("DNSName", "")))
        return sorted(names - aliased)

    def resolve(self, host: str | None, client_region: str) -> tuple[Answer, str, str] | None:
        """(answer, record type, how) for a name, or None when nothing routes it."""
        name = _norm((host or "").rsplit(":", 1)[0] if host and not host.startswith("[") else host or "")
        if name in LOOPBACK_NAMES:
            names = self.routed_names()
            if len(names) != 1:
                return None
            name = names[0]
        state = traffic_policies(self.account_id)
        with state.lock:
            instance = next((i for i in state.instances.values() if _norm(i.name) == name), None)
            version = state.get(instance.policy_id, instance.policy_version) if instance else None
        if instance is not None and version is not None:
            answer = policy.evaluate(json.loads(version.document), client_region, self.healthy, self._rng)
            return answer, instance.policy_type, f"traffic policy {version.name} v{version.version}"
        zone_sets = self._record_sets(name)
        if not zone_sets:
            return None
        for record_type in RECORD_TYPES:
            answer = records.resolve_records(zone_sets, name, record_type, client_region, self.healthy, self._rng)
            if answer.values:
                return answer, record_type, "record sets"
        return None

    def _record_sets(self, name: str) -> list[dict[str, Any]]:
        for zone in list(route53_backends[self.account_id]["aws"].zones.values()):
            zone_name = _norm(zone.name)
            if name == zone_name or name.endswith("." + zone_name):
                return [_record_set(r) for r in list(zone.rrsets)]
        return []

    def answer_for_entry(self, host: str, client_region: str) -> Answer | None:
        resolved = self.resolve(host, client_region)
        return resolved[0] if resolved else None

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.checkers.close()


def _record_set(rrset: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"Name": rrset.name, "Type": rrset.type}
    optional = {"SetIdentifier": rrset.set_identifier, "Weight": rrset.weight, "Region": rrset.region,
                "Failover": rrset.failover, "GeoLocation": rrset.geo_location,
                "MultiValueAnswer": rrset.multi_value_answer, "HealthCheckId": rrset.health_check_id,
                "TTL": rrset.ttl, "AliasTarget": rrset.alias_target}
    result.update({k: v for k, v in optional.items() if v not in (None, "")})
    if rrset.records:
        result["ResourceRecords"] = [r if isinstance(r, dict) else {"Value": r} for r in rrset.records]
    if isinstance(result.get("Weight"), str):
        result["Weight"] = int(result["Weight"])
    return result
