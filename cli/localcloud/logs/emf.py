"""The embedded metric format: a JSON log line whose `_aws.CloudWatchMetrics` directives make
CloudWatch Logs publish metrics from the line's own members ("Specification: Embedded metric
format", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).

Pure: a line in, the metrics it carries out. Per directive, each dimension set (a list of member
names) and each metric (Name, Unit) is one metric whose value (a number, or a list of numbers) is
the member of that name. A line that is not valid EMF carries no metric: CloudWatch drops it too,
and here it stays a log line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_DIMENSIONS = 30


@dataclass(frozen=True)
class EmfMetric:
    namespace: str
    name: str
    dimensions: dict[str, str]
    values: tuple[float, ...]
    unit: str | None
    timestamp_ms: int | None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def metrics_of(line: str) -> list[EmfMetric]:
    """The metrics an EMF line carries ([] for any other line)."""
    text = line.strip()
    if not text.startswith("{") or '"_aws"' not in text:
        return []
    try:
        document = json.loads(text)
        aws = document["_aws"]
        directives = aws["CloudWatchMetrics"]
        timestamp = aws.get("Timestamp")
    except (ValueError, KeyError, TypeError):
        return []
    if not isinstance(directives, list):
        return []
    found = []
    for directive in directives:
        if not isinstance(directive, dict) or not isinstance(directive.get("Namespace"), str):
            continue
        dimension_sets = directive.get("Dimensions") or [[]]
        for metric in directive.get("Metrics") or []:
            name = metric.get("Name") if isinstance(metric, dict) else None
            raw = document.get(name) if isinstance(name, str) else None
            values = tuple(float(v) for v in (raw if isinstance(raw, list) else [raw]) if _number(v))
            if not values:
                continue
            for names in dimension_sets:
                if not isinstance(names, list) or len(names) > MAX_DIMENSIONS:
                    continue
                if not all(isinstance(n, str) and isinstance(document.get(n), str) for n in names):
                    continue  # a dimension must be a string member of the line
                found.append(EmfMetric(directive["Namespace"], name, {n: document[n] for n in names}, values,
                                       metric.get("Unit"), timestamp if _number(timestamp) else None))
    return found
