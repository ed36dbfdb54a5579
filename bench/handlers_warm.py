"""The child side of bench/handlers.py's warm latency: one Lambda execution environment, in-process.

bench/handlers.py runs ``python -P bench/handlers_warm.py <spec JSON> <results fd>`` in a fresh process
whose environment is the function's Lambda environment (tracing on, bench/lambda_env.py). This
starts moto's ``mock_aws``, creates what the code reads (the table with 40 items, the service
switch, the FIFO topic), imports the handler as Lambda would (after moto, so every client it makes
is mocked), calls ``handler(event, context)`` ``warmup`` times per case untimed, then serves the
parent's requests read from stdin (``{"case": i, "calls": n}``), timing each call (perf_counter and
this thread's CPU time), checking every response, and answering on the results pipe.

Each case's event is a canonical file from events/. Per invocation, outside the timed call, it sets
a fresh sampled ``_X_AMZN_TRACE_ID`` as the Lambda runtime does, and puts the item back after a
DELETE, so that every DELETE deletes and every GET finds it.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

# More than one page of the canonical GET /items?limit=10. No health sentinel: nothing writes one on
# AWS either (the health check reads it, found or not), and moto's sorted scan would put it first.
SEED_ITEMS = 40


def context(function_name: str) -> SimpleNamespace:
    region = os.environ["AWS_REGION"]
    return SimpleNamespace(
        function_name=function_name,
        function_version="$LATEST",
        memory_limit_in_mb=int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")),
        invoked_function_arn=f"arn:aws:lambda:{region}:123456789012:function:{function_name}",
        aws_request_id="bench-request",
        log_group_name=f"/aws/lambda/{function_name}",
        log_stream_name="2026/01/01/[$LATEST]bench",
        get_remaining_time_in_millis=lambda: 10_000,
    )


def seed(item_id: str) -> dict[str, Any]:
    return {"id": {"S": item_id}, "version": {"N": "1"},
            "data": {"M": {"customer": {"S": "Ana"}, "total": {"N": "42.5"}}},
            "created_at": {"S": "2024-11-23T10:15:30.123Z"}, "updated_at": {"S": "2024-11-23T10:15:30.123Z"},
            "origin_region": {"S": os.environ["AWS_REGION"]}}


def create_resources(spec: dict[str, Any]) -> None:
    import boto3

    ddb = boto3.client("dynamodb")
    table = spec["table"]
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    for index in range(SEED_ITEMS):
        ddb.put_item(TableName=table, Item=seed(f"order-{1000 + index}"))
    if spec.get("service_state"):
        boto3.client("ssm").put_parameter(Name=spec["service_state"], Value="in-service", Type="String")
    if spec.get("topic"):
        arn = boto3.client("sns").create_topic(Name=spec["topic"], Attributes={"FifoTopic": "true"})["TopicArn"]
        if arn != os.environ.get("TOPIC_ARN"):
            raise SystemExit(f"topic {arn} is not the function's TOPIC_ARN {os.environ.get('TOPIC_ARN')}")


def check(case: dict[str, Any], response: Any) -> None:
    """Fail loudly when the handler answered anything but the case's success."""
    if "status" in case:
        status = response.get("statusCode") if isinstance(response, dict) else None
        if status not in case["status"]:
            raise SystemExit(f"{case['name']}: status {status}, expected {case['status']}: {str(response)[:300]}")
        body = response.get("body") or "null"
        if case.get("body_has") and case["body_has"] not in json.dumps(json.loads(body), separators=(",", ":")):
            raise SystemExit(f"{case['name']}: body lacks {case['body_has']!r}: {body[:300]}")
    elif response != {"batchItemFailures": []}:
        raise SystemExit(f"{case['name']}: batch failures {response}")


def serve(spec: dict[str, Any], commands: Any, results: Any) -> None:
    """Warm up every case, then run the blocks of timed calls the parent asks for, one at a time.

    The parent drives the real and the bare environment block by block, so both see the same
    machine; each answer is ``{"wall": [s, ...], "cpu": [s, ...]}`` for one block.
    """
    from moto import mock_aws

    with mock_aws():
        create_resources(spec)
        import boto3

        seeding = boto3.client("dynamodb")
        module_name, handler_name = spec["handler"].rsplit(".", 1)
        handler = getattr(importlib.import_module(module_name), handler_name)
        ctx = context(os.environ["AWS_LAMBDA_FUNCTION_NAME"])
        cases = spec["cases"]
        events = [json.loads(Path(case["event"]).read_text()) for case in cases]

        def invoke(index: int) -> tuple[float, float]:
            os.environ["_X_AMZN_TRACE_ID"] = trace_header()
            started, cpu_started = time.perf_counter(), time.thread_time()
            response = handler(events[index], ctx)
            elapsed, cpu_elapsed = time.perf_counter() - started, time.thread_time() - cpu_started
            check(cases[index], response)
            if cases[index].get("restore"):  # put a deleted item back, for the next DELETE and the GETs
                seeding.put_item(TableName=spec["table"], Item=seed(cases[index]["restore"]))
            return elapsed, cpu_elapsed

        for index in range(len(cases)):
            for _ in range(spec["warmup"]):
                invoke(index)
        _answer(results, {"ready": True})
        for line in commands:
            command = json.loads(line)
            if command.get("quit"):
                return
            timings = [invoke(command["case"]) for _ in range(command["calls"])]
            _answer(results, {"wall": [wall for wall, _ in timings], "cpu": [cpu for _, cpu in timings]})


def trace_header() -> str:
    """An X-Ray trace header as Lambda sets it per invocation, sampled (Root=1-<epoch hex>-<96 bits>)."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=1"


def _answer(results: Any, message: dict[str, Any]) -> None:
    results.write(json.dumps(message) + "\n")
    results.flush()


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    # stdout belongs to the function (its logs and EMF metrics, as on Lambda); answers use their own pipe.
    with os.fdopen(int(argv[1]), "w") as results:
        serve(spec, sys.stdin, results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
