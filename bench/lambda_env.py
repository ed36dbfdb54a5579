"""What bench/handlers.py gives each function: the process environment Lambda would, a stand-in X-Ray
daemon and a moto server, all on loopback.

The environment is built from nothing (the caller's is not inherited, so the test suite's
POWERTOOLS_TRACE_DISABLED cannot leak in): the function's variables as its template declares them
(Globals + function, Refs resolved to bench values), Lambda's reserved variables (LAMBDA_TASK_ROOT,
_HANDLER, AWS_LAMBDA_FUNCTION_*, AWS_REGION, TZ: "Defined runtime environment variables",
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html) and, since the templates
say ``Tracing: Active``, AWS_XRAY_DAEMON_ADDRESS, AWS_XRAY_CONTEXT_MISSING and _X_AMZN_TRACE_ID.

LAMBDA_TASK_ROOT is what matters most: Powertools' Tracer turns itself off outside Lambda, and the
X-Ray SDK, outside Lambda, builds two botocore X-Ray clients for centralised sampling while it is
imported (aws_xray_sdk/core/recorder.py, AWSXRayRecorder.__init__; aws/aws-xray-sdk-python#311), about
120 ms that never happens on Lambda. Without it the stand-in would measure neither tracing nor init
as Lambda runs them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.handlers_warm import trace_header

ROOT = Path(__file__).resolve().parents[1]
SRC, BENCH, EVENTS = ROOT / "src", ROOT / "bench", ROOT / "events"
REGION, ACCOUNT = "eu-west-1", "123456789012"
TABLE = "global-items"
TOPIC = "bench-changes.fifo"
REFS = {"TableName": TABLE, "Release": "bench", "ServiceState": "/global-backend/bench/service-state",
        "SiteDirectoryParameter": "/global-backend/bench/site-directory",
        "ChangeTopic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC}"}
AWS_SUBSEGMENT = re.compile(rb'"namespace":\s*"aws"')


@dataclass(frozen=True)
class Function:
    name: str  # the key in the result
    handler: str  # module.function
    task_root: Path  # what Lambda unpacks to /var/task (src/, or bench/ for the bare baseline)
    template: str  # regional/*.yaml declaring the function (its environment, Handler and memory)
    logical_id: str
    first_event: str | None = None  # events/<...>.json handled once after init in the cold start
    overrides: tuple[tuple[str, str], ...] = ()  # variables set on top of Lambda's (a variant of the function)


def template_function(function: Function) -> tuple[str, int, dict[str, str]]:
    """(Handler, MemorySize, Environment.Variables) of the function as its template declares them."""
    from samcli.yamlhelper import yaml_parse

    template = yaml_parse((ROOT / function.template).read_text())
    globals_ = template.get("Globals", {}).get("Function", {})
    properties = template["Resources"][function.logical_id]["Properties"]
    variables = {**(globals_.get("Environment") or {}).get("Variables", {}),
                 **(properties.get("Environment") or {}).get("Variables", {})}
    memory = int(properties.get("MemorySize", globals_.get("MemorySize", 128)))
    return properties["Handler"], memory, {key: _resolve(value) for key, value in variables.items()
                                           if not _for_sam_local_only(value)}


def _for_sam_local_only(value: Any) -> bool:
    """AWS_ENDPOINT_URL is declared under sam local only (the ForSamLocal condition); deployed, it is not."""
    return isinstance(value, dict) and isinstance(value.get("Fn::If"), list) and value["Fn::If"][0] == "ForSamLocal"


def _resolve(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in REFS:
        return REFS[value["Ref"]]
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ValueError(f"no bench value for {value!r}: add it to REFS")


def lambda_environment(function: Function, daemon: str, endpoint: str | None) -> dict[str, str]:
    """The function's whole process environment; ``endpoint`` (a moto server) or None (mock_aws)."""
    handler, memory, variables = template_function(function)
    if function.task_root == SRC and handler != function.handler:
        raise ValueError(f"{function.logical_id}'s Handler is {handler}, the bench says {function.handler}")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(function.task_root),
        "LAMBDA_TASK_ROOT": str(function.task_root),
        "_HANDLER": function.handler,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": f"bench-{function.name}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_XRAY_DAEMON_ADDRESS": daemon,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "_X_AMZN_TRACE_ID": trace_header(),
        "TZ": ":UTC",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        **variables,
    }
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    env.update(dict(function.overrides))
    return env


@contextlib.contextmanager
def xray_sink() -> Iterator[tuple[str, list[int]]]:
    """A UDP socket on loopback standing in for the X-Ray daemon.

    Yields (address, [datagrams, AWS SDK subsegments]); the second count (``"namespace": "aws"``)
    proves botocore is patched, i.e. the AWS calls are traced as they are on Lambda.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    received = [0, 0]
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            with contextlib.suppress(socket.timeout, OSError):
                datagram = sock.recv(65536)
                received[0] += 1
                received[1] += bool(AWS_SUBSEGMENT.search(datagram))

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}", received
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto in server mode on a free loopback port, holding what the cold starts' first requests read."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = "http://127.0.0.1:%d" % server.get_host_and_port()[1]
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                        region_name=REGION)
        ddb = session.client("dynamodb", endpoint_url=endpoint)
        ddb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        ddb.put_item(TableName=TABLE, Item={"id": {"S": "order-1001"}, "version": {"N": "1"},
                                            "data": {"M": {"customer": {"S": "Ana"}}}})
        session.client("sns", endpoint_url=endpoint).create_topic(Name=TOPIC, Attributes={"FifoTopic": "true"})
        yield endpoint
    finally:
        server.stop()
