"""bench/handlers.py compares each API route with a bare boto3 handler "doing the same DynamoDB work".
These tests hold the baseline (bench/baseline_handler.py) to that: for every benchmarked route it
makes exactly the DynamoDB requests the real handler makes (same operations, same order) and answers
the same status, and its stream handler publishes what the stream processor publishes. A change to
src/ that the baseline does not follow fails here instead of silently skewing the benchmark."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import botocore.client
import pytest

from bench.handlers import ROUTES
from bench.lambda_env import BENCH
from tests.functions.functional.conftest import load_event


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, ...]]]:
    """Every DynamoDB operation, and every SNS publish's group and deduplication id, in order."""
    calls: list[tuple[str, ...]] = []
    original = botocore.client.BaseClient._make_api_call

    def record(self: Any, operation: str, params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        if service == "dynamodb":
            calls.append((operation,))
        elif service == "sns" and operation == "Publish":
            calls.append((operation, params["MessageGroupId"], params["MessageDeduplicationId"]))
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    yield calls


@pytest.fixture
def bare(cloud, monkeypatch: pytest.MonkeyPatch):
    """The baseline module imported fresh inside moto and the test's environment (its client is made at import)."""
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("baseline_handler", None)
    yield importlib.import_module("baseline_handler")
    sys.modules.pop("baseline_handler", None)


def _seed(cloud) -> None:
    cloud.put_raw({"id": "order-1001", "version": 1, "data": {"customer": "Ana"}, "origin_region": "eu-west-1",
                   "created_at": "2024-11-23T10:15:30.123Z", "updated_at": "2024-11-23T10:15:30.123Z"})
    for index in range(12):  # more than the canonical page of 10
        cloud.put_raw({"id": f"order-{2000 + index}", "version": 1, "data": {}, "origin_region": "eu-west-1"})


@pytest.mark.parametrize("route, event_file, statuses, _body, _restore", ROUTES, ids=[r[0] for r in ROUTES])
def test_bare_handler_makes_the_real_routes_dynamodb_requests(cloud, api, bare, context, aws_calls,
                                                               route, event_file, statuses, _body, _restore):
    event = load_event(event_file)
    _seed(cloud)
    real = api(event)
    real_calls = list(aws_calls)
    aws_calls.clear()
    _seed(cloud)  # the same starting state for the bare handler
    response = bare.handler(event, context)

    assert real.status in statuses
    assert response["statusCode"] == real.status
    assert real_calls and aws_calls == real_calls, (route, real_calls, aws_calls)
    if route == "GET /items/{id}":
        assert json.loads(response["body"])["data"] == real.json["data"]
    if route == "GET /items":
        assert len(json.loads(response["body"])["items"]) == len(real.json["items"])


def test_bare_stream_handler_publishes_what_the_processor_publishes(stream, bare, context, aws_calls):
    event = load_event("stream/mixed_two_regions.json")
    assert stream(event) == {"batchItemFailures": []}
    real_calls = list(aws_calls)
    aws_calls.clear()
    assert bare.stream_handler(event, context) == {"batchItemFailures": []}
    assert real_calls and aws_calls == real_calls
