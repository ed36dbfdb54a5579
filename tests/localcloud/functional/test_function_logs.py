"""A function's log lines delivered to CloudWatch Logs (localcloud.logs.delivery) and read back
through the public API, as `sam logs` and `aws logs filter-log-events` read them; EMF lines become
metrics in the store the alarms read."""

from __future__ import annotations

import time
import uuid


from localcloud.cloudwatch import metrics
from localcloud.logs.delivery import MAX_EVENTS_PER_STREAM, LogDelivery
from tests.localcloud.unit.test_emf import POWERTOOLS_LINE

ACCOUNT, REGION = "123456789012", "eu-west-1"


def test_lines_reach_the_functions_log_group_per_environment_and_emf_lines_become_metrics(aws):
    function = f"fn-{uuid.uuid4().hex[:8]}"
    stream = f"2026/12/04/[$LATEST]{uuid.uuid4().hex}"
    published: list[tuple] = []
    delivery = LogDelivery(ACCOUNT, lambda *args: published.append(args))
    for line in (b"START RequestId: r1 Version: $LATEST\n", POWERTOOLS_LINE.encode() + b"\n",
                 b"END RequestId: r1\n", b"REPORT RequestId: r1\tDuration: 3.00 ms\n"):
        delivery.deliver(REGION, function, stream, line)
    logs = aws("logs")
    group = f"/aws/lambda/{function}"
    assert [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]] == [stream]
    events = logs.filter_log_events(logGroupName=group, filterPattern="RequestId")["events"]
    assert [e["message"] for e in events] == ["START RequestId: r1 Version: $LATEST", "END RequestId: r1",
                                              "REPORT RequestId: r1\tDuration: 3.00 ms"]
    assert [(p[2], p[3], p[4], p[5]) for p in published] == [("GlobalBackend", "Requests", {"service": "api"}, 1.0),
                                                             ("GlobalBackend", "ServerErrors", {"service": "api"}, 0.0)]


def test_a_stream_keeps_its_last_events_only(aws):
    function = f"chatty-{uuid.uuid4().hex[:8]}"
    delivery = LogDelivery(ACCOUNT)
    for n in range(MAX_EVENTS_PER_STREAM + 5):
        delivery.deliver(REGION, function, "s", f"line {n}\n".encode())
    from moto.logs.models import logs_backends

    events = logs_backends[ACCOUNT][REGION].groups[f"/aws/lambda/{function}"].streams["s"].events
    assert len(events) == MAX_EVENTS_PER_STREAM and events[-1].message == f"line {MAX_EVENTS_PER_STREAM + 4}"


def test_emf_metrics_reach_the_metric_store_the_alarms_read():
    function = f"emf-{uuid.uuid4().hex[:8]}"
    LogDelivery(ACCOUNT, metrics.publish).deliver(REGION, function, "s", POWERTOOLS_LINE.encode())
    stamp = 1764806400
    found = metrics.STORE.buckets(ACCOUNT, REGION, "GlobalBackend", "Requests", {"service": "api"}, stamp, stamp + 1)
    assert found and found[0].total >= 1.0
    assert time.time() > stamp
