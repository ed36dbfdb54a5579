"""schemathesis against the deployed API: one region's HTTP API on the local cloud, checked against
the OpenAPI document that same API serves (GET /openapi.json), not a copy in the repository.

- Every operation, positive and negative data, bounded: the examples, coverage and fuzzing phases
  with all of schemathesis' default checks (no 5xx, only documented status codes, content types,
  response headers and bodies as documented, 405 with Allow for undocumented methods, invalid input
  rejected, valid input accepted). Two operations get a sharper oracle than "valid input is
  accepted": a PUT is accepted exactly when its data is within DynamoDB's documented limits, and a
  list request is refused exactly when its cursor is not one the API issued (an opaque token).
- The document's links (write -> read / replace at the ETag / delete; delete -> read) run as
  stateful workflows, so read-after-write and use-after-delete are checked too; the page -> next
  page link is followed by hand (see the stateful test for why the listing stays out).
- Every status code the document lists for an operation is then seen at least once from the real
  API: what random data rarely reaches is asked for explicitly (a stale If-Match, a body over
  64 KiB, an item that exists, the stage throttling, the region answering 503 under the local
  cloud's `errors` fault), and each of those answers is validated against the document as well.

It shares the session's `global_app` (the other modules only look at their own item ids) and leaves
the region as it found it: the stage throttle restored, the fault healed, /health answering 200.

schemathesis 4 Python API: `schemathesis.openapi.from_url`, `schemathesis.pytest.from_fixture`,
`case.call_and_validate`, `APIOperation.Case`, `schema.as_state_machine()`
(https://schemathesis.readthedocs.io/en/stable/reference/python/ and .../explanations/pytest/); the
checks and their expected statuses are schemathesis/config/_checks.py in 4.32.5.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from tests.e2e.conftest import http, wait_until

pytestmark = pytest.mark.slow

ENV, REGION = "euw1", "eu-west-1"
MAX_EXAMPLES = 40  # per operation in the fuzzing phase; the coverage phase adds its boundary cases
STATEFUL_SCENARIOS, STATEFUL_STEPS = 15, 6
ID_MAX_LENGTH = 128
PUT, LIST, DOCUMENT = "PUT /items/{id}", "GET /items", "GET /openapi.json"
OPERATIONS = {"GET /health", DOCUMENT, LIST, "GET /items/{id}", PUT, "DELETE /items/{id}"}
# schemathesis never generates requests for the operation that serves the schema it was loaded from
# (OpenAPIOperations._serves_schema_document), so GET /openapi.json is only asked for by hand.
FUZZED = OPERATIONS - {DOCUMENT}

CONFIG = {
    "request-timeout": 15,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES},
    "checks": {
        # A valid request may still meet an unknown item (404), a stale If-Match (412) or the stage
        # throttle (429); none of those says the API refused valid data.
        "positive_data_acceptance": {"expected-statuses": ["2xx", "404", "412", "429"]},
    },
    # These two get the exact oracles below instead.
    "operations": [
        {"include-name": name, "checks": {"positive_data_acceptance": {"enabled": False}}} for name in (PUT, LIST)
    ],
}


@pytest.fixture(scope="module")
def api_url(global_app) -> str:
    return global_app.api(ENV)


@pytest.fixture(scope="module")
def api_schema(api_url: str):
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json", config=SchemathesisConfig.from_dict(CONFIG))
    schema.config.update(base_url=api_url)
    return schema


@pytest.fixture(scope="module")
def observed() -> dict[str, set[int]]:
    """Status codes the real API answered, per operation ("PUT /items/{id}": {201, 400, ...})."""
    return defaultdict(set)


def record(observed: dict[str, set[int]], case, response) -> None:
    # The coverage phase also sends methods the document lacks (expecting 405): those requests
    # belong to no operation.
    if response.request.method.upper() == case.operation.method.upper():
        observed[case.operation.label].add(response.status_code)


@pytest.fixture(scope="module")
def ran() -> set[str]:
    """Which of this module's request-making tests completed (the last test needs them all)."""
    return set()


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    # schemathesis 4.32.5's from_fixture reads and rewrites `request.node._nodeid`, which pytest 9.2
    # no longer has (a node's id lives in `_id`): give it the attribute it expects.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


def operations(api_schema) -> list:
    """Every operation of the document, GET /openapi.json included."""
    return [api_schema[path][method.upper()] for path, item in api_schema.raw_schema["paths"].items()
            for method in item]


# --- oracles -----------------------------------------------------------------------------------


def within_dynamodb_limits(value: Any, depth: int = 1) -> bool:
    """The README's and DynamoDB's limits on `data`, restated independently of src/api/codec.py:
    32 levels of nesting, numbers of at most 38 significant digits between 1E-130 and 9.99E+125
    in magnitude (or zero), strings of valid Unicode, map keys (attribute names) of at least one
    character ("Supported data types and naming rules in Amazon DynamoDB",
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html)."""
    if isinstance(value, dict):
        return depth <= 32 and all(
            key != "" and within_dynamodb_limits(key, depth) and within_dynamodb_limits(item, depth + 1)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return depth <= 32 and all(within_dynamodb_limits(item, depth + 1) for item in value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: valid JSON, not valid Unicode
            return False
        return True
    if isinstance(value, Decimal):
        if value.is_zero():
            return True
        significant = "".join(map(str, value.as_tuple().digits)).strip("0")
        return len(significant) <= 38 and -130 <= value.adjusted() <= 125
    return True  # true, false, null


def sent_json(response) -> Any:
    """The request body exactly as the API parsed it (numbers as Decimal)."""
    body = response.request.body or b""
    return json.loads(body, parse_float=Decimal, parse_int=Decimal)


def check_valid_input_outcome(case, response) -> None:
    """For schema-valid requests: the exact answer, where "accepted" alone would be too weak."""
    status = response.status_code
    if case.operation.label == PUT:
        if "if-match" in {name.lower() for name in case.headers or {}}:
            accepted = {200, 412, 429}  # a write at a version: replaced, or the version was stale
        else:
            accepted = {200, 201, 429}
        data = sent_json(response)["data"]
        expected = accepted if within_dynamodb_limits(data) else {422}
        assert status in expected, f"PUT of {data!r}: {status} {response.text[:300]}"
    elif case.operation.label == LIST:
        if (case.query or {}).get("cursor") is None:
            assert status in {200, 429}, f"{case.query}: {status} {response.text[:300]}"
        else:  # an opaque cursor this API never issued
            assert status == 429 or (status == 400 and response.json()["error"] == "bad_cursor"), response.text


# --- the document, as deployed ---------------------------------------------------------------------


def test_the_document_is_served_by_the_deployed_api(api_url, api_schema):
    document = http("GET", f"{api_url}/openapi.json")
    assert document.status == 200 and document.headers["x-served-by-region"] == REGION
    assert document.json()["info"]["version"] == "unreleased"  # the release samconfig deploys
    assert {operation.label for operation in operations(api_schema)} == OPERATIONS
    assert {operation.ok().label for operation in api_schema.get_all_operations()} == FUZZED


def test_the_stage_throttle_answers_429_as_documented(global_app, api_schema, observed, ran):
    """The stage's token bucket at burst 1 (and next to no refill), then back to the deployed limits.

    Set through the control plane (apigatewayv2 DeleteStage/CreateStage on the local endpoint) and
    read by the data plane on every request; a new limit starts a full bucket, so the second
    request in a row to a route finds it empty ("Throttling requests to your HTTP API", token bucket
    per route, https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html).
    """
    apigw = global_app.client("apigatewayv2", REGION)
    api_id = global_app.outputs[ENV]["ApiHost"].split(".")[0]
    deployed = apigw.get_stage(ApiId=api_id, StageName="$default")
    restore = {key: deployed[key] for key in ("AccessLogSettings", "AutoDeploy", "DefaultRouteSettings",
                                              "RouteSettings", "StageVariables", "Tags") if deployed.get(key)}

    def recreate_stage(**settings: Any) -> None:
        apigw.delete_stage(ApiId=api_id, StageName="$default")
        apigw.create_stage(ApiId=api_id, StageName="$default", **settings)

    # One token per route, refilled once in 1000 s: the second request in a row finds none.
    tight = {**restore, "DefaultRouteSettings": {"ThrottlingBurstLimit": 1, "ThrottlingRateLimit": 0.001}}
    recreate_stage(**tight)
    try:
        for operation in operations(api_schema):
            case = refused_case(operation)
            statuses = [call(case, observed).status_code for _ in range(2)]
            assert statuses[-1] == 429, f"{case.operation.label}: {statuses}"
    finally:
        recreate_stage(**restore)
    settings = apigw.get_stage(ApiId=api_id, StageName="$default")["DefaultRouteSettings"]
    assert settings == deployed["DefaultRouteSettings"]
    assert http("GET", f"{global_app.api(ENV)}/health").status == 200
    ran.add("throttle")


# --- random requests ---------------------------------------------------------------------------------


@schema.parametrize()
def test_every_operation_answers_as_documented(case, observed, ran):
    response = case.call_and_validate()
    record(observed, case, response)
    if case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE:
        check_valid_input_outcome(case, response)
    ran.add(f"fuzz {case.operation.label}")


def test_the_documented_links_hold_in_stateful_workflows(api_schema, observed, ran):
    """Hypothesis replays a scenario and needs the same answers as the first time: each scenario
    addresses items under a prefix of its own, and the whole-table listing (whose answer every
    other scenario changes) stays out of the workflows."""
    id_rule = re.compile(api_schema.raw_schema["paths"]["/items/{id}"]["get"]["parameters"][0]["schema"]["pattern"])

    class Workflow(api_schema.exclude(method="GET", path="/items").as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.prefix = f"w{uuid.uuid4().hex[:8]}-"

        def before_call(self, case) -> None:
            item_id = (case.path_parameters or {}).get("id")
            # Only valid ids, kept valid: an invalid one must still be refused as generated.
            if isinstance(item_id, str) and id_rule.fullmatch(item_id) and not item_id.startswith(self.prefix):
                case.path_parameters["id"] = (self.prefix + item_id)[:ID_MAX_LENGTH]

        def after_call(self, response, case) -> None:
            super().after_call(response, case)
            record(observed, case, response)

    Workflow.run(settings=hypothesis.settings(
        max_examples=STATEFUL_SCENARIOS,
        stateful_step_count=STATEFUL_STEPS,
        deadline=None,
        suppress_health_check=[hypothesis.HealthCheck.too_slow, hypothesis.HealthCheck.filter_too_much],
    ))
    ran.add("stateful")


# --- what random data rarely reaches ---------------------------------------------------------------


def call(case, observed: dict[str, set[int]], expect_5xx: bool = False):
    """One hand-made request, validated against the document like the generated ones."""
    excluded = [not_a_server_error] if expect_5xx else []
    response = case.call_and_validate(excluded_checks=excluded)
    record(observed, case, response)
    return response


def refused_case(operation):
    """A request the API answers without DynamoDB where it can (a 400), else a plain one."""
    kwargs: dict[str, Any] = {}
    if "{id}" in operation.path:
        kwargs["path_parameters"] = {"id": "_reserved"}
        if operation.method.upper() == "PUT":
            kwargs["body"] = {"data": {}}
    elif operation.path == "/items":
        kwargs["query"] = {"limit": "0"}
    return operation.Case(**kwargs)


def documented_statuses(operation) -> set[int]:
    return {int(code) for code in operation.responses.status_codes}


def test_every_documented_status_is_reachable(global_app, api_schema, observed, ran):
    needed = {"throttle", "stateful"} | {f"fuzz {label}" for label in FUZZED}
    if not needed <= ran:
        pytest.skip(f"needs this module's other request-making tests in the same run: {sorted(needed - ran)}")
    items, single = api_schema["/items"]["GET"], api_schema["/items/{id}"]
    get, put, delete = single["GET"], single["PUT"], single["DELETE"]
    item_id = f"schema-reachability-{uuid.uuid4().hex[:8]}"

    created = call(put.Case(path_parameters={"id": item_id}, body={"data": {"n": 1}}), observed)
    assert created.status_code == 201
    version = created.json()["version"]
    assert created.headers["etag"] == [f'"{version}"']
    assert call(put.Case(path_parameters={"id": item_id}, body={"data": {"n": 2}}), observed).status_code == 200
    assert call(get.Case(path_parameters={"id": item_id}), observed).json()["data"] == {"n": 2}
    stale = call(put.Case(path_parameters={"id": item_id}, headers={"If-Match": f'"{version}"'},
                          body={"data": {"n": 3}}), observed)
    assert stale.status_code == 412 and stale.json()["error"] == "version_conflict"
    too_large = call(put.Case(path_parameters={"id": item_id}, body={"data": {"s": "x" * 70_000}}), observed)
    assert too_large.status_code == 413
    assert call(put.Case(path_parameters={"id": item_id}, body={"data": 1}), observed).status_code == 422
    assert call(delete.Case(path_parameters={"id": item_id}, headers={"If-Match": "1"}), observed).status_code == 412
    assert call(delete.Case(path_parameters={"id": item_id}), observed).status_code == 204
    assert call(delete.Case(path_parameters={"id": item_id}), observed).status_code == 404
    assert call(get.Case(path_parameters={"id": item_id}), observed).status_code == 404
    first = call(items.Case(query={"limit": "1"}), observed).json()
    assert first["cursor"] is not None  # the fuzzing left more than one item
    following = call(items.Case(query={"limit": "1", "cursor": first["cursor"]}), observed)
    assert following.status_code == 200 and following.json()["items"] != first["items"]
    for case in (items.Case(query={"limit": "0"}), get.Case(path_parameters={"id": "_x"}),
                 put.Case(path_parameters={"id": "_x"}, body={"data": {}}), delete.Case(path_parameters={"id": "_x"})):
        assert call(case, observed).status_code == 400

    # The region answering 503 (the local cloud's stand-in for API Gateway getting no answer).
    global_app.control("fault", {"env": ENV, "kind": "errors", "error_rate": 1.0})
    try:
        for operation in operations(api_schema):
            assert call(refused_case(operation), observed, expect_5xx=True).status_code == 503
    finally:
        global_app.control("heal", {"env": ENV})
    wait_until(lambda: http("GET", f"{global_app.api(ENV)}/health").status == 200, 10, f"{ENV} to answer again")

    missing = {}
    for operation in operations(api_schema):
        documented = documented_statuses(operation)
        if documented - observed[operation.label]:
            missing[operation.label] = sorted(documented - observed[operation.label])
        undocumented = observed[operation.label] - documented  # the checks above would have failed first
        assert not undocumented, f"{operation.label} answered undocumented {sorted(undocumented)}"
    assert not missing, f"documented but never answered by the deployed API: {missing}"
