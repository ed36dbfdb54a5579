"""Embedded metric format lines into metrics (localcloud.logs.emf), as the specification reads:
directives, dimension sets, value lists, and every malformed line carrying nothing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localcloud.logs.emf import EmfMetric, metrics_of

POWERTOOLS_LINE = json.dumps({
    "_aws": {"Timestamp": 1764806400000, "CloudWatchMetrics": [{
        "Namespace": "GlobalBackend", "Dimensions": [["service"]],
        "Metrics": [{"Name": "Requests", "Unit": "Count"}, {"Name": "ServerErrors", "Unit": "Count"}]}]},
    "service": "api", "Requests": [1.0], "ServerErrors": [0.0], "function_request_id": "abc"})


def test_a_powertools_line_is_its_metrics_with_their_dimensions_units_and_timestamp():
    assert metrics_of(POWERTOOLS_LINE) == [
        EmfMetric("GlobalBackend", "Requests", {"service": "api"}, (1.0,), "Count", 1764806400000),
        EmfMetric("GlobalBackend", "ServerErrors", {"service": "api"}, (0.0,), "Count", 1764806400000)]


def test_each_dimension_set_is_its_own_metric_and_an_empty_set_has_no_dimension():
    line = json.dumps({"_aws": {"CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["a"], ["a", "b"], []],
                                                       "Metrics": [{"Name": "M"}]}]},
                       "a": "x", "b": "y", "M": 2})
    assert [m.dimensions for m in metrics_of(line)] == [{"a": "x"}, {"a": "x", "b": "y"}, {}]
    assert {m.values for m in metrics_of(line)} == {(2.0,)}


@pytest.mark.parametrize("line", [
    "START RequestId: 1 Version: $LATEST",
    '{"level": "INFO", "message": "no _aws here"}',
    '{"_aws": "not an object"}',
    '{"_aws": {"CloudWatchMetrics": "not a list"}}',
    '{"_aws": {"CloudWatchMetrics": [{"Namespace": 5, "Metrics": [{"Name": "M"}]}]}, "M": 1}',
    '{"_aws": {"CloudWatchMetrics": [{"Namespace": "N", "Metrics": [{"Name": "M"}]}]}, "M": "text"}',
    '{"_aws": {"CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["d"]], "Metrics": [{"Name": "M"}]}]}, "M": 1}',
    '{"_aws": {"CloudWatchMetrics": [{"Namespace": "N", "Metrics": [{"Name": "M"}]}]}, "M": true}',
    '{"_aws": {truncated',
])
def test_a_line_that_is_not_valid_emf_carries_no_metric(line):
    assert metrics_of(line) == []


@given(st.text())
def test_no_line_breaks_the_parser(line):
    assert isinstance(metrics_of(line), list)
