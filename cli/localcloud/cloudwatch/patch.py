"""CloudWatch as the local cloud needs it, over moto's:

- alarms declared in templates (AWS::CloudWatch::Alarm): moto has the PutMetricAlarm API but no
  CloudFormation model, so a stack would create no alarm. Metric-math alarms keep their queries;
- PutMetricAlarm (and so a stack's alarm) refuses, with a 400 ValidationError naming the reason, an
  alarm the local evaluator cannot evaluate (evaluation.definition_problem): it must never sit in
  OK while its metric breaches;
- DescribeAlarmHistory, which moto does not implement: the state updates the evaluator made.
"""

from __future__ import annotations

from typing import Any

from moto.cloudwatch.exceptions import ValidationError
from moto.cloudwatch.models import (CloudWatchBackend, Dimension, Metric, MetricDataQuery, MetricStat,
                                    cloudwatch_backends)
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult
from moto.core.common_models import CloudFormationModel

from ..cloudformation import EXTRA_MODELS


def _queries(metrics: list[dict[str, Any]] | None) -> list[MetricDataQuery] | None:
    if not metrics:
        return None
    queries = []
    for query in metrics:
        stat = query.get("MetricStat")
        metric_stat = None
        if stat:
            metric = stat["Metric"]
            dimensions = [Dimension(name=d["Name"], value=d["Value"]) for d in metric.get("Dimensions", [])]
            metric_stat = MetricStat(metric=Metric(metric_name=metric["MetricName"], namespace=metric["Namespace"],
                                                   dimensions=dimensions),
                                     period=stat.get("Period"), stat=stat.get("Stat"), unit=stat.get("Unit"))
        queries.append(MetricDataQuery(query_id=query["Id"], label=query.get("Label"), period=query.get("Period"),
                                       return_data=query.get("ReturnData"), expression=query.get("Expression"),
                                       metric_stat=metric_stat))
    return queries


class Alarm(CloudFormationModel):
    def __init__(self, name: str):
        self.name = name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> Alarm:
        p = cloudformation_json["Properties"]
        name = p.get("AlarmName") or resource_name
        dimensions = [{"Name": d["Name"], "Value": d["Value"]} for d in p.get("Dimensions", [])]
        cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name, namespace=p.get("Namespace"), metric_name=p.get("MetricName"),
            comparison_operator=p["ComparisonOperator"], evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p["Period"]) if p.get("Period") else None, threshold=float(p["Threshold"]) if "Threshold" in p else None,
            statistic=p.get("Statistic"), description=p.get("AlarmDescription"), dimensions=dimensions,
            alarm_actions=p.get("AlarmActions", []), metric_data_queries=_queries(p.get("Metrics")),
            datapoints_to_alarm=int(p["DatapointsToAlarm"]) if p.get("DatapointsToAlarm") else None,
            extended_statistic=p.get("ExtendedStatistic"), ok_actions=p.get("OKActions", []),
            insufficient_data_actions=p.get("InsufficientDataActions", []), unit=p.get("Unit"),
            actions_enabled=str(p.get("ActionsEnabled", True)).lower() == "true",
            treat_missing_data=p.get("TreatMissingData"), threshold_metric_id=p.get("ThresholdMetricId"),
            evaluate_low_sample_count_percentile=p.get("EvaluateLowSampleCountPercentile"),
        )
        return cls(name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Alarm, new_resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> Alarm:
        # PutMetricAlarm replaces an alarm of the same name in place (its state is kept by AWS too).
        cloudformation_json = {**cloudformation_json, "Properties": {
            **cloudformation_json["Properties"], "AlarmName": original_resource.name}}
        return cls.create_from_cloudformation_json(original_resource.name, cloudformation_json, account_id,
                                                   region_name)

    def delete(self, account_id: str, region: str) -> None:
        cloudwatch_backends[account_id][region].delete_alarms([self.name])


def _checked_put_metric_alarm(original: Any) -> Any:
    def put_metric_alarm(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        from .evaluation import definition_problem

        previous = self.alarms.get(name)
        alarm = original(self, name, *args, **kwargs)
        problem = definition_problem(alarm)
        if problem:
            if previous is None:
                self.alarms.pop(name, None)
            else:
                self.alarms[name] = previous
            raise ValidationError(f"alarm {name} cannot be evaluated by the local cloud: {problem}")
        return alarm
    return put_metric_alarm


def describe_alarm_history(self: Any) -> ActionResult:
    name = self._get_param("AlarmName")
    kind = self._get_param("HistoryItemType")
    items = []
    for alarm in self.cloudwatch_backend.alarms.values():
        if name and alarm.name != name:
            continue
        for item_type, summary, data, _state, stamp in alarm.history:
            if kind and item_type != kind:
                continue
            items.append({"AlarmName": alarm.name, "AlarmType": "MetricAlarm", "Timestamp": stamp,
                          "HistoryItemType": item_type, "HistorySummary": summary, "HistoryData": data})
    items.sort(key=lambda item: item["Timestamp"], reverse=self._get_param("ScanBy") != "TimestampAscending")
    return ActionResult({"AlarmHistoryItems": items[: int(self._get_param("MaxRecords") or 100)]})


def install() -> None:
    EXTRA_MODELS[Alarm.cloudformation_type()] = Alarm
    CloudWatchBackend.put_metric_alarm = _checked_put_metric_alarm(CloudWatchBackend.put_metric_alarm)
    CloudWatchResponse.describe_alarm_history = describe_alarm_history
