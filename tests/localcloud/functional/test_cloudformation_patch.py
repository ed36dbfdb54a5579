"""localcloud.cloudformation: CloudFormation behaviour `sam deploy` relies on and moto 5.2.5 lacks.

Each test asserts on the resources a stack made (or removed), never only on a status moto could
report without doing the work. Plain moto ignores the SAM transform, gives change-set stacks no
Outputs, cannot resolve `!GetAtt Child.Outputs.X`, recreates nested stacks on update, keeps null
list elements for AWS::NoValue, never rolls back, accepts unknown resource types and skips custom
resources (../shared/design.md, "measured gaps").
Custom resource request/response shape: CloudFormation User Guide, "Custom resource request
objects" and "Custom resource response objects" (RequestType, ResponseURL, OldResourceProperties,
Status, PhysicalResourceId, Data).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any
from urllib.parse import urlparse

import pytest
from botocore.exceptions import ClientError

from localcloud.hooks import hooks
from localcloud.invocation import InvokeOutcome

from .conftest import ACCOUNT, unique

REGION = "eu-west-1"
HANDLER_V1 = "def handler(event, context):\n    return {'version': 1}\n"
HANDLER_V2 = "def handler(event, context):\n    return {'version': 2}\n"


def sam_function_template(code: str = HANDLER_V1, stage: str = "one") -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Runtime": "python3.13", "Handler": "index.handler", "InlineCode": code,
                    "Environment": {"Variables": {"STAGE": stage}},
                },
            },
        },
        "Outputs": {"FnArn": {"Value": {"Fn::GetAtt": ["Fn", "Arn"]}}, "FnName": {"Value": {"Ref": "Fn"}}},
    }


def queue_template(*names: str, bad: str | None = None) -> dict[str, Any]:
    """Queues named as given; `bad` adds a FIFO queue whose name lacks .fifo (SQS refuses it) after them."""
    resources: dict[str, Any] = {
        f"Q{i}": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name}} for i, name in enumerate(names)
    }
    if bad:
        resources["Bad"] = {"Type": "AWS::SQS::Queue", "DependsOn": sorted(resources),
                            "Properties": {"QueueName": bad, "FifoQueue": True}}
    return {"Resources": resources, "Outputs": {"First": {"Value": {"Ref": "Q0"}}}}


def queue_names(aws: Any) -> set[str]:
    urls = aws("sqs", REGION).list_queues().get("QueueUrls", [])
    return {url.rsplit("/", 1)[-1] for url in urls}


# --- the SAM transform and change sets ----------------------------------------------------------

def test_sam_function_becomes_a_lambda_function_and_its_role(aws, stacks):
    name = unique("sam")
    stack = stacks(REGION).create(name, sam_function_template())
    assert stack["StackStatus"] == "CREATE_COMPLETE"

    function_name = stacks(REGION).outputs(name)["FnName"]
    listed = {f["FunctionName"]: f for f in aws("lambda", REGION).list_functions()["Functions"]}
    assert function_name in listed
    assert listed[function_name]["Runtime"] == "python3.13"
    assert listed[function_name]["Environment"]["Variables"] == {"STAGE": "one"}

    role_name = stacks(REGION).physical_id(name, "FnRole")  # the role the transform adds
    role = aws("iam", REGION).get_role(RoleName=role_name)["Role"]
    assert listed[function_name]["Role"] == role["Arn"]
    assert "lambda.amazonaws.com" in json.dumps(role["AssumeRolePolicyDocument"])


def test_stack_update_changes_function_environment_and_code(aws, stacks):
    name = unique("env")
    stacks(REGION).create(name, sam_function_template(HANDLER_V1, "one"))
    function_name = stacks(REGION).outputs(name)["FnName"]
    before = aws("lambda", REGION).get_function_configuration(FunctionName=function_name)

    updated = stacks(REGION).update(name, sam_function_template(HANDLER_V2, "two"))
    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    after = aws("lambda", REGION).get_function_configuration(FunctionName=function_name)
    assert after["Environment"]["Variables"] == {"STAGE": "two"}
    assert after["CodeSha256"] != before["CodeSha256"]
    assert after["FunctionArn"] == before["FunctionArn"]


def timeout_queue_template(queue_name: str) -> dict[str, Any]:
    return {
        "Parameters": {"Timeout": {"Type": "Number"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": queue_name, "VisibilityTimeout": {"Ref": "Timeout"}}}},
        "Outputs": {"QueueUrl": {"Value": {"Ref": "Queue"}}, "Timeout": {"Value": {"Ref": "Timeout"}}},
    }


def test_change_set_stack_has_outputs_and_updates_through_change_sets(aws, stacks):
    name, queue = unique("cs"), unique("q")
    created = stacks(REGION).deploy(name, timeout_queue_template(queue), "CREATE", Timeout="30")
    assert created["StackStatus"] == "CREATE_COMPLETE"
    outputs = stacks(REGION).outputs(name)
    assert outputs["QueueUrl"].endswith("/" + queue)
    assert outputs["Timeout"] == "30"

    updated = stacks(REGION).deploy(name, timeout_queue_template(queue), "UPDATE", Timeout="60")
    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    assert stacks(REGION).outputs(name)["Timeout"] == "60"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in updated["Parameters"]} == {"Timeout": "60"}
    attributes = aws("sqs", REGION).get_queue_attributes(QueueUrl=outputs["QueueUrl"],
                                                         AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "60"


# --- nested stacks ------------------------------------------------------------------------------

CHILD = {
    "Parameters": {"Greeting": {"Type": "String"}, "ParameterName": {"Type": "String"}},
    "Resources": {"Setting": {"Type": "AWS::SSM::Parameter", "Properties": {
        "Name": {"Ref": "ParameterName"}, "Type": "String", "Value": {"Ref": "Greeting"}}}},
    "Outputs": {"Said": {"Value": {"Ref": "Greeting"}}, "Name": {"Value": {"Ref": "Setting"}}},
}


def parent_template(template_url: str, greeting: str, parameter_name: str) -> dict[str, Any]:
    return {
        "Resources": {"Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {
            "TemplateURL": template_url,
            "Parameters": {"Greeting": greeting, "ParameterName": parameter_name}}}},
        "Outputs": {"FromChild": {"Value": {"Fn::GetAtt": ["Child", "Outputs.Said"]}},
                    "ChildId": {"Value": {"Ref": "Child"}}},
    }


@pytest.fixture
def child_template_url(aws, aws_endpoint) -> str:
    bucket, key = unique("templates"), "nested/child.json"
    s3 = aws("s3", REGION)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(CHILD).encode())
    return f"{aws_endpoint.url}/{bucket}/{key}"  # path style on 127.0.0.1, as sam package writes locally


def test_nested_stack_output_resolves_and_updates_in_place(aws, stacks, child_template_url):
    name, parameter_name = unique("parent"), "/" + unique("nested")
    stacks(REGION).create(name, parent_template(child_template_url, "hello", parameter_name))
    outputs = stacks(REGION).outputs(name)
    assert outputs["FromChild"] == "hello"
    child_id = stacks(REGION).physical_id(name, "Child")
    assert stacks(REGION).status(child_id) == "CREATE_COMPLETE"
    assert aws("ssm", REGION).get_parameter(Name=parameter_name)["Parameter"]["Value"] == "hello"

    updated = stacks(REGION).update(name, parent_template(child_template_url, "bonjour", parameter_name))
    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    assert stacks(REGION).physical_id(name, "Child") == child_id  # the same child, not a new one
    assert stacks(REGION).status(child_id) == "UPDATE_COMPLETE"
    assert stacks(REGION).outputs(name)["FromChild"] == "bonjour"
    assert stacks(REGION).outputs(child_id)["Said"] == "bonjour"
    assert aws("ssm", REGION).get_parameter(Name=parameter_name)["Parameter"]["Value"] == "bonjour"


# --- failures roll back -------------------------------------------------------------------------

def test_failed_resource_rolls_back_create_and_removes_what_was_made(aws, stacks):
    name, good, bad = unique("rb"), unique("made-first"), unique("not-fifo")
    stack = stacks(REGION).create(name, queue_template(good, bad=bad))
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert not ({good, bad} & queue_names(aws))

    events = aws("cloudformation", REGION).describe_stack_events(StackName=name)["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["Bad"]
    assert ".fifo" in failed[0]["ResourceStatusReason"]


def test_failed_change_set_create_rolls_back(aws, stacks):
    name, good, bad = unique("rbcs"), unique("made-first"), unique("not-fifo")
    stack = stacks(REGION).deploy(name, queue_template(good, bad=bad), "CREATE")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert not ({good, bad} & queue_names(aws))


@pytest.mark.filterwarnings("ignore:Unable to delete Bad:UserWarning")  # moto: Bad never existed
def test_failed_update_rolls_back_to_the_previous_resources(aws, stacks):
    name, kept, added, bad = unique("urb"), unique("kept"), unique("added"), unique("not-fifo")
    stacks(REGION).create(name, queue_template(kept))

    stack = stacks(REGION).update(name, queue_template(kept, added, bad=bad))
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    names = queue_names(aws)
    assert kept in names
    assert not ({added, bad} & names)
    assert stacks(REGION).outputs(name)["First"].endswith("/" + kept)
    resources = aws("cloudformation", REGION).describe_stack_resources(StackName=name)["StackResources"]
    assert sorted(r["LogicalResourceId"] for r in resources) == ["Q0"]


@pytest.mark.parametrize("how", ["create_stack", "create_change_set"])
def test_unknown_resource_type_is_refused(aws, how):
    cfn = aws("cloudformation", REGION)
    name = unique("unknown")
    body = json.dumps({"Resources": {"Thing": {"Type": "AWS::Foo::Bar", "Properties": {}},
                                     "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name}}}})
    with pytest.raises(ClientError) as refused:
        if how == "create_stack":
            cfn.create_stack(StackName=name, TemplateBody=body)
        else:
            cfn.create_change_set(StackName=name, ChangeSetName="cs", TemplateBody=body, ChangeSetType="CREATE")
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert "Unrecognized resource types: [AWS::Foo::Bar]" in refused.value.response["Error"]["Message"]
    assert name not in queue_names(aws)
    with pytest.raises(ClientError):
        cfn.describe_stacks(StackName=name)


def test_no_value_inside_a_list_drops_the_element(aws, stacks):
    name = unique("novalue")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}

    def inline(policy_name: str) -> dict[str, Any]:
        return {"PolicyName": policy_name, "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}}

    def role(condition: str) -> dict[str, Any]:
        return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust, "Policies": [
            inline("always"), {"Fn::If": [condition, inline("sometimes"), {"Ref": "AWS::NoValue"}]}]}}

    template = {
        "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                       "IsDev": {"Fn::Equals": [{"Ref": "Env"}, "dev"]}},
        "Resources": {"Dropped": role("IsProd"), "Kept": role("IsDev")},
    }
    assert stacks(REGION).create(name, template)["StackStatus"] == "CREATE_COMPLETE"
    iam = aws("iam", REGION)
    dropped = iam.list_role_policies(RoleName=stacks(REGION).physical_id(name, "Dropped"))["PolicyNames"]
    kept = iam.list_role_policies(RoleName=stacks(REGION).physical_id(name, "Kept"))["PolicyNames"]
    assert dropped == ["always"]
    assert sorted(kept) == ["always", "sometimes"]


# --- Lambda-backed custom resources -------------------------------------------------------------

SERVICE_TOKEN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:answer-provider"


class Provider:
    """A custom resource provider, as its Lambda function would be: it answers on the ResponseURL."""

    def __init__(self, status: str = "SUCCESS"):
        self.status = status
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy

    def __call__(self, function_arn: str, event: dict[str, Any]) -> InvokeOutcome:
        with self._lock:
            self.requests.append((function_arn, event))
        props = event["ResourceProperties"]
        answer = {
            "Status": self.status, "Reason": "the provider said no" if self.status != "SUCCESS" else "",
            "PhysicalResourceId": event.get("PhysicalResourceId") or f"answer-{event['RequestId'][:8]}",
            "StackId": event["StackId"], "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": {"Answer": str(int(props["A"]) * int(props["B"]))},
        }
        url = event["ResponseURL"]
        assert urlparse(url).hostname == "127.0.0.1", url
        request = urllib.request.Request(url, data=json.dumps(answer).encode(), method="PUT",
                                         headers={"Content-Type": ""})
        with self._opener.open(request, timeout=5) as response:
            assert response.status == 200
        return InvokeOutcome()

    def types(self) -> list[str]:
        return [event["RequestType"] for _, event in self.requests]


def custom_template(a: int, b: int) -> dict[str, Any]:
    return {
        "Resources": {"Res": {"Type": "Custom::Answer",
                              "Properties": {"ServiceToken": SERVICE_TOKEN, "A": str(a), "B": str(b)}}},
        "Outputs": {"Answer": {"Value": {"Fn::GetAtt": ["Res", "Answer"]}}, "Physical": {"Value": {"Ref": "Res"}}},
    }


def test_custom_resource_create_update_delete(stacks, monkeypatch):
    provider = Provider()
    monkeypatch.setattr(hooks, "invoke", provider)
    name = unique("custom")

    assert stacks(REGION).create(name, custom_template(6, 7))["StackStatus"] == "CREATE_COMPLETE"
    outputs = stacks(REGION).outputs(name)
    assert outputs["Answer"] == "42"
    arn, create = provider.requests[0]
    assert arn == SERVICE_TOKEN
    assert create["RequestType"] == "Create"
    assert create["LogicalResourceId"] == "Res"
    assert create["ResourceType"] == "Custom::Answer"
    assert create["ResourceProperties"]["A"] == "6"
    assert outputs["Physical"] == f"answer-{create['RequestId'][:8]}"

    assert stacks(REGION).update(name, custom_template(6, 8))["StackStatus"] == "UPDATE_COMPLETE"
    _, update = provider.requests[-1]
    assert update["RequestType"] == "Update"
    assert update["PhysicalResourceId"] == outputs["Physical"]
    assert update["OldResourceProperties"]["B"] == "7"
    assert update["ResourceProperties"]["B"] == "8"
    assert stacks(REGION).outputs(name)["Answer"] == "48"

    assert stacks(REGION).delete(name) == "DELETE_COMPLETE"
    _, delete = provider.requests[-1]
    assert delete["RequestType"] == "Delete"
    assert delete["PhysicalResourceId"] == outputs["Physical"]
    assert provider.types() == ["Create", "Update", "Delete"]


def test_custom_resource_failed_response_fails_the_stack(aws, stacks, monkeypatch):
    provider = Provider(status="FAILED")
    monkeypatch.setattr(hooks, "invoke", provider)
    name = unique("customfail")

    stack = stacks(REGION).create(name, custom_template(6, 7))
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert provider.types()[0] == "Create"
    events = aws("cloudformation", REGION).describe_stack_events(StackName=name)["StackEvents"]
    assert any(e["ResourceStatus"] == "CREATE_FAILED" and e["LogicalResourceId"] == "Res"
               and "the provider said no" in (e.get("ResourceStatusReason") or "") for e in events)


# --- updates: conditions, resolved values, previous values -------------------------------------

def conditional_template(prod_queue: str, queue: str) -> dict[str, Any]:
    return {
        "Parameters": {"Env": {"Type": "String"}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
        "Resources": {
            "Always": {"Type": "AWS::SQS::Queue", "Properties": {
                "QueueName": queue, "VisibilityTimeout": {"Fn::If": ["IsProd", 60, 30]}}},
            "ProdOnly": {"Type": "AWS::SQS::Queue", "Condition": "IsProd", "Properties": {"QueueName": prod_queue}},
        },
    }


def visibility_timeout(aws: Any, queue: str) -> str:
    sqs = aws("sqs", REGION)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"]


def test_update_creates_and_deletes_by_condition_and_applies_changes_through_fn_if(aws, stacks):
    name, prod_queue, queue = unique("cond"), unique("prod-only"), unique("always")
    stacks(REGION).create(name, conditional_template(prod_queue, queue), Env="dev")
    assert prod_queue not in queue_names(aws)
    assert visibility_timeout(aws, queue) == "30"

    assert stacks(REGION).update(name, conditional_template(prod_queue, queue), Env="prod")["StackStatus"] \
        == "UPDATE_COMPLETE"
    assert prod_queue in queue_names(aws)  # its condition turned true: created
    assert visibility_timeout(aws, queue) == "60"  # the change arrived through Fn::If

    assert stacks(REGION).update(name, conditional_template(prod_queue, queue), Env="dev")["StackStatus"] \
        == "UPDATE_COMPLETE"
    assert prod_queue not in queue_names(aws)  # its condition turned false: deleted
    assert visibility_timeout(aws, queue) == "30"


def test_use_previous_value_keeps_inputs_and_resolves_ssm_names_again(aws, stacks):
    name = unique("prev")
    template = {
        "Parameters": {
            "Layer": {"Type": "AWS::SSM::Parameter::Value<String>",
                      "Default": "/aws/service/powertools/python/arm64/python3.13/latest"},
            "Stage": {"Type": "String"}},
        "Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name}}},
        "Outputs": {"Layer": {"Value": {"Ref": "Layer"}}, "Stage": {"Value": {"Ref": "Stage"}}},
    }
    stacks(REGION).create(name, template, Stage="one")
    layer = stacks(REGION).outputs(name)["Layer"]
    assert layer.startswith(f"arn:aws:lambda:{REGION}:")

    cfn = aws("cloudformation", REGION)
    for stage in ("two", "three"):  # twice: the second update is where a reused resolved value fails
        cfn.update_stack(StackName=name, TemplateBody=json.dumps(template), Parameters=[
            {"ParameterKey": "Layer", "UsePreviousValue": True}, {"ParameterKey": "Stage", "ParameterValue": stage}])
        assert stacks(REGION).status(name) == "UPDATE_COMPLETE"
        assert stacks(REGION).outputs(name) == {"Layer": layer, "Stage": stage}

    # `sam deploy` sends UsePreviousValue for every parameter it does not override, in a change set.
    for stage in ("four", "five"):
        change_set = f"to-{stage}"
        cfn.create_change_set(StackName=name, ChangeSetName=change_set, TemplateBody=json.dumps(template),
                              ChangeSetType="UPDATE", Parameters=[{"ParameterKey": "Layer", "UsePreviousValue": True},
                                                                  {"ParameterKey": "Stage", "ParameterValue": stage}])
        cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
        assert stacks(REGION).status(name) == "UPDATE_COMPLETE"
        assert stacks(REGION).outputs(name) == {"Layer": layer, "Stage": stage}


def test_an_update_change_set_lists_adds_modifies_with_replacement_and_removes(aws, stacks):
    # moto lists every resource of an UPDATE change set as Add (or nothing when only parameters
    # change); CloudFormation lists what the update would do.
    name = unique("plan")
    template = {
        "Parameters": {"Mode": {"Type": "String"}, "Label": {"Type": "String"}},
        "Conditions": {"Blue": {"Fn::Equals": [{"Ref": "Mode"}, "blue"]},
                       "Green": {"Fn::Equals": [{"Ref": "Mode"}, "green"]}},
        "Resources": {
            "BlueQueue": {"Type": "AWS::SQS::Queue", "Condition": "Blue"},
            "GreenQueue": {"Type": "AWS::SQS::Queue", "Condition": "Green"},
            "Switch": {"Type": "AWS::SSM::Parameter", "Properties": {
                "Name": f"/{name}/switch", "Type": "String",
                "Value": {"Fn::If": ["Blue", "blue-side", "green-side"]}}},
            "Untouched": {"Type": "AWS::SSM::Parameter", "Properties": {
                "Name": f"/{name}/label", "Type": "String", "Value": {"Ref": "Label"}}},
        },
    }
    stacks().deploy(name, template, Mode="blue", Label="same")
    cfn = aws("cloudformation")
    cfn.create_change_set(StackName=name, ChangeSetName="flip", TemplateBody=json.dumps(template),
                          ChangeSetType="UPDATE", Parameters=[
                              {"ParameterKey": "Mode", "ParameterValue": "green"},
                              {"ParameterKey": "Label", "UsePreviousValue": True}])
    changes = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]
               for c in cfn.describe_change_set(ChangeSetName="flip", StackName=name)["Changes"]}
    assert {k: v["Action"] for k, v in changes.items()} == {
        "GreenQueue": "Add", "Switch": "Modify", "BlueQueue": "Remove"}
    assert changes["Switch"]["Replacement"] in ("True", "False")
    assert changes["BlueQueue"]["PhysicalResourceId"]

    cfn.execute_change_set(ChangeSetName="flip", StackName=name)
    assert aws("ssm").get_parameter(Name=f"/{name}/switch")["Parameter"]["Value"] == "green-side"
    queues = aws("sqs").list_queues().get("QueueUrls", [])
    assert any("GreenQueue" in url for url in queues if name in url)
    assert not any("BlueQueue" in url for url in queues if name in url)


RULED = {
    "Parameters": {"Mode": {"Type": "String"}, "Levels": {"Type": "CommaDelimitedList", "Default": ",,"}},
    "Rules": {"LevelsGiven": {
        "RuleCondition": {"Fn::Equals": [{"Ref": "Mode"}, "records"]},
        "Assertions": [{"Assert": {"Fn::Not": [{"Fn::EachMemberEquals": [{"Ref": "Levels"}, ""]}]},
                        "AssertDescription": "records mode needs its levels"}]}},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
}


@pytest.mark.parametrize("as_sam_does", [False, True], ids=["CreateStack", "a change set"])
def test_template_rules_refuse_a_deploy_before_anything_is_made(aws, stacks, as_sam_does):
    """CloudFormation checks a template's Rules first and fails the call with the assertion's
    description (moto ignores the section)."""
    name = unique("rules")
    make = stacks(REGION).deploy if as_sam_does else stacks(REGION).create
    with pytest.raises(ClientError, match="records mode needs its levels"):
        make(name, RULED, Mode="records")
    assert name not in {s["StackName"] for s in aws("cloudformation").list_stacks()["StackSummaries"]}
    assert make(unique("rules"), RULED, Mode="records", Levels="a,,")["StackStatus"] == "CREATE_COMPLETE"
    assert make(unique("rules"), RULED, Mode="policy")["StackStatus"] == "CREATE_COMPLETE"  # the rule does not apply
