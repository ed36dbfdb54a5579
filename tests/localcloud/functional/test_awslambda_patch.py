"""localcloud.awslambda.patch: Invoke runs through the local runtime; every change is announced.

Plain moto 5.2.5 without Docker answers Invoke with a canned error payload and tells nobody when a
function or an event source mapping changes (../shared/design.md, "measured gaps").
AWS behaviour: Lambda API Reference, Invoke (X-Amz-Function-Error header -> FunctionError;
InvocationType Event answers 202 with an empty body).
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from typing import Any

import pytest

from localcloud.hooks import hooks
from localcloud.invocation import InvokeOutcome

from .conftest import ACCOUNT, unique

REGION = "eu-west-1"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def zipped(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


class Recorder:
    """Stands in for a hook; remembers each call's arguments."""

    def __init__(self, result: Any = None):
        self.calls: list[tuple[Any, ...]] = []
        self.result = result
        self._lock = threading.Lock()

    def __call__(self, *args: Any) -> Any:
        with self._lock:
            self.calls.append(args)
        return self.result


@pytest.fixture
def function(aws) -> str:
    """The name of a new function (its hooks are whatever the test set before asking for it)."""
    role = aws("iam", REGION).create_role(RoleName=unique("role"), AssumeRolePolicyDocument=TRUST)["Role"]
    name = unique("fn")
    aws("lambda", REGION).create_function(
        FunctionName=name, Runtime="python3.13", Role=role["Arn"], Handler="index.handler",
        Code={"ZipFile": zipped("def handler(event, context):\n    return event\n")})
    return name


def test_invoke_runs_the_local_runtime_and_returns_its_payload(aws, function, monkeypatch):
    runtime = Recorder(result=InvokeOutcome(b'{"answer": 42}'))
    monkeypatch.setattr(hooks, "invoke", runtime)

    response = aws("lambda", REGION).invoke(FunctionName=function, Payload=json.dumps({"question": "?"}).encode())
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"answer": 42}
    assert runtime.calls == [(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}", {"question": "?"})]


def test_a_handler_error_comes_back_as_function_error(aws, function, monkeypatch):
    failure = {"errorMessage": "boom", "errorType": "ValueError"}
    monkeypatch.setattr(hooks, "invoke", Recorder(result=InvokeOutcome(json.dumps(failure).encode(), "Unhandled")))

    response = aws("lambda", REGION).invoke(FunctionName=function, Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read()) == failure


def test_an_event_invocation_is_accepted_with_202(aws, function, monkeypatch):
    runtime = Recorder(result=InvokeOutcome(b'"ignored"'))
    monkeypatch.setattr(hooks, "invoke", runtime)

    response = aws("lambda", REGION).invoke(FunctionName=function, InvocationType="Event", Payload=b'{"n": 1}')
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    assert [event for _, event in runtime.calls] == [{"n": 1}]


def test_function_create_update_and_delete_are_announced(aws, monkeypatch):
    changed, deleted = Recorder(), Recorder()
    monkeypatch.setattr(hooks, "function_changed", changed)
    monkeypatch.setattr(hooks, "function_deleted", deleted)
    client = aws("lambda", REGION)
    role = aws("iam", REGION).create_role(RoleName=unique("role"), AssumeRolePolicyDocument=TRUST)["Role"]
    name = unique("fn")

    client.create_function(FunctionName=name, Runtime="python3.13", Role=role["Arn"], Handler="index.handler",
                           Code={"ZipFile": zipped("def handler(e, c):\n    return 1\n")})
    assert changed.calls == [(ACCOUNT, REGION, name)]

    client.update_function_configuration(FunctionName=name, Environment={"Variables": {"STAGE": "two"}})
    assert changed.calls[-1] == (ACCOUNT, REGION, name)
    after_configuration = len(changed.calls)
    client.update_function_code(FunctionName=name, ZipFile=zipped("def handler(e, c):\n    return 2\n"))
    assert len(changed.calls) > after_configuration
    assert set(changed.calls) == {(ACCOUNT, REGION, name)}
    assert deleted.calls == []

    client.delete_function(FunctionName=name)
    assert deleted.calls == [(ACCOUNT, REGION, name)]


def test_a_stack_update_of_a_function_is_announced(aws, stacks, monkeypatch):
    changed = Recorder()
    monkeypatch.setattr(hooks, "function_changed", changed)
    name = unique("fnstack")

    def template(stage: str) -> dict[str, Any]:
        return {"Transform": "AWS::Serverless-2016-10-31", "Resources": {"Fn": {
            "Type": "AWS::Serverless::Function", "Properties": {
                "Runtime": "python3.13", "Handler": "index.handler",
                "InlineCode": "def handler(e, c):\n    return 1\n",
                "Environment": {"Variables": {"STAGE": stage}}}}},
            "Outputs": {"FnName": {"Value": {"Ref": "Fn"}}}}

    stacks(REGION).create(name, template("one"))
    function_name = stacks(REGION).outputs(name)["FnName"]
    assert changed.calls == [(ACCOUNT, REGION, function_name)]

    stacks(REGION).update(name, template("two"))
    assert len(changed.calls) > 1
    assert set(changed.calls) == {(ACCOUNT, REGION, function_name)}
    configuration = aws("lambda", REGION).get_function_configuration(FunctionName=function_name)
    assert configuration["Environment"]["Variables"] == {"STAGE": "two"}


def test_event_source_mapping_changes_are_announced(aws, function, monkeypatch):
    mappings_changed = Recorder()
    monkeypatch.setattr(hooks, "event_source_mappings_changed", mappings_changed)
    table = unique("source")
    stream_arn = aws("dynamodb", REGION).create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    client = aws("lambda", REGION)

    mapping = client.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=function,
                                                 StartingPosition="TRIM_HORIZON", BatchSize=10)
    assert mappings_changed.calls == [(ACCOUNT, REGION)]
    client.update_event_source_mapping(UUID=mapping["UUID"], BatchSize=5)
    assert mappings_changed.calls == [(ACCOUNT, REGION)] * 2
    assert client.get_event_source_mapping(UUID=mapping["UUID"])["BatchSize"] == 5
    client.delete_event_source_mapping(UUID=mapping["UUID"])
    assert mappings_changed.calls == [(ACCOUNT, REGION)] * 3


def test_a_templates_layers_and_architectures_reach_the_function(aws, stacks):
    # moto's model drops both; SAM's Layers (Powertools' public layer) and arm64 must show as deployed.
    name = unique("fnlayers")
    layer = f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27"
    template = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {"Fn": {
        "Type": "AWS::Serverless::Function", "Properties": {
            "Runtime": "python3.13", "Handler": "index.handler", "Architectures": ["arm64"],
            "Layers": [layer], "InlineCode": "def handler(e, c):\n    return 1\n"}}},
        "Outputs": {"FnName": {"Value": {"Ref": "Fn"}}}}
    stacks(REGION).create(name, template)
    function_name = stacks(REGION).outputs(name)["FnName"]
    configuration = aws("lambda", REGION).get_function_configuration(FunctionName=function_name)
    assert configuration["Architectures"] == ["arm64"]
    assert [entry["Arn"] for entry in configuration["Layers"]] == [layer]


def test_get_layer_version_by_arn_answers_as_lambda_does(aws):
    """Plain moto raises NotImplementedError here, which an AWS client (sam local's layer
    downloader) received as an HTML 500; Lambda answers the layer version or a JSON error."""
    from botocore.exceptions import ClientError

    client = aws("lambda", REGION)
    name = unique("layer")
    published = client.publish_layer_version(LayerName=name, Content={"ZipFile": zipped("X = 1")},
                                             CompatibleRuntimes=["python3.13"])
    found = client.get_layer_version_by_arn(Arn=published["LayerVersionArn"])
    assert (found["LayerVersionArn"], found["Version"], found["CompatibleRuntimes"]) == (
        published["LayerVersionArn"], 1, ["python3.13"])
    # Another account's layer is not here (Powertools' public one is: test_awslambda_public_layers.py).
    missing = [published["LayerVersionArn"][:-1] + "9",  # no such version
               f"arn:aws:lambda:{REGION}:111122223333:layer:someone-elses:3"]
    for arn in missing:
        with pytest.raises(ClientError) as refused:
            client.get_layer_version_by_arn(Arn=arn)
        assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as malformed:
        client.get_layer_version_by_arn(Arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:not-a-layer")
    assert malformed.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert malformed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
