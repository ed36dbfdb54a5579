"""DynamoDB stream event source mapping: batching, filtering, retries, on-failure destinations."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from localcloud.awslambda.event_source_mappings import (
    InvalidEventSourceMapping,
    InvalidFilterPattern,
    StreamEventSourceMapping,
)
from localcloud.dynamodb import ListShardReader
from localcloud.invocation import InvokeOutcome

FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:stream-processor"
STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/items/stream/2024-11-20T09:00:00.000"
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:stream-dlq"
CREATED = 1732356930  # 2024-11-23T10:15:30Z
ORIGIN_FILTER = {"Filters": [{"Pattern": '{"dynamodb": {"NewImage": {"origin_region": {"S": ["eu-west-1"]}}}}'}]}


def put(reader: ListShardReader, name: str, origin: str = "eu-west-1", event: str = "INSERT",
        created: float = CREATED) -> str:
    image = {"id": {"S": name}, "origin_region": {"S": origin}}
    record = reader.put(event, {"id": {"S": name}}, new_image=None if event == "REMOVE" else image,
                        old_image=image if event != "INSERT" else None, created_at=created)
    return record["dynamodb"]["SequenceNumber"]


class Function:
    """Records every invocation; ``respond(sequence_numbers)`` decides the outcome."""

    def __init__(self, respond: Callable[[list[str]], InvokeOutcome] | None = None) -> None:
        self.respond = respond or (lambda seqs: InvokeOutcome())
        self.calls: list[list[str]] = []
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, function_arn: str, event: dict[str, Any]) -> InvokeOutcome:
        assert function_arn == FUNCTION_ARN
        seqs = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        with self.lock:
            self.calls.append(seqs)
            self.events.append(event)
        return self.respond(seqs)


def failing(seqs: list[str]) -> InvokeOutcome:
    return InvokeOutcome(payload=b'{"errorMessage": "boom", "errorType": "RuntimeError"}',
                         function_error="Unhandled")


def partial(*failed: str) -> InvokeOutcome:
    body = {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}
    return InvokeOutcome(payload=json.dumps(body).encode())


class Destination:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, arn: str, message: dict[str, Any]) -> None:
        json.dumps(message)  # must be serialisable for SQS/SNS
        self.messages.append((arn, message))


@pytest.fixture
def reader() -> ListShardReader:
    return ListShardReader()


@pytest.fixture
def start(reader: ListShardReader) -> Iterator[Callable[..., StreamEventSourceMapping]]:
    mappings: list[StreamEventSourceMapping] = []

    def make(function: Function, on_failure: Destination | None = None, clock: Callable[[], float] | None = None,
             poll_interval_s: float = 0.5, **config: Any) -> StreamEventSourceMapping:
        settings = {"StartingPosition": "TRIM_HORIZON", **config}
        extra = {"clock": clock} if clock else {}
        mapping = StreamEventSourceMapping(
            "6f3c2f1e-0000-4000-8000-000000000001", FUNCTION_ARN, STREAM_ARN, "eu-west-1", settings,
            reader, function, on_failure, backoff_initial_s=0.001, backoff_max_s=0.005,
            poll_interval_s=poll_interval_s, **extra)
        mappings.append(mapping)
        return mapping

    yield make
    for mapping in mappings:
        mapping.stop()


def test_records_are_delivered_in_batches_of_batch_size(reader, start) -> None:
    seqs = [put(reader, f"item-{n}") for n in range(7)]
    function = Function()
    mapping = start(function, BatchSize=3)

    assert mapping.wait_idle(5)
    assert function.calls == [seqs[0:3], seqs[3:6], seqs[6:7]]
    first = function.events[0]["Records"][0]
    assert first["eventSourceARN"] == STREAM_ARN
    assert (first["eventName"], first["eventVersion"], first["eventSource"], first["awsRegion"]) == (
        "INSERT", "1.1", "aws:dynamodb", "eu-west-1")
    assert first["dynamodb"]["NewImage"]["id"] == {"S": "item-0"}
    assert mapping.checkpoint() == seqs[-1]
    assert mapping.stats().delivered_records == 7


def test_non_matching_records_are_skipped_and_committed(reader, start) -> None:
    local = put(reader, "a")
    put(reader, "b", origin="us-east-1")
    local2 = put(reader, "c")
    put(reader, "c", event="REMOVE")  # no NewImage
    last = put(reader, "d", origin="ap-southeast-1")
    function = Function()
    mapping = start(function, FilterCriteria=ORIGIN_FILTER)

    assert mapping.wait_idle(5)
    assert function.calls == [[local, local2]]
    assert mapping.stats().filtered_records == 3
    assert mapping.checkpoint() == last


def test_latest_starts_after_the_records_already_in_the_shard(reader, start) -> None:
    put(reader, "old")
    function = Function()
    mapping = start(function, StartingPosition="LATEST", poll_interval_s=30)
    new = put(reader, "new")
    mapping.notify()

    assert mapping.wait_idle(5)
    assert function.calls == [[new]]


def test_a_record_appended_later_is_delivered_after_notify(reader, start) -> None:
    first = put(reader, "a")
    function = Function()
    mapping = start(function, poll_interval_s=30)  # the fallback poll would not fire in time
    assert mapping.wait_idle(5)
    second = put(reader, "b")
    mapping.notify()

    assert mapping.wait_idle(5)
    assert function.calls == [[first], [second]]
    assert mapping.checkpoint() == second


def test_the_batching_window_gathers_records_into_one_batch(reader, start) -> None:
    function = Function()
    mapping = start(function, BatchSize=3, MaximumBatchingWindowInSeconds=300, poll_interval_s=30)
    seqs = [put(reader, "a"), put(reader, "b")]
    mapping.notify()
    seqs.append(put(reader, "c"))
    mapping.notify()

    assert mapping.wait_idle(5)
    assert function.calls == [seqs]


def test_a_partial_batch_failure_retries_from_the_lowest_failed_record(reader, start) -> None:
    seqs = [put(reader, f"item-{n}") for n in range(5)]
    answers = iter([partial(seqs[4], seqs[2]), InvokeOutcome(payload=b'{"batchItemFailures": []}')])
    function = Function(lambda _: next(answers))
    mapping = start(function, FunctionResponseTypes=["ReportBatchItemFailures"])

    assert mapping.wait_idle(5)
    assert function.calls == [seqs, seqs[2:]]
    assert mapping.stats().delivered_records == 5
    assert mapping.stats().failed_invocations == 1


def test_a_partial_response_is_ignored_without_report_batch_item_failures(reader, start) -> None:
    seqs = [put(reader, f"item-{n}") for n in range(3)]
    function = Function(lambda s: partial(s[1]))
    mapping = start(function)

    assert mapping.wait_idle(5)
    assert function.calls == [seqs]


@pytest.mark.parametrize("payload", [b'{"batchItemFailures": [{"itemIdentifier": ""}]}',
                                     b'{"batchItemFailures": [{"itemIdentifier": null}]}',
                                     b'{"batchItemFailures": [{"id": "1"}]}',
                                     b'{"batchItemFailures": [{"itemIdentifier": "999"}]}',
                                     b'"done"', b'not json'])
def test_an_invalid_partial_response_fails_the_whole_batch(reader, start, payload) -> None:
    seqs = [put(reader, f"item-{n}") for n in range(3)]
    answers = iter([InvokeOutcome(payload=payload), InvokeOutcome(payload=b"")])
    function = Function(lambda _: next(answers))
    mapping = start(function, FunctionResponseTypes=["ReportBatchItemFailures"])

    assert mapping.wait_idle(5)
    assert function.calls == [seqs, seqs]


@pytest.mark.parametrize("payload", [b"", b"null", b"{}", b'{"batchItemFailures": null}'])
def test_an_empty_partial_response_is_success(reader, start, payload) -> None:
    seqs = [put(reader, f"item-{n}") for n in range(2)]
    function = Function(lambda _: InvokeOutcome(payload=payload))
    mapping = start(function, FunctionResponseTypes=["ReportBatchItemFailures"])

    assert mapping.wait_idle(5)
    assert function.calls == [seqs]


def test_bisection_isolates_a_poison_record(reader, start) -> None:
    seqs = [put(reader, f"item-{n}") for n in range(8)]
    poison = seqs[5]
    delivered: list[str] = []

    def respond(batch: list[str]) -> InvokeOutcome:
        if poison in batch:
            return failing(batch)
        delivered.extend(batch)
        return InvokeOutcome()

    function = Function(respond)
    destination = Destination()
    mapping = start(function, destination, BatchSize=8, BisectBatchOnFunctionError=True,
                    MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": QUEUE_ARN}})

    assert mapping.wait_idle(5)
    assert function.calls == [seqs, seqs[:4], seqs[4:], seqs[4:6], seqs[4:5], [poison], [poison], seqs[6:]]
    assert delivered == [s for s in seqs if s != poison]
    assert len(destination.messages) == 1
    info = destination.messages[0][1]["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (poison, poison, 1)
    # Every invocation that carried the poison record counts: 1-8, 5-8, 5-6, then 6 twice.
    assert destination.messages[0][1]["requestContext"]["approximateInvokeCount"] == 5
    stats = mapping.stats()
    assert (stats.bisections, stats.delivered_records, stats.sent_to_on_failure_records) == (3, 7, 1)
    assert mapping.checkpoint() == seqs[-1]


def test_exhausted_retries_send_one_invocation_record_and_the_poller_moves_on(reader, start) -> None:
    seqs = [put(reader, f"item-{n}") for n in range(3)]
    function = Function(lambda batch: failing(batch) if seqs[1] in batch else InvokeOutcome())
    destination = Destination()
    mapping = start(function, destination, clock=lambda: 1732357000.5, BatchSize=1, MaximumRetryAttempts=2,
                    DestinationConfig={"OnFailure": {"Destination": QUEUE_ARN}})

    assert mapping.wait_idle(5)
    assert function.calls == [[seqs[0]], [seqs[1]], [seqs[1]], [seqs[1]], [seqs[2]]]
    [(arn, message)] = destination.messages
    assert arn == QUEUE_ARN
    assert set(message) == {"requestContext", "responseContext", "version", "timestamp", "DDBStreamBatchInfo"}
    request = message["requestContext"]
    assert re.fullmatch(r"[0-9a-f-]{36}", request.pop("requestId"))
    assert request == {"functionArn": FUNCTION_ARN, "condition": "RetryAttemptsExhausted",
                       "approximateInvokeCount": 3}
    assert message["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                          "functionError": "Unhandled"}
    assert message["version"] == "1.0"
    assert message["timestamp"] == "2024-11-23T10:16:40.500Z"
    arrival = datetime.fromtimestamp(CREATED, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert message["DDBStreamBatchInfo"] == {
        "shardId": reader.shard_id, "startSequenceNumber": seqs[1], "endSequenceNumber": seqs[1],
        "approximateArrivalOfFirstRecord": arrival, "approximateArrivalOfLastRecord": arrival,
        "batchSize": 1, "streamArn": STREAM_ARN,
    }
    assert mapping.checkpoint() == seqs[2]


def test_without_a_destination_exhausted_records_are_discarded_and_counted(reader, start) -> None:
    seqs = [put(reader, f"item-{n}") for n in range(2)]
    function = Function(lambda batch: failing(batch) if seqs[0] in batch else InvokeOutcome())
    mapping = start(function, BatchSize=1, MaximumRetryAttempts=0)

    assert mapping.wait_idle(5)
    assert function.calls == [[seqs[0]], [seqs[1]]]
    stats = mapping.stats()
    assert (stats.discarded_records, stats.delivered_records, stats.sent_to_on_failure_records) == (1, 1, 0)


def test_records_older_than_the_maximum_age_are_sent_without_invoking(reader, start) -> None:
    old = [put(reader, f"old-{n}", created=CREATED - 7200) for n in range(2)]
    fresh = put(reader, "fresh", created=CREATED)
    function = Function()
    destination = Destination()
    mapping = start(function, destination, clock=lambda: CREATED + 10, MaximumRecordAgeInSeconds=3600,
                    DestinationConfig={"OnFailure": {"Destination": QUEUE_ARN}})

    assert mapping.wait_idle(5)
    assert function.calls == [[fresh]]
    [(_, message)] = destination.messages
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    assert message["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in message  # never invoked
    info = message["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (old[0], old[1], 2)


def test_errors_before_invocation_are_retried_without_using_up_attempts(reader, start) -> None:
    seq = put(reader, "a")
    throttles = {"left": 3}
    calls: list[list[str]] = []

    def invoke(function_arn: str, event: dict[str, Any]) -> InvokeOutcome:
        if throttles["left"]:
            throttles["left"] -= 1
            raise RuntimeError("TooManyRequestsException")
        calls.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
        return InvokeOutcome()

    mapping = start(invoke, MaximumRetryAttempts=0)  # type: ignore[arg-type]

    assert mapping.wait_idle(5)
    assert calls == [[seq]]
    assert (mapping.stats().invoke_errors, mapping.stats().discarded_records) == (3, 0)


def test_a_failing_destination_is_retried_until_it_takes_the_record(reader, start) -> None:
    put(reader, "a")
    destination = Destination()
    refusals = {"left": 2}

    def flaky_destination(arn: str, message: dict[str, Any]) -> None:
        if refusals["left"]:
            refusals["left"] -= 1
            raise ConnectionError("queue unavailable")
        destination(arn, message)

    mapping = start(Function(failing), flaky_destination, MaximumRetryAttempts=0,  # type: ignore[arg-type]
                    DestinationConfig={"OnFailure": {"Destination": QUEUE_ARN}})

    assert mapping.wait_idle(5)
    assert len(destination.messages) == 1
    assert (mapping.stats().on_failure_errors, mapping.stats().on_failure_messages) == (2, 1)


def test_a_disabled_mapping_invokes_nothing_until_enabled(reader, start) -> None:
    seq = put(reader, "a")
    function = Function()
    mapping = start(function, Enabled=False)

    assert mapping.state == "Disabled"
    assert not mapping.wait_idle(0.2)
    assert function.calls == []
    mapping.set_enabled(True)
    assert mapping.wait_idle(5)
    assert function.calls == [[seq]]


def test_stop_joins_the_poller_even_while_it_retries(reader, start) -> None:
    put(reader, "a")
    function = Function(failing)
    mapping = start(function)  # retries forever: MaximumRetryAttempts -1
    assert _wait(lambda: len(function.calls) >= 3)

    mapping.stop()
    assert not mapping._thread.is_alive()
    assert mapping.checkpoint() is None  # the failing record was never committed


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({}, InvalidEventSourceMapping),
        ({"StartingPosition": "AT_TIMESTAMP"}, InvalidEventSourceMapping),
        ({"StartingPosition": "LATEST", "BatchSize": 0}, InvalidEventSourceMapping),
        ({"StartingPosition": "LATEST", "BatchSize": 10_001}, InvalidEventSourceMapping),
        ({"StartingPosition": "LATEST", "MaximumRetryAttempts": -2}, InvalidEventSourceMapping),
        ({"StartingPosition": "LATEST", "MaximumRecordAgeInSeconds": 604_801}, InvalidEventSourceMapping),
        ({"StartingPosition": "LATEST", "FunctionResponseTypes": ["Other"]}, InvalidEventSourceMapping),
        ({"StartingPosition": "LATEST", "FilterCriteria": {"Filters": [{"Pattern": "{"}]}}, InvalidFilterPattern),
    ],
)
def test_configurations_lambda_rejects_are_rejected(reader, config, error) -> None:
    with pytest.raises(error) as raised:
        StreamEventSourceMapping("u", FUNCTION_ARN, STREAM_ARN, "eu-west-1", config, reader, Function(),
                                 autostart=False)
    assert raised.value.aws_error_code == "InvalidParameterValueException"


def _wait(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.002)
    return condition()
