"""localcloud.cloudwatch.patch: AWS::CloudWatch::Alarm in templates becomes a real alarm.

Plain moto 5.2.5 has PutMetricAlarm but no CloudFormation model for alarms: a stack reports
CREATE_COMPLETE and describe_alarms finds nothing (../shared/design.md, "measured gaps"), so a
rollout gate that reads alarm states would see no alarm at all.
Property names: CloudFormation template reference, AWS::CloudWatch::Alarm (Metrics: MetricDataQuery
with Id, Expression, MetricStat, ReturnData; "AlarmName: Update requires: Replacement").
"""

from __future__ import annotations

from typing import Any

from .conftest import unique

REGION = "us-east-1"


def alarms_template(api_id: str, simple_name: str, threshold: float) -> dict[str, Any]:
    return {"Resources": {
        "Errors": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmName": simple_name, "AlarmDescription": "5xx on the API",
            "Namespace": "AWS/ApiGateway", "MetricName": "5xx", "Statistic": "Sum",
            "Dimensions": [{"Name": "ApiId", "Value": api_id}],
            "Period": 60, "EvaluationPeriods": 2, "DatapointsToAlarm": 2, "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching"}},
        "ErrorRate": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "ComparisonOperator": "GreaterThanThreshold", "EvaluationPeriods": 3, "Threshold": 5,
            "TreatMissingData": "notBreaching",
            "Metrics": [
                {"Id": "rate", "Label": "5xx rate", "ReturnData": True,
                 "Expression": "IF(requests > 0, 100 * errors / requests, 0)"},
                {"Id": "errors", "ReturnData": False, "MetricStat": {
                    "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "5xx",
                               "Dimensions": [{"Name": "ApiId", "Value": api_id}]},
                    "Period": 60, "Stat": "Sum"}},
                {"Id": "requests", "ReturnData": False, "MetricStat": {
                    "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "Count",
                               "Dimensions": [{"Name": "ApiId", "Value": api_id}]},
                    "Period": 60, "Stat": "SampleCount"}},
            ]}},
    }, "Outputs": {"RateAlarm": {"Value": {"Ref": "ErrorRate"}}}}


def test_alarms_are_created_with_their_properties_and_deleted_with_the_stack(aws, stacks):
    name, api_id, simple = unique("alarms"), unique("api"), unique("errors")
    assert stacks(REGION).create(name, alarms_template(api_id, simple, 1))["StackStatus"] == "CREATE_COMPLETE"
    rate_name = stacks(REGION).outputs(name)["RateAlarm"]
    assert rate_name == stacks(REGION).physical_id(name, "ErrorRate")
    cloudwatch = aws("cloudwatch", REGION)

    alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms(AlarmNames=[simple, rate_name])["MetricAlarms"]}
    assert set(alarms) == {simple, rate_name}

    errors = alarms[simple]
    assert (errors["Namespace"], errors["MetricName"], errors["Statistic"]) == ("AWS/ApiGateway", "5xx", "Sum")
    assert errors["Dimensions"] == [{"Name": "ApiId", "Value": api_id}]
    assert (errors["Period"], errors["EvaluationPeriods"], errors["DatapointsToAlarm"]) == (60, 2, 2)
    assert errors["Threshold"] == 1.0
    assert errors["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert errors["TreatMissingData"] == "notBreaching"
    assert errors["AlarmDescription"] == "5xx on the API"

    rate = alarms[rate_name]
    assert rate["Threshold"] == 5.0 and rate["EvaluationPeriods"] == 3
    queries = {q["Id"]: q for q in rate["Metrics"]}
    assert set(queries) == {"rate", "errors", "requests"}
    assert queries["rate"]["Expression"] == "IF(requests > 0, 100 * errors / requests, 0)"
    assert queries["rate"]["ReturnData"] is True
    assert queries["errors"]["ReturnData"] is False
    stat = queries["requests"]["MetricStat"]
    assert (stat["Metric"]["MetricName"], stat["Stat"], stat["Period"]) == ("Count", "SampleCount", 60)
    assert stat["Metric"]["Dimensions"] == [{"Name": "ApiId", "Value": api_id}]

    assert stacks(REGION).delete(name) == "DELETE_COMPLETE"
    assert cloudwatch.describe_alarms(AlarmNames=[simple, rate_name])["MetricAlarms"] == []


def test_an_alarm_update_changes_it_in_place(aws, stacks):
    name, api_id, simple = unique("alarmupd"), unique("api"), unique("errors")
    stacks(REGION).create(name, alarms_template(api_id, simple, 1))
    assert stacks(REGION).update(name, alarms_template(api_id, simple, 10))["StackStatus"] == "UPDATE_COMPLETE"
    alarms = aws("cloudwatch", REGION).describe_alarms(AlarmNamePrefix=simple)["MetricAlarms"]
    assert [(a["AlarmName"], a["Threshold"]) for a in alarms] == [(simple, 10.0)]
