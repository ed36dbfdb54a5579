"""The local CloudWatch through its public API (boto3 against the patched moto on loopback): the
data planes' metrics answer GetMetricStatistics and ListMetrics, an alarm that cannot be evaluated
is refused with a 400, and an evaluation pass moves an alarm to ALARM and back with CloudWatch's
reason, its history and its SNS notification.

moto's state is process-global: every test names its own metric dimensions and alarms."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from localcloud.cloudwatch import evaluation, metrics

ACCOUNT, REGION = "123456789012", "eu-west-1"


def test_published_values_answer_get_metric_statistics_and_list_metrics(aws):
    api = uuid.uuid4().hex[:10]
    dims = {"ApiId": api, "Stage": "$default"}
    second = int(time.time()) - 30
    for value in (1, 1, 1, 0):
        metrics.publish(ACCOUNT, REGION, "AWS/ApiGateway", "Count", dims, 1, "Count", second)
        metrics.publish(ACCOUNT, REGION, "AWS/ApiGateway", "5xx", dims, value, "Count", second)
    cloudwatch = aws("cloudwatch")
    stats = cloudwatch.get_metric_statistics(
        Namespace="AWS/ApiGateway", MetricName="5xx", Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=datetime.now(timezone.utc) - timedelta(minutes=5), EndTime=datetime.now(timezone.utc),
        Period=60, Statistics=["Sum", "SampleCount", "Maximum"])["Datapoints"]
    assert [(p["Sum"], p["SampleCount"], p["Maximum"]) for p in stats] == [(3.0, 4.0, 1.0)]
    listed = cloudwatch.list_metrics(Namespace="AWS/ApiGateway", Dimensions=[{"Name": "ApiId", "Value": api}])
    assert {m["MetricName"] for m in listed["Metrics"]} == {"Count", "5xx"}


def test_an_alarm_the_local_cloud_cannot_evaluate_is_refused_with_the_reason(aws):
    cloudwatch = aws("cloudwatch")
    name = f"anomaly-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as caught:
        cloudwatch.put_metric_alarm(
            AlarmName=name, ComparisonOperator="GreaterThanUpperThreshold", EvaluationPeriods=1,
            ThresholdMetricId="band", Metrics=[
                {"Id": "m", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors"},
                                           "Period": 60, "Stat": "Sum"}, "ReturnData": True},
                {"Id": "band", "Expression": "ANOMALY_DETECTION_BAND(m, 2)"}])
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert f"alarm {name} cannot be evaluated by the local cloud" in caught.value.response["Error"]["Message"]
    assert cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []


def test_an_evaluation_moves_the_alarm_to_alarm_and_back_with_reason_history_and_notification(aws):
    cloudwatch, sns, sqs = aws("cloudwatch"), aws("sns"), aws("sqs")
    suffix = uuid.uuid4().hex[:8]
    topic = sns.create_topic(Name=f"alarms-{suffix}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"alarms-{suffix}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    function = f"fn-{suffix}"
    name = f"errors-{suffix}"
    cloudwatch.put_metric_alarm(
        AlarmName=name, Namespace="AWS/Lambda", MetricName="Errors", Dimensions=[{"Name": "FunctionName",
                                                                                  "Value": function}],
        Statistic="Sum", Period=60, EvaluationPeriods=3, DatapointsToAlarm=2, Threshold=0,
        ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching", AlarmActions=[topic],
        OKActions=[topic])
    now = float(int(time.time() / 60) * 60)  # a minute boundary: the periods below are whole
    for minutes_ago, errors in ((3, 0), (2, 4), (1, 1)):
        for value in [1.0] * errors + [0.0] * 5:
            metrics.publish(ACCOUNT, REGION, "AWS/Lambda", "Errors", {"FunctionName": function}, value, "Count",
                            now - 60 * minutes_ago + 5)
    assert (REGION, name, "ALARM") in evaluation.evaluate_all(ACCOUNT, [REGION], now, 1.0)
    alarm = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateReason"].startswith("Threshold Crossed: 2 out of the last 3 datapoints [1 (")
    assert json.loads(alarm["StateReasonData"])["recentDatapoints"] == [0.0, 4.0, 1.0]
    history = cloudwatch.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert history[0]["HistorySummary"] == "Alarm updated from OK to ALARM"
    assert json.loads(history[0]["HistoryData"])["newState"]["stateValue"] == "ALARM"
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    notified = [json.loads(json.loads(m["Body"])["Message"]) for m in messages]
    assert [(n["AlarmName"], n["OldStateValue"], n["NewStateValue"]) for n in notified] == [(name, "OK", "ALARM")]

    # Three minutes later, with clean minutes since: back to OK, and the OK action is delivered.
    later = now + 180
    for minutes_ago in (3, 2, 1):
        metrics.publish(ACCOUNT, REGION, "AWS/Lambda", "Errors", {"FunctionName": function}, 0.0, "Count",
                        later - 60 * minutes_ago + 5)
    assert (REGION, name, "OK") in evaluation.evaluate_all(ACCOUNT, [REGION], later, 1.0)
    assert cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "OK"
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert [json.loads(json.loads(m["Body"])["Message"])["NewStateValue"] for m in messages] == ["OK"]


def test_a_stack_whose_alarm_cannot_be_evaluated_fails_with_the_reason(aws, stacks):
    name = f"alarmfail-{uuid.uuid4().hex[:8]}"
    template = {"Resources": {"Band": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "ComparisonOperator": "GreaterThanThreshold", "EvaluationPeriods": 1, "Threshold": 1,
        "Metrics": [{"Id": "m", "ReturnData": False, "MetricStat": {
                        "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors"}, "Period": 60, "Stat": "Sum"}},
                    {"Id": "e", "Expression": "RATE(m)", "ReturnData": True}]}}}}
    stack = stacks(REGION).create(name, template)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = aws("cloudformation", REGION).describe_stack_events(StackName=name)["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["Band"]
    assert "metric math function RATE is not supported locally" in failed[0]["ResourceStatusReason"]
