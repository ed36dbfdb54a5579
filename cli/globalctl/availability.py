"""Composite availability from per-service SLA figures: series, parallel, nines, downtime per year.

Components on one request path fail the request if any of them fails (series: A = prod A_i); the
regions are alternatives behind the global routing (parallel: A = 1 - prod(1 - A_i)). Both formulas
assume independent failures, which is what makes them a model, not a forecast.

The topology's request path: Route 53 (global, one service in front of every region) in series with
the regions in parallel; each region is API Gateway x Lambda x its DynamoDB global-table replica.
AWS publishes no SLA for a region as such (each service's commitment is already per region), so a
region adds no figure of its own. CloudWatch and the stream/notify path are not on the request path.

Default figures are AWS's published monthly uptime commitments (service credits are owed below
them); they are commitments, not measurements:
- API Gateway 99.95 % per region: https://aws.amazon.com/api-gateway/sla/
  (also the 2019-01-02 What's New "API Gateway introduces service level agreement").
- Lambda 99.95 % per region: https://aws.amazon.com/lambda/sla/
- DynamoDB 99.999 % under the Global Tables SLA, 99.99 % under the Standard SLA:
  https://aws.amazon.com/dynamodb/sla/ (restated in the DynamoDB developer guide,
  bp-global-table-design.html: single-Region tables 99.99 %, multi-Region tables 99.999 %). The
  Global Tables SLA presumes the client fails over to another replica's region when one is
  unavailable, which is what the Route 53 failover between regions does here.
- Route 53 100 % ("100% Available", DNS queries): https://aws.amazon.com/route53/sla/

Arithmetic is exact (fractions.Fraction): float rounding would make e.g. parallel(0.1, 0) come out
below 0.1, and figures near 1 would lose the digits that matter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from numbers import Rational, Real

# A Julian year, the usual basis for "downtime per year" tables.
SECONDS_PER_YEAR = Fraction(36525, 100) * 86400

COMMITMENTS_NOTE = "SLA figures are AWS's monthly uptime commitments, not measurements."


@dataclass(frozen=True)
class Component:
    """One service on the request path and its availability figure."""

    name: str  # the key --component uses
    service: str
    percent: Fraction
    scope: str  # "region": one per region, in series inside it; "global": in front of all regions
    source: str
    note: str = ""
    overridden: bool = False

    @property
    def availability(self) -> Fraction:
        return self.percent / 100


DEFAULT_COMPONENTS: dict[str, Component] = {
    c.name: c
    for c in (
        Component("route53", "Amazon Route 53", Fraction(100), "global",
                  "https://aws.amazon.com/route53/sla/"),
        Component("apigateway", "Amazon API Gateway", Fraction("99.95"), "region",
                  "https://aws.amazon.com/api-gateway/sla/"),
        Component("lambda", "AWS Lambda", Fraction("99.95"), "region",
                  "https://aws.amazon.com/lambda/sla/"),
        Component("dynamodb", "Amazon DynamoDB (global table replica)", Fraction("99.999"), "region",
                  "https://aws.amazon.com/dynamodb/sla/", note="Global Tables SLA; standard tables 99.99"),
    )
}


def _exact(value: Real | Decimal) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (Rational, float, Decimal)):
        return Fraction(value)
    raise TypeError(f"not a number: {value!r}")


def _checked(values: Iterable[Real | Decimal]) -> list[Fraction]:
    exact = [_exact(v) for v in values]
    if not exact:
        raise ValueError("at least one availability is needed")
    for value in exact:
        if not 0 <= value <= 1:
            raise ValueError(f"availability {float(value)} is outside [0, 1]")
    return exact


def series(availabilities: Iterable[Real | Decimal]) -> Fraction:
    """Every component must be up: A = prod(A_i). Inputs are fractions in [0, 1]."""
    return math.prod(_checked(availabilities), start=Fraction(1))


def parallel(availabilities: Iterable[Real | Decimal]) -> Fraction:
    """Any one alternative suffices: A = 1 - prod(1 - A_i). Inputs are fractions in [0, 1]."""
    return 1 - math.prod((1 - a for a in _checked(availabilities)), start=Fraction(1))


def nines(availability: Real | Decimal) -> float:
    """-log10(1 - A); inf when A == 1."""
    unavailability = 1 - _checked([availability])[0]
    if unavailability == 0:
        return math.inf
    # log10 of numerator and denominator separately: exact integers, so no underflow for tiny 1 - A.
    return math.log10(unavailability.denominator) - math.log10(unavailability.numerator)


def format_nines(availability: Real | Decimal) -> str:
    """Nines to one decimal, rounded DOWN so 99.9989 % never reads as "5.0" nines."""
    value = nines(availability)
    if math.isinf(value):
        return "inf"
    # The epsilon keeps an exact 3.0 (computed as 2.9999999999999996) from dropping to 2.9.
    return f"{math.floor(value * 10 + 1e-9) / 10:.1f}"


def downtime_seconds_per_year(availability: Real | Decimal) -> Fraction:
    return (1 - _checked([availability])[0]) * SECONDS_PER_YEAR


def format_downtime(seconds: Real | Decimal) -> str:
    """Days, hours and minutes, rounded to the nearest minute: "3 d 15 h 40 min", "< 1 min"."""
    exact = _exact(seconds)
    if exact < 0:
        raise ValueError("downtime cannot be negative")
    if exact == 0:
        return "0 min"
    if exact < 30:
        return "< 1 min"
    minutes = math.floor(exact / 60 + Fraction(1, 2))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{mins} min" if mins else ""]
    return " ".join(p for p in parts if p)


def _decimals_for(value: Fraction, significant: int) -> int:
    # Decimal places that show `significant` digits of a positive value.
    return significant - 1 - math.floor(math.log10(value.numerator) - math.log10(value.denominator))


def format_percent(availability: Real | Decimal, significant: int = 6) -> str:
    """A as a percentage with enough digits: `significant` digits of both A and 1 - A, so nothing
    short of exactly 1 prints as 100 (0.9999975 -> "99.99975", 0.989901 -> "98.9901")."""
    exact = _checked([availability])[0] * 100
    if exact in (0, 100):
        return str(int(exact))
    decimals = max(0, _decimals_for(exact, significant), _decimals_for(100 - exact, significant))
    # Round as an integer (half to even, exactly), then place the point by constructing the Decimal
    # from a string: construction is exact, arithmetic such as scaleb would round to 28 digits.
    text = f"{Decimal(f'{round(exact * 10**decimals)}e-{decimals}'):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


MAX_PERCENT_DIGITS = 30


def parse_percent(text: str) -> Fraction:
    """A percentage from the command line: in (0, 100], a trailing "%" allowed. ValueError otherwise."""
    raw = text.strip().removesuffix("%").strip()
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a percentage") from None
    if not number.is_finite() or not 0 < number <= 100:
        raise ValueError(f"{text!r} is outside (0, 100]")
    # Exact fractions of '1e-99999999' would take minutes and gigabytes to multiply; no SLA needs
    # more than a few nines, so the precision is bounded instead.
    digits = number.as_tuple()
    if len(digits.digits) > MAX_PERCENT_DIGITS or -int(digits.exponent) > MAX_PERCENT_DIGITS:
        raise ValueError(f"{text!r} is more precise than globalctl computes "
                         f"(at most {MAX_PERCENT_DIGITS} digits and {MAX_PERCENT_DIGITS} decimal places)")
    return Fraction(number)


def with_overrides(overrides: Iterable[str],
                   components: dict[str, Component] | None = None) -> dict[str, Component]:
    """Apply NAME=PCT overrides to the default components. ValueError names the bad entry."""
    result = dict(components or DEFAULT_COMPONENTS)
    for entry in overrides:
        name, sep, pct = entry.partition("=")
        name = name.strip().lower()
        if not sep:
            raise ValueError(f"--component {entry!r}: expected NAME=PCT")
        if name not in result:
            raise ValueError(f"--component {entry!r}: unknown component {name!r} "
                             f"(known: {', '.join(sorted(result))})")
        try:
            percent = parse_percent(pct)
        except ValueError as exc:
            raise ValueError(f"--component {entry!r}: {exc}") from None
        result[name] = replace(result[name], percent=percent, overridden=True)
    return result


@dataclass(frozen=True)
class TopologyAvailability:
    """The composite figures of N regions behind the global routing."""

    components: dict[str, Component]
    region_count: int
    region: Fraction  # one region: its components in series
    regions: Fraction  # all regions in parallel
    whole: Fraction  # the global components in series with the regions


def topology_availability(region_count: int,
                          components: dict[str, Component] | None = None) -> TopologyAvailability:
    if region_count < 1:
        raise ValueError("the topology has no region")
    comps = components or DEFAULT_COMPONENTS
    region = series(c.availability for c in comps.values() if c.scope == "region")
    regions = parallel([region] * region_count)
    whole = series([*(c.availability for c in comps.values() if c.scope == "global"), regions])
    return TopologyAvailability(comps, region_count, region, regions, whole)


def figures(availability: Real | Decimal) -> dict[str, object]:
    """The numbers of one availability, as --json prints them (nines null when A == 1)."""
    exact = _checked([availability])[0]
    downtime = downtime_seconds_per_year(exact)
    value = nines(exact)
    return {
        "availability": float(exact),
        "percent": format_percent(exact),
        "unavailability": float(1 - exact),
        "nines": None if math.isinf(value) else round(value, 4),
        "downtime_seconds_per_year": round(float(downtime), 3),
        "downtime_per_year": format_downtime(downtime),
    }
