"""Answer a DNS query from Route 53 resource record sets, the way Route 53 would.

Input: record sets shaped as boto3 `list_resource_record_sets` returns them (Name, Type, TTL,
ResourceRecords, SetIdentifier, Weight, Region, Failover, GeoLocation, GeoProximityLocation,
MultiValueAnswer, CidrRoutingConfig, HealthCheckId, AliasTarget{DNSName, HostedZoneId,
EvaluateTargetHealth}). Semantics of the routing policies and of health are in routing.py; alias
health follows "How Route 53 chooses records when health checking is configured"
(https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-how-route-53-chooses-records.html):
an alias with EvaluateTargetHealth is healthy while the group it points to has a healthy record
(for a target inside these record sets) or while alias_health(dns_name) says so (anything else,
healthy when alias_health is not given).

DNS details kept: names compare case-insensitively with or without the trailing dot, Route 53's
octal escapes (\\052 for *) are decoded, a CNAME at the name answers a query of any type, and a
wildcard record answers names below it that have no records of their own.
CIDR routing needs the client's IP, which we do not have: only the default ("*") location answers.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from typing import Any, Callable, Iterable

from localcloud.route53 import latency
from localcloud.route53.routing import (
    Answer,
    Choice,
    HealthFn,
    Picked,
    Rng,
    biased_distance_km,
    geo_specificity,
    pick_failover,
    pick_first,
    pick_latency,
    pick_multivalue,
    pick_weighted,
    region_from_location_name,
    region_in_name,
)

AliasHealthFn = Callable[[str], bool]
MAX_ALIAS_DEPTH = 8
RecordSet = dict[str, Any]


def normalize_name(name: str) -> str:
    """api.Example.com. -> api.example.com; \\052.example.com -> *.example.com."""
    name = re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1), 8)), name)
    return name.rstrip(".").lower()


def routing_policy(record_set: RecordSet) -> str:
    if "Weight" in record_set:
        return "weighted"
    if "Region" in record_set:
        return "latency"
    if "Failover" in record_set:
        return "failover"
    if "GeoLocation" in record_set:
        return "geolocation"
    if "GeoProximityLocation" in record_set:
        return "geoproximity"
    if record_set.get("MultiValueAnswer"):
        return "multivalue"
    if "CidrRoutingConfig" in record_set:
        return "cidr"
    return "simple"


def resolve_records(
    record_sets: Iterable[RecordSet],
    name: str,
    rtype: str,
    client_region: str,
    health: HealthFn,
    rng: Rng = random,
    alias_health: AliasHealthFn | None = None,
) -> Answer:
    """Route 53's answer to `name`/`rtype` for a client in client_region.

    health(health_check_id) -> bool is a health check's current status; alias_health(dns_name)
    -> bool the health of an alias target outside these record sets. An Answer with no values is
    "no answer" (no such records, or a geolocation group with no match and no default).
    """
    latency.check_region(client_region)
    return _Resolver(record_sets, client_region, health, rng, alias_health).resolve(name, rtype.upper(), 0)


class _Resolver:
    def __init__(self, record_sets: Iterable[RecordSet], client_region: str, health: HealthFn,
                 rng: Rng, alias_health: AliasHealthFn | None):
        self.client, self.health, self.rng, self.alias_health = client_region, health, rng, alias_health
        self.index: dict[tuple[str, str], list[RecordSet]] = defaultdict(list)
        for rr in record_sets:
            self.index[(normalize_name(rr["Name"]), rr["Type"].upper())].append(rr)
        self._group_health: dict[tuple[str, str], bool] = {}

    def group(self, name: str, rtype: str) -> tuple[list[RecordSet], str]:
        """The records answering name/rtype: exact, else CNAME, else the closest wildcard."""
        name = normalize_name(name)
        labels = name.split(".")
        candidates = [name] + ["*." + ".".join(labels[i:]) for i in range(1, len(labels))]
        for owner in candidates:
            for t in (rtype, "CNAME"):
                if self.index.get((owner, t)):
                    return self.index[(owner, t)], t
            if any(n == owner for n, _ in self.index):
                return [], rtype  # the name exists with other types: NODATA, no wildcard
        return [], rtype

    def resolve(self, name: str, rtype: str, depth: int) -> Answer:
        records, found_type = self.group(name, rtype)
        answer = Answer([], found_type)
        if not records or depth > MAX_ALIAS_DEPTH:
            answer.healthy = False
            return answer
        policy = routing_policy(records[0])
        chosen, healthy = self.pick(policy, records, depth)
        answer.healthy = healthy
        answer.multivalue = policy == "multivalue"
        for c in chosen:
            answer.path.append(c.label)
            self.add(answer, c.item, c.region, depth)
        return answer

    def add(self, answer: Answer, rr: RecordSet, region: str | None, depth: int) -> None:
        alias = rr.get("AliasTarget")
        if alias:
            target = normalize_name(alias["DNSName"])
            if self.group(target, rr["Type"].upper())[0]:
                inner = self.resolve(target, rr["Type"].upper(), depth + 1)
                answer.path += inner.path
                answer.healthy &= inner.healthy
                answer.multivalue |= inner.multivalue
                answer.ttl = inner.ttl
                for v in inner.values:
                    self._add_value(answer, v, inner.regions.get(v) or region)
                return
            self._add_value(answer, target, region)
            return
        answer.ttl = rr.get("TTL")
        for record in rr.get("ResourceRecords", []):
            self._add_value(answer, record["Value"].rstrip("."), region)

    @staticmethod
    def _add_value(answer: Answer, value: str, region: str | None) -> None:
        if value not in answer.values:
            answer.values.append(value)
        served_from = region or region_in_name(value)
        if served_from:
            answer.regions.setdefault(value, served_from)

    # ------------------------------------------------------------ health

    def record_healthy(self, rr: RecordSet, depth: int) -> bool:
        hc = rr.get("HealthCheckId")
        if hc and not self.health(hc):
            return False
        alias = rr.get("AliasTarget")
        if alias and alias.get("EvaluateTargetHealth"):
            target = normalize_name(alias["DNSName"])
            if self.group(target, rr["Type"].upper())[0]:
                return self.group_healthy(target, rr["Type"].upper(), depth + 1)
            if self.alias_health is not None:
                return bool(self.alias_health(target))
        return True

    def group_healthy(self, name: str, rtype: str, depth: int) -> bool:
        key = (normalize_name(name), rtype)
        if key not in self._group_health:
            records, _ = self.group(name, rtype)
            if not records or depth > MAX_ALIAS_DEPTH:
                self._group_health[key] = False
            else:
                choices = self.choices(routing_policy(records[0]), records, depth)
                self._group_health[key] = any(c.healthy for c in choices)
        return self._group_health[key]

    # ------------------------------------------------------------ routing

    def choices(self, policy: str, records: list[RecordSet], depth: int) -> list[Choice[RecordSet]]:
        """The records this client could get, in order of preference where the policy has one."""
        def choice(rr: RecordSet, region: str | None = None) -> Choice[RecordSet]:
            return Choice(rr, self.record_healthy(rr, depth), weight=int(rr.get("Weight", 1)),
                          region=region or rr.get("Region"),
                          label=rr.get("SetIdentifier") or normalize_name(rr["Name"]))

        if policy == "geolocation":
            ranked = []
            for rr in records:
                geo = rr["GeoLocation"]
                rank = geo_specificity(self.client, geo.get("ContinentCode"), geo.get("CountryCode"),
                                       geo.get("SubdivisionCode"))
                if rank is not None:
                    ranked.append((rank, rr))
            return [choice(rr) for _, rr in sorted(ranked, key=lambda r: -r[0])]
        if policy == "geoproximity":
            scored = []
            for rr in records:
                region, lat, lon = _geoproximity_point(rr["GeoProximityLocation"])
                d = biased_distance_km(latency.distance_km(self.client, lat, lon),
                                       float(rr["GeoProximityLocation"].get("Bias", 0)))
                scored.append((d, choice(rr, region)))
            return [c for _, c in sorted(scored, key=lambda s: s[0])]
        if policy == "cidr":
            return [choice(rr) for rr in records if rr["CidrRoutingConfig"].get("LocationName") == "*"]
        if policy == "failover":
            return sorted((choice(rr) for rr in records), key=lambda c: c.item["Failover"] != "PRIMARY")
        return [choice(rr) for rr in records]

    def pick(self, policy: str, records: list[RecordSet], depth: int) -> Picked:
        choices = self.choices(policy, records, depth)
        if policy == "weighted":
            return pick_weighted(choices, self.rng)
        if policy == "latency":
            return pick_latency(choices, self.client)
        if policy == "multivalue":
            return pick_multivalue(choices, self.rng)
        if policy == "failover":
            primary = next((c for c in choices if c.item["Failover"] == "PRIMARY"), None)
            secondary = next((c for c in choices if c.item["Failover"] == "SECONDARY"), None)
            return pick_failover(primary, secondary)
        return pick_first(choices)  # simple, geolocation, geoproximity, cidr: ordered already


def _geoproximity_point(loc: dict) -> tuple[str | None, float, float]:
    coords = loc.get("Coordinates")
    if coords:
        return None, float(coords["Latitude"]), float(coords["Longitude"])
    name = loc.get("AWSRegion") or loc.get("LocalZoneGroup")
    region = region_from_location_name(f"aws:route53:{name}")
    if region is None:
        raise ValueError(f"unknown geoproximity location {loc!r}")
    info = latency.region_info(region)
    return region, info.lat, info.lon
