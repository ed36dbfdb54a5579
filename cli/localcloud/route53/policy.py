"""Validate and evaluate Route 53 traffic policy documents.

Format: "Traffic Policy Document Format", Route 53 API Reference
(https://docs.aws.amazon.com/Route53/latest/APIReference/api-policies-traffic-policy-document-format.html):
AWSPolicyFormatVersion 2015-10-01 or 2023-05-09; RecordType; StartEndpoint | StartRule; Endpoints
{id: {Type, Value, Region (s3-website)}}; Rules {id: {RuleType: failover | geo | geoproximity |
latency | multivalue | weighted, ...}} whose entries carry EndpointReference | RuleReference,
EvaluateTargetHealth and HealthCheck (multivalue Items: EndpointReference and HealthCheck only;
weighted Items: Weight 0-255; geoproximity: Region "aws:route53:<code>" or Latitude/Longitude with
at most two decimals in 2015-10-01, Location {Type Region | LocalZone | Coordinate} in 2023-05-09;
Bias -99..99).

Health semantics are those of routing.py. A rule reference counts as healthy when the referenced
rule can answer with something healthy, unless its entry sets EvaluateTargetHealth to false.
The client's location is an AWS region code: geo rules match on that region's continent, country
and US state; geoproximity measures from that region's metro.

Local liberties: an endpoint Region is accepted on any endpoint type (the document format names
it for s3-website only) and is used to tell which region a value serves from; LocalZone locations
count as the region their name starts with.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from localcloud.route53 import latency
from localcloud.route53.routing import (
    CONTINENTS,
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

VERSIONS = ("2015-10-01", "2023-05-09")
RECORD_TYPES = frozenset(
    "SOA A TXT NS CNAME MX NAPTR PTR SRV SPF AAAA CAA DS TLSA SSHFP SVCB HTTPS".split()
)
ENDPOINT_TYPES = frozenset({
    "value", "cloudfront", "application-load-balancer", "elastic-load-balancer",
    "network-load-balancer", "elastic-beanstalk", "s3-website",
})
RULE_TYPES = ("failover", "geo", "geoproximity", "latency", "multivalue", "weighted")
_ENTRIES = {  # where each rule type keeps its entries
    "geo": "Locations", "geoproximity": "GeoproximityLocations", "latency": "Regions",
    "multivalue": "Items", "weighted": "Items",
}
_HOSTNAME = re.compile(r"^(?=.{1,253}\.?$)([A-Za-z0-9_*]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
                       r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$")


class PolicyError(ValueError):
    """The document is not a valid traffic policy; .problems lists why."""

    def __init__(self, problems: list[str]):
        super().__init__("invalid traffic policy document: " + "; ".join(problems))
        self.problems = problems


def load(document: dict | str) -> dict:
    if isinstance(document, (str, bytes)):
        document = json.loads(document)
    if not isinstance(document, dict):
        raise ValueError("a traffic policy document is a JSON object")
    return document


# ---------------------------------------------------------------- validation

def validate(document: dict | str) -> list[str]:
    """Every problem that should make CreateTrafficPolicy reject the document; [] when valid."""
    try:
        doc = load(document)
    except (ValueError, TypeError) as e:
        return [f"document is not valid JSON: {e}"]
    problems: list[str] = []
    version = doc.get("AWSPolicyFormatVersion")
    if version not in VERSIONS:
        problems.append(f"AWSPolicyFormatVersion must be one of {', '.join(VERSIONS)}, got {version!r}")
    rtype = doc.get("RecordType")
    if rtype not in RECORD_TYPES:
        problems.append(f"RecordType must be one of {', '.join(sorted(RECORD_TYPES))}, got {rtype!r}")
    endpoints, rules = doc.get("Endpoints", {}), doc.get("Rules", {})
    if not isinstance(endpoints, dict):
        problems.append("Endpoints must be an object of endpoint id -> definition")
        endpoints = {}
    if not isinstance(rules, dict):
        problems.append("Rules must be an object of rule id -> definition")
        rules = {}

    starts = [k for k in ("StartEndpoint", "StartRule") if k in doc]
    if len(starts) != 1:
        problems.append("specify exactly one of StartEndpoint or StartRule")
    elif starts[0] == "StartEndpoint" and doc["StartEndpoint"] not in endpoints:
        problems.append(f"StartEndpoint references unknown endpoint {doc['StartEndpoint']!r}")
    elif starts[0] == "StartRule" and doc["StartRule"] not in rules:
        problems.append(f"StartRule references unknown rule {doc['StartRule']!r}")

    for eid, ep in endpoints.items():
        problems += _endpoint_problems(eid, ep, rtype)
    for rid, rule in rules.items():
        problems += _rule_problems(rid, rule, endpoints, rules, version)
    if not problems:
        problems += _cycle_problems(rules)
    return problems


def _endpoint_problems(eid: str, ep: Any, rtype: Any) -> list[str]:
    where = f"endpoint {eid!r}"
    if not isinstance(ep, dict):
        return [f"{where} must be an object"]
    out = []
    etype, value = ep.get("Type"), ep.get("Value")
    if etype not in ENDPOINT_TYPES:
        out.append(f"{where}: Type must be one of {', '.join(sorted(ENDPOINT_TYPES))}, got {etype!r}")
    if not isinstance(value, str) or not value:
        out.append(f"{where}: Value must be a non-empty string")
    elif etype == "value":
        out += [f"{where}: {p}" for p in _value_problems(value, rtype)]
    elif etype == "s3-website" and rtype != "A":
        out.append(f"{where}: s3-website endpoints need RecordType A")
    elif etype in ENDPOINT_TYPES and rtype not in ("A", "AAAA"):
        out.append(f"{where}: {etype} endpoints need RecordType A or AAAA")
    if "Region" in ep and not latency.is_region(ep["Region"]):
        out.append(f"{where}: unknown Region {ep['Region']!r}")
    if etype == "s3-website" and "Region" not in ep:
        out.append(f"{where}: s3-website endpoints need a Region")
    return out


def _value_problems(value: str, rtype: Any) -> list[str]:
    try:
        if rtype == "A":
            ipaddress.IPv4Address(value)
        elif rtype == "AAAA":
            ipaddress.IPv6Address(value)
    except ValueError:
        return [f"Value {value!r} is not a valid {'IPv4' if rtype == 'A' else 'IPv6'} address"]
    if rtype in ("CNAME", "NS", "PTR") and not _HOSTNAME.match(value):
        return [f"Value {value!r} is not a valid domain name"]
    return []


def _rule_problems(rid: str, rule: Any, endpoints: dict, rules: dict, version: Any) -> list[str]:
    where = f"rule {rid!r}"
    if not isinstance(rule, dict):
        return [f"{where} must be an object"]
    rtype = rule.get("RuleType")
    if rtype not in RULE_TYPES:
        return [f"{where}: RuleType must be one of {', '.join(RULE_TYPES)}, got {rtype!r}"]
    if rtype == "failover":
        out = []
        for side in ("Primary", "Secondary"):
            if not isinstance(rule.get(side), dict):
                out.append(f"{where}: failover rules need a {side} object")
            else:
                out += _ref_problems(f"{where} {side}", rule[side], endpoints, rules)
        return out
    key = _ENTRIES[rtype]
    entries = rule.get(key)
    if not isinstance(entries, list) or not entries:
        return [f"{where}: {rtype} rules need a non-empty {key} list"]
    out = []
    defaults = 0
    for i, entry in enumerate(entries):
        at = f"{where} {key}[{i}]"
        if not isinstance(entry, dict):
            out.append(f"{at} must be an object")
            continue
        out += _ref_problems(at, entry, endpoints, rules, endpoint_only=rtype == "multivalue")
        if rtype == "latency" and not latency.is_region(entry.get("Region")):
            out.append(f"{at}: Region must be a known AWS region code, got {entry.get('Region')!r}")
        elif rtype == "weighted":
            w = _int(entry.get("Weight"))
            if w is None or not 0 <= w <= 255:
                out.append(f"{at}: Weight must be an integer between 0 and 255, got {entry.get('Weight')!r}")
        elif rtype == "geo":
            problems, is_default = _geo_location_problems(entry)
            out += [f"{at}: {p}" for p in problems]
            defaults += is_default
        elif rtype == "geoproximity":
            out += [f"{at}: {p}" for p in _geoproximity_problems(entry, version)]
    if defaults > 1:
        out.append(f"{where}: only one location may be the default (IsDefault or Country '*')")
    return out


def _ref_problems(at: str, entry: dict, endpoints: dict, rules: dict, endpoint_only: bool = False) -> list[str]:
    out = []
    refs = [k for k in ("EndpointReference", "RuleReference") if entry.get(k) is not None]
    if endpoint_only:
        if refs != ["EndpointReference"]:
            out.append(f"{at}: multivalue items take an EndpointReference (and no RuleReference)")
    elif len(refs) != 1:
        out.append(f"{at}: specify exactly one of EndpointReference or RuleReference")
    if entry.get("EndpointReference") is not None and entry["EndpointReference"] not in endpoints:
        out.append(f"{at}: EndpointReference to unknown endpoint {entry['EndpointReference']!r}")
    if entry.get("RuleReference") is not None and entry["RuleReference"] not in rules:
        out.append(f"{at}: RuleReference to unknown rule {entry['RuleReference']!r}")
    if "HealthCheck" in entry and (not isinstance(entry["HealthCheck"], str) or not entry["HealthCheck"]):
        out.append(f"{at}: HealthCheck must be a health check id")
    if "EvaluateTargetHealth" in entry and _bool(entry["EvaluateTargetHealth"]) is None:
        out.append(f"{at}: EvaluateTargetHealth must be true or false")
    return out


def _geo_location_problems(entry: dict) -> tuple[list[str], bool]:
    out = []
    continent, country, sub = entry.get("Continent"), entry.get("Country"), entry.get("Subdivision")
    is_default = _bool(entry.get("IsDefault", False))
    if is_default is None:
        out.append("IsDefault must be true or false")
    if continent is not None and continent not in CONTINENTS:
        out.append(f"Continent must be one of {', '.join(sorted(CONTINENTS))}, got {continent!r}")
    if country is not None and not (country == "*" or (isinstance(country, str) and re.fullmatch(r"[A-Z]{2}", country))):
        out.append(f"Country must be a two-letter country code or '*', got {country!r}")
    if continent is not None and country is not None:
        out.append("specify Continent or Country, not both")
    if sub is not None and country is None:
        out.append("Subdivision needs a Country")
    if continent is None and country is None and not is_default:
        out.append("a location needs a Continent, a Country or IsDefault true")
    return out, bool(is_default) or country == "*"


def _geoproximity_problems(entry: dict, version: Any) -> list[str]:
    out = []
    bias = _int(entry.get("Bias", 0))
    if bias is None or not -99 <= bias <= 99:
        out.append(f"Bias must be an integer between -99 and 99, got {entry.get('Bias')!r}")
    if version == "2023-05-09":
        loc = entry.get("Location")
        if any(k in entry for k in ("Region", "Latitude", "Longitude")):
            out.append("Region/Latitude/Longitude belong to version 2015-10-01; use Location")
        if not isinstance(loc, dict):
            return out + ["Location {Type, LocationName | Latitude/Longitude} is required"]
        if loc.get("Type") in ("Region", "LocalZone"):
            if region_from_location_name(loc.get("LocationName")) is None:
                out.append(f"unknown LocationName {loc.get('LocationName')!r} (use aws:route53:<region>)")
        elif loc.get("Type") == "Coordinate":
            out += _coordinate_problems(loc)
        else:
            out.append(f"Location Type must be Region, LocalZone or Coordinate, got {loc.get('Type')!r}")
        return out
    if "Location" in entry:
        out.append("Location belongs to version 2023-05-09; use Region or Latitude/Longitude")
    if "Region" in entry:
        if region_from_location_name(entry["Region"]) is None:
            out.append(f"Region must be aws:route53:<known region code>, got {entry['Region']!r}")
    elif "Latitude" in entry or "Longitude" in entry:
        out += _coordinate_problems(entry)
    else:
        out.append("specify a Region or a Latitude and Longitude")
    return out


def _coordinate_problems(where: dict) -> list[str]:
    out = []
    for key, limit in (("Latitude", 90), ("Longitude", 180)):
        raw = where.get(key)
        try:
            d = Decimal(str(raw))
        except (InvalidOperation, ValueError):
            out.append(f"{key} must be a number, got {raw!r}")
            continue
        if not -limit <= d <= limit:
            out.append(f"{key} must be between -{limit} and {limit}, got {raw!r}")
        if d.as_tuple().exponent < -2:  # type: ignore[operator]
            out.append(f"{key} takes at most two decimals, got {raw!r}")
    return out


def _cycle_problems(rules: dict) -> list[str]:
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(rid: str, trail: list[str]) -> str | None:
        if state.get(rid) == 1:
            return " -> ".join(trail[trail.index(rid):] + [rid])
        if state.get(rid) == 2:
            return None
        state[rid] = 1
        for child in _rule_refs(rules[rid]):
            found = visit(child, trail + [rid])
            if found:
                return found
        state[rid] = 2
        return None

    for rid in rules:
        cycle = visit(rid, [])
        if cycle:
            return [f"rule references form a cycle: {cycle}"]
    return []


def _rule_refs(rule: dict) -> list[str]:
    return [e["RuleReference"] for e in _entries(rule) if e.get("RuleReference") is not None]


def _entries(rule: dict) -> list[dict]:
    if rule["RuleType"] == "failover":
        return [rule[s] for s in ("Primary", "Secondary")]
    return list(rule[_ENTRIES[rule["RuleType"]]])


def _bool(v: Any, default: bool | None = None) -> bool | None:
    if v is None:
        return default
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    return None


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and re.fullmatch(r"-?\d+", v.strip()):
        return int(v)
    return None


# ---------------------------------------------------------------- evaluation

def evaluate(document: dict | str, client_region: str, health: HealthFn, rng: Rng = random) -> Answer:
    """What Route 53 answers a client in client_region under this policy.

    health(health_check_id) -> bool is the current status of a health check. Raises PolicyError
    for an invalid document and ValueError for an unknown client region. An Answer with no values
    means "no answer" (a geo rule with no matching location and no default).
    """
    problems = validate(document)
    if problems:
        raise PolicyError(problems)
    latency.check_region(client_region)
    return _Evaluator(load(document), client_region, health, rng).run()


class _Evaluator:
    def __init__(self, doc: dict, client_region: str, health: HealthFn, rng: Rng):
        self.doc, self.client, self.health, self.rng = doc, client_region, health, rng
        self.endpoints: dict = doc.get("Endpoints", {})
        self.rules: dict = doc.get("Rules", {})
        self._rule_health: dict[str, bool] = {}

    def run(self) -> Answer:
        answer = Answer([], self.doc["RecordType"])
        if "StartEndpoint" in self.doc:
            self._add_endpoint(answer, self.doc["StartEndpoint"], None)
        else:
            self._descend(answer, self.doc["StartRule"], None)
        return answer

    # Health: an entry is healthy when its own health check passes and, for a rule reference
    # that evaluates target health, the referenced rule has something healthy to answer with.
    def _entry_healthy(self, entry: dict) -> bool:
        hc = entry.get("HealthCheck")
        if hc and not self.health(hc):
            return False
        if entry.get("RuleReference") is not None and _bool(entry.get("EvaluateTargetHealth"), True):
            return self._rule_healthy(entry["RuleReference"])
        return True

    def _rule_healthy(self, rid: str) -> bool:
        if rid not in self._rule_health:
            self._rule_health[rid] = any(c.healthy for c in self._choices(self.rules[rid]))
        return self._rule_health[rid]

    def _choices(self, rule: dict) -> list[Choice[dict]]:
        """The entries this client could be routed to, in the rule's order of preference."""
        rtype = rule["RuleType"]
        if rtype == "geo":
            return self._geo_choices(rule)
        if rtype == "geoproximity":
            return self._geoproximity_choices(rule)
        return [
            Choice(e, self._entry_healthy(e), weight=_int(e.get("Weight", 1)) or 0, region=e.get("Region"))
            for e in _entries(rule)
        ]

    def _geo_choices(self, rule: dict) -> list[Choice[dict]]:
        matches = []
        for e in rule["Locations"]:
            rank = geo_specificity(self.client, e.get("Continent"), e.get("Country"),
                                   e.get("Subdivision"), bool(_bool(e.get("IsDefault"), False)))
            if rank is not None:
                matches.append((rank, Choice(e, self._entry_healthy(e))))
        return [c for _, c in sorted(matches, key=lambda m: -m[0])]

    def _geoproximity_choices(self, rule: dict) -> list[Choice[dict]]:
        scored = []
        for e in rule["GeoproximityLocations"]:
            region, lat, lon = self._geoproximity_point(e)
            d = latency.distance_km(self.client, lat, lon)
            scored.append((biased_distance_km(d, _int(e.get("Bias", 0)) or 0),
                           Choice(e, self._entry_healthy(e), region=region)))
        return [c for _, c in sorted(scored, key=lambda s: s[0])]

    def _geoproximity_point(self, e: dict) -> tuple[str | None, float, float]:
        loc = e.get("Location")
        if isinstance(loc, dict):
            if loc.get("Type") == "Coordinate":
                return None, float(loc["Latitude"]), float(loc["Longitude"])
            region = region_from_location_name(loc.get("LocationName"))
        elif "Region" in e:
            region = region_from_location_name(e["Region"])
        else:
            return None, float(e["Latitude"]), float(e["Longitude"])
        info = latency.region_info(region)  # type: ignore[arg-type]  # validated
        return region, info.lat, info.lon

    def _pick(self, rule: dict) -> Picked:
        choices = self._choices(rule)
        rtype = rule["RuleType"]
        if rtype == "failover":
            return pick_failover(choices[0], choices[1])
        if rtype == "latency":
            return pick_latency(choices, self.client)
        if rtype == "weighted":
            return pick_weighted(choices, self.rng)
        if rtype == "multivalue":
            return pick_multivalue(choices, self.rng)
        return pick_first(choices)  # geo and geoproximity: already in order of preference

    def _descend(self, answer: Answer, rid: str, region: str | None) -> None:
        rule = self.rules[rid]
        answer.path.append(rid)
        chosen, healthy = self._pick(rule)
        answer.healthy &= healthy
        answer.multivalue |= rule["RuleType"] == "multivalue"
        for c in chosen:
            entry_region = c.region or region
            if c.item.get("RuleReference") is not None:
                self._descend(answer, c.item["RuleReference"], entry_region)
            else:
                self._add_endpoint(answer, c.item["EndpointReference"], entry_region)

    def _add_endpoint(self, answer: Answer, eid: str, region: str | None) -> None:
        ep = self.endpoints[eid]
        value = ep["Value"].rstrip(".")
        served_from = ep.get("Region") or region or region_in_name(value)
        if value not in answer.values:
            answer.values.append(value)
        if served_from:
            answer.regions.setdefault(value, served_from)


def explain(answer: Answer) -> str:
    """One line for logs and the CLI: path, values and where they serve from."""
    where = ", ".join(f"{v} ({answer.regions.get(v, '?')})" for v in answer.values) or "no answer"
    flag = "" if answer.healthy else " [nothing healthy: failed open]"
    return f"{' -> '.join(answer.path) or '(start endpoint)'}: {where}{flag}"

