"""What Route 53 answers, and how it picks among choices when health checks are involved.

Shared by traffic policies (policy.py) and resource record sets (records.py). The health rules are
those of "How Amazon Route 53 chooses records when health checking is configured"
(https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-how-route-53-chooses-records.html):

- a choice without a health check is always healthy;
- if no choice is healthy, all are considered healthy ("fail open") and the routing policy picks
  among all of them; the answer is then flagged unhealthy so a parent that evaluates target
  health skips this branch while a healthy sibling exists;
- weighted: only non-zero weights are considered first, zero weights when every non-zero one is
  unhealthy; if every weight is 0, all are equally likely;
- failover: primary when healthy, else secondary when healthy, else primary;
- multivalue: up to eight healthy choices
  (https://docs.aws.amazon.com/Route53/latest/APIReference/api-policies-traffic-policy-document-format.html);
- geolocation: the smallest matching area wins (state, country, continent, default); when it is
  unhealthy the next larger matching area is used
  (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-geo.html);
- geoproximity: nearest by biased distance, d * (1 - bias/100) for a positive bias and
  d / (1 + bias/100) for a negative one
  (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-geoproximity.html).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Protocol, Sequence, TypeVar

from localcloud.route53 import latency

T = TypeVar("T")

HealthFn = Callable[[str], bool]
MULTIVALUE_LIMIT = 8
CONTINENTS = frozenset({"AF", "AN", "AS", "EU", "NA", "OC", "SA"})


class Rng(Protocol):
    """random.Random, or the random module itself."""

    def random(self) -> float: ...
    def choice(self, seq: Sequence[T]) -> T: ...
    def choices(self, population: Sequence[T], weights: Sequence[float] | None = ..., *, k: int = ...) -> list[T]: ...
    def sample(self, population: Sequence[T], k: int) -> list[T]: ...


@dataclass
class Answer:
    """The values Route 53 would answer with, plus how it got there.

    values: record values (IP, host name...), trailing dots stripped; empty means "no answer".
    regions: value -> AWS region that value serves from, when known (latency/geoproximity
      choice, endpoint Region, or a region code embedded in the host name).
    path: rule ids (policies) or record set identifiers (records) taken, outermost first.
    multivalue: the client may use any of values (multivalue answer), not just the first.
    healthy: False when Route 53 failed open somewhere on the path (nothing was healthy).
    """

    values: list[str]
    record_type: str
    path: list[str] = field(default_factory=list)
    regions: dict[str, str] = field(default_factory=dict)
    multivalue: bool = False
    healthy: bool = True
    ttl: int | None = None

    def region_of(self, value: str) -> str | None:
        return self.regions.get(value)

    @property
    def region(self) -> str | None:
        return self.regions.get(self.values[0]) if self.values else None


@dataclass
class Choice(Generic[T]):
    item: T
    healthy: bool
    weight: int = 1
    region: str | None = None
    label: str = ""


Picked = tuple[list[Choice[T]], bool]  # chosen choices, and whether they were healthy


def pick_first(choices: Sequence[Choice[T]]) -> Picked:
    """First healthy choice in the given (preference) order; else the first one (fail open)."""
    for c in choices:
        if c.healthy:
            return [c], True
    return ([choices[0]], False) if choices else ([], False)


def pick_failover(primary: Choice[T] | None, secondary: Choice[T] | None) -> Picked:
    return pick_first([c for c in (primary, secondary) if c is not None])


def pick_latency(choices: Sequence[Choice[T]], client_region: str) -> Picked:
    def rtt(c: Choice[T]) -> float:
        return latency.latency_ms(client_region, c.region) if latency.is_region(c.region) else math.inf

    return pick_first(sorted(choices, key=rtt))


def pick_weighted(choices: Sequence[Choice[T]], rng: Rng) -> Picked:
    healthy = [c for c in choices if c.healthy]
    tiers = (
        ([c for c in healthy if c.weight > 0], True),
        ([c for c in healthy if c.weight <= 0], True),
        ([c for c in choices if c.weight > 0], False),
        (list(choices), False),
    )
    for tier, ok in tiers:
        if tier:
            if any(c.weight > 0 for c in tier):
                return [rng.choices(tier, weights=[c.weight for c in tier])[0]], ok
            return [rng.choice(tier)], ok
    return [], False


def pick_multivalue(choices: Sequence[Choice[T]], rng: Rng, limit: int = MULTIVALUE_LIMIT) -> Picked:
    healthy = [c for c in choices if c.healthy]
    pool, ok = (healthy, True) if healthy else (list(choices), False)
    if not pool:
        return [], False
    # Route 53 returns the healthy records in varying order; clients use the first that answers.
    return rng.sample(pool, min(limit, len(pool))), ok


def geo_specificity(client_region: str, continent: str | None, country: str | None,
                    subdivision: str | None, is_default: bool = False) -> int | None:
    """How closely a geolocation matches the client: 3 state, 2 country, 1 continent,
    0 default ("*"), None no match."""
    r = latency.region_info(client_region)
    if is_default or country == "*":
        return 0
    if subdivision:
        return 3 if country == r.country and subdivision == r.subdivision else None
    if country:
        return 2 if country == r.country else None
    if continent:
        return 1 if continent == r.continent else None
    return None


def biased_distance_km(distance: float, bias: float) -> float:
    if bias >= 0:
        return distance * (1 - bias / 100)
    return distance / (1 + bias / 100)


_REGION_TOKEN = re.compile(r"(?<![a-z0-9-])([a-z]{2}(?:-[a-z]+)+-\d)(?![a-z0-9])")


def region_in_name(name: str) -> str | None:
    """An AWS region code embedded in a host name (abc.execute-api.eu-west-1.amazonaws.com)."""
    for m in _REGION_TOKEN.finditer(name.lower()):
        if latency.is_region(m.group(1)):
            return m.group(1)
    return None


def region_from_location_name(name: Any) -> str | None:
    """aws:route53:us-east-1 -> us-east-1; a Local Zone (us-east-1-atl-1a) -> its parent region."""
    if not isinstance(name, str) or not name.startswith("aws:route53:"):
        return None
    code = name.removeprefix("aws:route53:")
    if latency.is_region(code):
        return code
    parents = [r for r in latency.known_regions() if code.startswith(r + "-")]
    return max(parents, key=len) if parents else None
