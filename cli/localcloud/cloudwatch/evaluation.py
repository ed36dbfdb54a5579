"""The local CloudWatch's alarm evaluation: every metric alarm of the served regions, evaluated
once a (scaled) period against the metric store, its state changed as SetAlarmState would, and
its actions to SNS topics delivered.

CloudWatch evaluates an alarm every minute (every 10 s for a 10 s or 30 s period). Here every
period is scaled by `period_scale` (the supervisor's --alarm-period-scale, default 1): with 0.05
a 60 s period is 3 s of wall time, so tests and the demo see an alarm fire in seconds. Periods
are aligned to multiples of the scaled period since the epoch, as CloudWatch aligns them to the
minute, and only closed periods are evaluated: the metric store has every value as it happens, so
there is no publication delay to model.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends

from . import alarms, expressions, metrics

log = logging.getLogger("localcloud.cloudwatch")
TICK_SECONDS = 1.0


def scaled(period: int, scale: float) -> int:
    """A period in wall seconds: at least one, the metric store's resolution."""
    return max(1, round(period * scale))


def _period_values(account: str, region: str, namespace: str, name: str, dimensions: dict[str, str],
                   start: int, end: int) -> alarms.PeriodValues | None:
    buckets = metrics.STORE.buckets(account, region, namespace, name, dimensions, start, end)
    client = metrics.client_values(account, region, namespace, name, dimensions, start, end)
    if not buckets and not client:
        return None
    values = [v for _, v in client]
    count = sum(b.count for b in buckets) + len(values)
    total = sum(b.total for b in buckets) + sum(values)
    low = min([b.low for b in buckets] + values)
    high = max([b.high for b in buckets] + values)
    sample = tuple(v for b in buckets for v in b.sample) + tuple(values)
    return alarms.PeriodValues(count, total, low, high, sample)


def _series(account: str, region: str, namespace: str, name: str, dimensions: dict[str, str], stat: str,
            starts: list[int], width: int) -> list[float | None]:
    return [alarms.statistic(stat, _period_values(account, region, namespace, name, dimensions, s, s + width))
            for s in starts]


def definition_problem(alarm: Any) -> str | None:
    """Why the local CloudWatch cannot evaluate this alarm (None: it can)."""
    try:
        alarms.check(alarm.comparison_operator, alarm.treat_missing_data,
                     alarm.extended_statistic or alarm.statistic)
        queries = alarm.metric_data_queries or []
        ids = [q.id for q in queries]
        for query in queries:
            if query.expression:
                expressions.parse(query.expression, ids)
            elif query.metric_stat:
                alarms.check(alarm.comparison_operator, None, query.metric_stat.stat)
        if queries and sum(1 for q in queries if q.return_data in (None, True, "true", "True")) != 1 and \
                not any(q.expression for q in queries):
            return "a metric math alarm needs exactly one query that returns data"
    except (alarms.UnsupportedAlarm, expressions.UnsupportedExpression) as error:
        return str(error)
    return None


def alarm_period(alarm: Any) -> int:
    """The alarm's period: its own, or (metric math) the longest of its metric queries'."""
    queries = alarm.metric_data_queries or []
    return int(alarm.period or max((int(q.metric_stat.period or 60) for q in queries if q.metric_stat), default=60))


def evaluate_alarm(account: str, region: str, alarm: Any, now: float, scale: float) -> alarms.Decision:
    """The alarm's state now, from the metric store (pure apart from reading the store)."""
    queries = alarm.metric_data_queries or []
    period = alarm_period(alarm)
    width = scaled(period, scale)
    n = int(alarm.evaluation_periods)
    last_end = math.floor(now / width) * width
    starts = [last_end - width * (n + alarms.EXTRA_PERIODS - i) for i in range(n + alarms.EXTRA_PERIODS)]
    if queries:
        series: dict[str, list[float | None]] = {}
        for query in queries:
            if query.metric_stat:
                metric = query.metric_stat.metric
                dims = {d.name: d.value for d in metric.dimensions}
                series[query.id] = _series(account, region, metric.namespace, metric.metric_name, dims,
                                           query.metric_stat.stat, starts, width)
        returned = next((q for q in queries if q.expression and q.return_data not in (False, "false", "False")),
                        None) or next((q for q in queries if q.return_data not in (False, "false", "False")))
        values = (expressions.evaluate(returned.expression, series, len(starts)) if returned.expression
                  else series[returned.id])
        stat = next((q.metric_stat.stat for q in queries if q.metric_stat), "")
    else:
        stat = alarm.extended_statistic or alarm.statistic
        dims = {d.name: d.value for d in alarm.dimensions}
        values = _series(account, region, alarm.namespace, alarm.metric_name, dims, stat, starts, width)
        if alarm.evaluate_low_sample_count_percentile == "ignore":
            counts = [int(alarms.statistic("SampleCount", _period_values(
                account, region, alarm.namespace, alarm.metric_name, dims, s, s + width)) or 0) for s in starts[-n:]]
            if alarms.low_sample_count(stat, counts):  # the state does not change
                return alarms.Decision(alarm.state_value, alarm.state_reason, alarm.state_reason_data)
    return alarms.decide(values, starts, comparison=alarm.comparison_operator, threshold=float(alarm.threshold),
                         evaluation_periods=n, datapoints_to_alarm=alarm.datapoints_to_alarm,
                         treatment=alarm.treat_missing_data, current=alarm.state_value, period=period,
                         statistic_name=stat, query_date=now)


def apply(account: str, region: str, alarm: Any, decision: alarms.Decision, now: float) -> bool:
    """Set the alarm's state when it changed (history and actions follow); True when it did."""
    if decision.state == alarm.state_value:
        return False
    old = alarm.state_value
    alarm.update_state(decision.reason, decision.reason_data, decision.state)
    stamp = datetime.fromtimestamp(now, tz=timezone.utc)
    # moto's history entry describes the state left behind; CloudWatch's describes the change.
    alarm.history[-1] = ("StateUpdate", f"Alarm updated from {old} to {decision.state}",
                         json.dumps({"version": "1.0", "oldState": {"stateValue": old},
                                     "newState": {"stateValue": decision.state, "stateReason": decision.reason,
                                                  "stateReasonData": json.loads(decision.reason_data)}}),
                         decision.state, stamp.replace(tzinfo=None))
    _notify(account, region, alarm, old, decision, stamp)
    return True


def _notify(account: str, region: str, alarm: Any, old: str, decision: alarms.Decision, stamp: datetime) -> None:
    """The alarm's actions for its new state, when they are SNS topics, get CloudWatch's message."""
    if not alarm.actions_enabled:
        return
    actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions,
               "INSUFFICIENT_DATA": alarm.insufficient_data_actions}[decision.state] or []
    topics = [arn for arn in actions if arn.startswith("arn:aws:sns:")]
    if not topics:
        return
    from moto.sns.models import sns_backends

    message = json.dumps({
        "AlarmName": alarm.name, "AlarmDescription": alarm.description, "AWSAccountId": account,
        "NewStateValue": decision.state, "NewStateReason": decision.reason, "OldStateValue": old,
        "StateChangeTime": stamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000"), "Region": region,
        "AlarmArn": getattr(alarm, "alarm_arn", ""),
        "Trigger": {"MetricName": alarm.metric_name, "Namespace": alarm.namespace,
                    "Statistic": alarm.statistic, "ExtendedStatistic": alarm.extended_statistic,
                    "Period": alarm.period, "EvaluationPeriods": alarm.evaluation_periods,
                    "ComparisonOperator": alarm.comparison_operator, "Threshold": alarm.threshold,
                    "TreatMissingData": alarm.treat_missing_data}})
    for topic in topics:
        topic_region = topic.split(":")[3]
        try:
            sns_backends[account][topic_region].publish(
                message=message, arn=topic, subject=f'{decision.state}: "{alarm.name}" in {region}'[:100])
        except Exception:  # noqa: BLE001 - a deleted topic: CloudWatch records a failed action and goes on
            log.warning("alarm %s: action to %s failed", alarm.name, topic, exc_info=True)


def evaluate_all(account: str, regions: Iterable[str], now: float, scale: float,
                 due: dict[tuple[str, str], float] | None = None) -> list[tuple[str, str, str]]:
    """One pass: every alarm whose period closed since it was last evaluated. (region, alarm, new
    state) of each one that changed. `due` remembers when each alarm is next due (None: all now)."""
    changed = []
    for region in regions:
        backend = cloudwatch_backends[account][region]
        for alarm in list(backend.alarms.values()):
            if getattr(alarm, "rule", None):
                continue  # a composite alarm: not evaluated locally
            key = (region, alarm.name)
            if due is not None and due.get(key, 0) > now:
                continue
            try:
                decision = evaluate_alarm(account, region, alarm, now, scale)
            except Exception:  # noqa: BLE001 - one broken alarm must not stop the others
                log.exception("evaluating alarm %s in %s failed", alarm.name, region)
                continue
            if due is not None:
                width = scaled(alarm_period(alarm), scale)
                due[key] = (math.floor(now / width) + 1) * width
            if apply(account, region, alarm, decision, now):
                changed.append((region, alarm.name, decision.state))
    return changed


class AlarmEvaluator:
    """The supervisor's evaluation thread."""

    def __init__(self, account: str, regions: Iterable[str], scale: float = 1.0):
        self.account = account
        self.regions = sorted(set(regions))
        self.scale = scale
        self._stop = threading.Event()
        self._due: dict[tuple[str, str], float] = {}
        self._thread = threading.Thread(target=self._run, name="cloudwatch-alarms", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS * min(1.0, max(self.scale, 0.05))):
            try:
                for region, name, state in evaluate_all(self.account, self.regions, time.time(), self.scale,
                                                        self._due):
                    log.info("alarm %s in %s is now %s", name, region, state)
            except Exception:  # noqa: BLE001
                log.exception("alarm evaluation pass failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
