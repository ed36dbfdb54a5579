"""How a CloudWatch metric alarm decides its state, as the documentation describes it: pure, no
clock and no moto (evaluation.py feeds it).

- Per period, the alarm's statistic over the period's values: SampleCount, Sum, Average, Minimum,
  Maximum, or the percentile pNN ("Statistics definitions",
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html);
  the percentile is the nearest-rank one over the values (or over a uniform sample of them above
  metrics.SAMPLE_PER_SECOND values a second).
- A datapoint breaches when it compares with the threshold by the ComparisonOperator.
- M out of N ("Evaluating an alarm",
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html): ALARM
  when at least DatapointsToAlarm (M) of the last EvaluationPeriods (N) datapoints breach.
- Missing data ("Configuring how CloudWatch alarms treat missing data",
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html):
  the evaluation range is longer than N periods (here N + EXTRA_PERIODS). With at least N real
  datapoints in it, the most recent N real ones decide and the treatment is not used. With none,
  missing -> INSUFFICIENT_DATA, ignore -> the current state, breaching -> ALARM,
  notBreaching -> OK. With some, the real ones are all used and the gap up to N is filled as the
  treatment says (breaching or not breaching); for missing and ignore the real ones alone decide,
  against min(M, real ones), the way the documented `- - X - -` row goes to ALARM.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

EXTRA_PERIODS = 2
STATISTICS = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")
OPERATORS = {
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")


class UnsupportedAlarm(ValueError):
    """An alarm the local CloudWatch cannot evaluate (the reason says what)."""


@dataclass(frozen=True)
class PeriodValues:
    """What one period holds: every value's count/sum/min/max and the values kept for percentiles."""

    count: int
    total: float
    low: float
    high: float
    sample: tuple[float, ...] = ()


def statistic(name: str, period: PeriodValues | None) -> float | None:
    """The statistic of one period; None when the period has no value."""
    if period is None or period.count == 0:
        return None
    if name == "SampleCount":
        return float(period.count)
    if name == "Sum":
        return period.total
    if name == "Average":
        return period.total / period.count
    if name == "Minimum":
        return period.low
    if name == "Maximum":
        return period.high
    return percentile(name, period.sample)


def percentile(name: str, values: Sequence[float]) -> float | None:
    """pNN (nearest rank): the smallest value with at least NN % of the values at or below it."""
    try:
        rank = float(name[1:]) if name[:1] == "p" else math.nan
    except ValueError:
        rank = math.nan
    if not 0 <= rank <= 100:
        raise UnsupportedAlarm(f"statistic {name!r} is not supported locally "
                               f"(supported: {', '.join(STATISTICS)}, p0 to p100)")
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def low_sample_count(statistic_name: str | None, counts: Sequence[int]) -> bool:
    """True when a percentile alarm's periods hold too few values to be statistically significant:
    fewer than 10/(1-p) for p >= 0.5, 10/p below ("Percentile-based alarms and low data samples",
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/percentiles-with-low-samples.html).
    Periods without any value are missing data, not low samples."""
    if not statistic_name or statistic_name[:1] != "p":
        return False
    share = float(statistic_name[1:]) / 100
    if share <= 0 or share >= 1:
        return False
    minimum = round(10 / (1 - share) if share >= 0.5 else 10 / share, 9)  # 10/(1-0.9) is 100.00000000000001
    return any(0 < count < minimum for count in counts)


def check(comparison: str, treatment: str | None, statistic_name: str | None) -> None:
    if comparison not in OPERATORS:
        raise UnsupportedAlarm(f"ComparisonOperator {comparison} is not supported locally "
                               f"(supported: {', '.join(OPERATORS)})")
    if (treatment or "missing") not in TREATMENTS:
        raise UnsupportedAlarm(f"TreatMissingData {treatment!r} is not one of {', '.join(TREATMENTS)}")
    if statistic_name and statistic_name not in STATISTICS:
        percentile(statistic_name, [0.0])


@dataclass(frozen=True)
class Decision:
    state: str  # OK | ALARM | INSUFFICIENT_DATA
    reason: str
    reason_data: str  # JSON, as StateReasonData


def decide(values: Sequence[float | None], timestamps: Sequence[float], *, comparison: str, threshold: float,
           evaluation_periods: int, datapoints_to_alarm: int | None, treatment: str | None, current: str,
           period: int, statistic_name: str, query_date: float) -> Decision:
    """The alarm's state from its datapoints over the evaluation range, oldest first (None: missing)."""
    breaches, words = OPERATORS[comparison]
    n = evaluation_periods
    m = datapoints_to_alarm or n
    treatment = treatment or "missing"
    real = [(stamp, value) for stamp, value in zip(timestamps, values, strict=True) if value is not None]
    recent = list(reversed(real))[:n]  # most recent first
    breaching = sum(1 for _, value in recent if breaches(value, threshold))
    if len(real) >= n:
        state = "ALARM" if breaching >= m else "OK"
    elif not real:
        state = {"missing": "INSUFFICIENT_DATA", "ignore": current, "breaching": "ALARM",
                 "notBreaching": "OK"}[treatment]
    elif treatment == "breaching":
        state = "ALARM" if breaching + (n - len(real)) >= m else "OK"
    elif treatment == "notBreaching":
        state = "ALARM" if breaching >= m else "OK"
    else:  # missing, ignore: the real datapoints alone decide
        state = "ALARM" if breaching >= min(m, len(real)) else "OK"
    shown = ", ".join(f"{value:g} ({_stamp(stamp)})" for stamp, value in recent)
    if not real:
        reason = f"Insufficient Data: {n} datapoints were unknown." if state == "INSUFFICIENT_DATA" else (
            f"Threshold Crossed: no datapoints were received for {n} periods and {n} missing datapoints were "
            f"treated as [{'Breaching' if treatment == 'breaching' else 'NonBreaching'}].")
    else:
        count = breaching if state == "ALARM" else len(recent) - breaching
        relation = words if state == "ALARM" else f"not {words}"
        reason = (f"Threshold Crossed: {count} out of the last {len(recent)} datapoints [{shown}] were {relation} "
                  f"the threshold ({threshold:g}) (minimum {m} datapoint{'s' if m != 1 else ''} for "
                  f"{'OK -> ALARM' if state == 'ALARM' else 'ALARM -> OK'} transition).")
    data = {"version": "1.0", "queryDate": _iso(query_date), "statistic": statistic_name, "period": period,
            "recentDatapoints": [value for _, value in reversed(recent)], "threshold": threshold,
            "evaluatedDatapoints": [{"timestamp": _iso(stamp), "value": value} for stamp, value in recent]}
    if real:
        data["startDate"] = _iso(recent[-1][0])
    return Decision(state, reason, json.dumps(data))


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%d/%m/%y %H:%M:%S")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
