"""How long a region must bake under live traffic before its alarms could have fired: the bake's
minimum, derived from the alarms the region has deployed.

An alarm with Period P that goes to ALARM on M breaching datapoints (DatapointsToAlarm, or
EvaluationPeriods when it is not set) needs M periods of the new release's traffic. Then the last
of those datapoints must reach CloudWatch, and the alarm must be evaluated once more:

- publication: API Gateway and Lambda send their metrics "in one-minute periods" / "in 1-minute
  intervals" (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html,
  https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html); a custom metric is
  assumed no faster;
- evaluation: an alarm with a period of a minute or more "is evaluated every minute"
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html).

So on AWS an alarm's bound is M x P + 60 s of publication + 60 s of evaluation; the shipped
alarms (two of three one-minute datapoints) need 240 s. A bake shorter than the largest bound
ends before its slowest alarm could say anything: that is a bake that cannot fail.

On the local cloud the data planes publish each datapoint as it happens and every period is scaled
by the cloud's alarm_period_scale; an alarm is evaluated as each period closes. The bake may start
up to a period before the first whole one, and the last period's evaluation can fall a tick after
it closes: the bound is (M x P + 2 x P) x scale.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

AWS_PUBLICATION_SECONDS = 60
AWS_EVALUATION_SECONDS = 60


@dataclass(frozen=True)
class AlarmBound:
    """The seconds of bake after which `alarm` could have fired, and how they add up."""

    alarm: str
    seconds: int
    datapoints: int
    period: int
    delay: int

    def explain(self) -> str:
        return f"{self.alarm}: {self.datapoints} x {self.period} s + {self.delay} s"


def _period(alarm: Mapping[str, Any]) -> int:
    """The alarm's period: its own, or (a metric-math alarm) the longest of its metric queries."""
    if alarm.get("Period"):
        return int(alarm["Period"])
    periods = [int(q["MetricStat"]["Period"]) for q in alarm.get("Metrics", []) or []
               if (q.get("MetricStat") or {}).get("Period")]
    periods += [int(q["Period"]) for q in alarm.get("Metrics", []) or [] if q.get("Period")]
    return max(periods, default=60)


def bound(alarm: Mapping[str, Any], scale: float = 1.0, local: bool = False) -> AlarmBound:
    """One alarm (a DescribeAlarms MetricAlarms entry): its bound on AWS, or on a local cloud whose
    periods are scaled by `scale`."""
    period = _period(alarm)
    datapoints = int(alarm.get("DatapointsToAlarm") or alarm.get("EvaluationPeriods") or 1)
    if local:
        delay = 2 * period
        seconds = math.ceil((datapoints * period + delay) * scale)
        return AlarmBound(alarm["AlarmName"], seconds, datapoints, round(period * scale, 3),
                          round(delay * scale, 3))
    delay = AWS_PUBLICATION_SECONDS + AWS_EVALUATION_SECONDS
    return AlarmBound(alarm["AlarmName"], datapoints * period + delay, datapoints, period, delay)


def minimum(alarms: Iterable[Mapping[str, Any]], scale: float = 1.0, local: bool = False) -> AlarmBound | None:
    """The largest bound among `alarms` (None: no alarm, nothing to wait for)."""
    bounds = [bound(alarm, scale, local) for alarm in alarms]
    return max(bounds, key=lambda b: (b.seconds, b.alarm), default=None)
