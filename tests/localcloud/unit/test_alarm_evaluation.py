"""The local CloudWatch's alarm decisions (localcloud.cloudwatch.alarms) and metric math
(localcloud.cloudwatch.expressions), against the documented rules: M out of N, each missing-data
treatment, the comparison operators, statistics and percentiles."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localcloud.cloudwatch import alarms, expressions

X, O, _ = 10.0, 0.0, None  # breaching, not breaching (threshold 5, GreaterThanThreshold), missing


def decide(points, treatment="missing", m=3, n=3, current="OK", comparison="GreaterThanThreshold"):
    return alarms.decide(points, [1_000_000 + 60 * i for i in range(len(points))], comparison=comparison,
                         threshold=5.0, evaluation_periods=n, datapoints_to_alarm=m, treatment=treatment,
                         current=current, period=60, statistic_name="Sum", query_date=2_000_000).state


@pytest.mark.parametrize(("points", "states"), [
    # (evaluation range oldest first; 3 of 3) -> state per treatment: missing, ignore, breaching, notBreaching
    ([O, _, X, _, X], ("OK", "OK", "OK", "OK")),  # three real datapoints: they decide, the treatment is not used
    ([_, _, _, _, _], ("INSUFFICIENT_DATA", "OK", "ALARM", "OK")),  # nothing: ignore keeps the current OK
    ([O, X, X, _, X], ("ALARM", "ALARM", "ALARM", "ALARM")),  # the three most recent real ones breach
    ([_, _, X, _, _], ("ALARM", "ALARM", "ALARM", "OK")),  # one real breach: filled as the treatment says
    ([_, _, O, _, _], ("OK", "OK", "OK", "OK")),
])
def test_the_documented_missing_data_rows(points, states):
    for treatment, state in zip(("missing", "ignore", "breaching", "notBreaching"), states, strict=True):
        assert decide(points, treatment) == state, treatment


def test_ignore_keeps_whatever_state_the_alarm_was_in_when_nothing_arrives():
    assert decide([_, _, _, _, _], "ignore", current="ALARM") == "ALARM"
    assert decide([_, _, _, _, _], "ignore", current="INSUFFICIENT_DATA") == "INSUFFICIENT_DATA"


@pytest.mark.parametrize(("points", "state"), [
    ([O, O, X, O, X], "ALARM"),  # 2 of the last 3 breach
    ([O, O, X, O, O], "OK"),
    ([X, X, O, O, X], "OK"),  # older breaches fall out of the last 3
])
def test_m_out_of_n(points, state):
    assert decide(points, "notBreaching", m=2, n=3) == state


@pytest.mark.parametrize(("comparison", "value", "breaches"), [
    ("GreaterThanThreshold", 5.0, False), ("GreaterThanOrEqualToThreshold", 5.0, True),
    ("LessThanThreshold", 5.0, False), ("LessThanOrEqualToThreshold", 5.0, True),
    ("LessThanThreshold", 4.0, True), ("GreaterThanThreshold", 6.0, True),
])
def test_comparison_operators(comparison, value, breaches):
    assert decide([value], "notBreaching", m=1, n=1, comparison=comparison) == ("ALARM" if breaches else "OK")


def test_the_reason_names_the_datapoints_and_the_data_is_cloudwatchs_json():
    decision = alarms.decide([O, X, X], [1_000_000, 1_000_060, 1_000_120], comparison="GreaterThanThreshold",
                             threshold=5.0, evaluation_periods=3, datapoints_to_alarm=2, treatment="notBreaching",
                             current="OK", period=60, statistic_name="Sum", query_date=1_000_200)
    assert decision.state == "ALARM"
    assert decision.reason.startswith("Threshold Crossed: 2 out of the last 3 datapoints [10 (12/01/70 13:48:40), "
                                      "10 (12/01/70 13:47:40), 0 (12/01/70 13:46:40)] were greater than the "
                                      "threshold (5) (minimum 2 datapoints for OK -> ALARM transition).")
    data = json.loads(decision.reason_data)
    assert (data["version"], data["statistic"], data["period"], data["threshold"]) == ("1.0", "Sum", 60, 5.0)
    assert data["recentDatapoints"] == [0.0, 10.0, 10.0]


def test_statistics_and_percentiles():
    values = alarms.PeriodValues(count=4, total=10.0, low=1.0, high=4.0, sample=(1.0, 2.0, 3.0, 4.0))
    assert [alarms.statistic(s, values) for s in alarms.STATISTICS] == [4.0, 10.0, 2.5, 1.0, 4.0]
    assert alarms.statistic("p50", values) == 2.0 and alarms.statistic("p99", values) == 4.0
    assert alarms.statistic("Sum", None) is None
    with pytest.raises(alarms.UnsupportedAlarm, match="p0 to p100"):
        alarms.percentile("p101", [1.0])
    with pytest.raises(alarms.UnsupportedAlarm, match="tm99"):
        alarms.check("GreaterThanThreshold", None, "tm99")


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=200), st.integers(0, 100))
def test_a_percentile_is_one_of_the_values_and_ordered_by_rank(values, rank):
    found = alarms.percentile(f"p{rank}", values)
    assert found in values and min(values) <= found <= max(values)
    assert found <= alarms.percentile("p100", values) == max(values)


def test_the_shipped_error_rate_expression():
    series = {"errors": [0.0, 3.0, None, 5.0], "requests": [0.0, 10.0, 4.0, 0.0]}
    # No request: 0 (the IF), 3 of 10: 30 %, errors missing: no value, a division by zero is guarded by IF.
    assert expressions.evaluate("IF(requests > 0, 100 * errors / requests, 0)", series, 4) == [0.0, 30.0, None, 0.0]


@pytest.mark.parametrize(("expression", "expected"), [
    ("a / b", [None, 2.0]),  # division by zero: no value
    ("a + b * 2", [5.0, 8.0]),
    ("-a", [-5.0, -4.0]),
    ("IF(a > 4, a)", [5.0, None]),
    ("IF(a >= 4 AND b != 0, 1, 0)", [0.0, 1.0]),
    ("a > 4 || b > 1", [1.0, 1.0]),
    ("ABS(b - a)", [5.0, 2.0]),
])
def test_metric_math_operators(expression, expected):
    assert expressions.evaluate(expression, {"a": [5.0, 4.0], "b": [0.0, 2.0]}, 2) == expected


@pytest.mark.parametrize(("expression", "reason"), [
    ("ANOMALY_DETECTION_BAND(a)", "ANOMALY_DETECTION_BAND is not supported locally"),
    ("a + unknown", "names 'unknown', not one of the alarm's query ids"),
    ("a.b", "Attribute is not supported"),
    ("a[0]", "Subscript is not supported"),
    ("'text'", "is not a number"),
    ("a +", "does not parse"),
    ("IF(a)", "IF takes 2 to 3 arguments"),
    ("__import__('os')", "__import__ is not supported locally"),
])
def test_an_expression_that_cannot_be_evaluated_is_refused_with_the_reason(expression, reason):
    with pytest.raises(expressions.UnsupportedExpression, match=reason.replace("(", r"\(").replace("[", r"\[")):
        expressions.parse(expression, ["a", "b"])


def test_the_metric_store_keeps_each_value_in_its_own_second_and_samples_busy_seconds():
    from localcloud.cloudwatch.metrics import SAMPLE_PER_SECOND, MetricStore

    store = MetricStore(retention_seconds=100)
    dims = {"FunctionName": "f"}
    for second, value in ((1000, 1.0), (1002, 2.0), (1001, 3.0), (1000, 4.0)):  # out of order
        store.put("a", "r", "AWS/Lambda", "Duration", dims, value, "Milliseconds", second)
    found = store.buckets("a", "r", "AWS/Lambda", "Duration", dims, 0, 2000)
    assert [(b.second, b.count, b.total) for b in found] == [(1000, 2, 5.0), (1001, 1, 3.0), (1002, 1, 2.0)]
    for i in range(SAMPLE_PER_SECOND * 3):
        store.put("a", "r", "AWS/Lambda", "Duration", dims, float(i), "Milliseconds", 1003)
    busy = store.buckets("a", "r", "AWS/Lambda", "Duration", dims, 1003, 1004)[0]
    assert (busy.count, busy.low, busy.high) == (SAMPLE_PER_SECOND * 3, 0.0, SAMPLE_PER_SECOND * 3 - 1.0)
    assert len(busy.sample) == SAMPLE_PER_SECOND and set(busy.sample) <= set(map(float, range(busy.count)))
    store.put("a", "r", "AWS/Lambda", "Duration", dims, 1.0, "Milliseconds", 1200)  # 100 s of retention
    assert [b.second for b in store.buckets("a", "r", "AWS/Lambda", "Duration", dims, 0, 2000)] == [1200]


@pytest.mark.parametrize(("statistic", "counts", "low"), [
    ("p99", [999], True), ("p99", [1000], False), ("p90", [99, 100], True), ("p90", [100, 0], False),
    ("p10", [99], True), ("p10", [100], False), ("p50", [19], True), ("Sum", [1], False), ("p100", [1], False),
])
def test_low_sample_counts_for_percentile_alarms_follow_the_documented_minimum(statistic, counts, low):
    assert alarms.low_sample_count(statistic, counts) is low
