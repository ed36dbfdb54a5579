"""One extended moto control plane on loopback for the functional tests of the services' moto
patches (`localcloud.<service>.patch`, `localcloud.cloudformation`).

`AwsEndpoint()` installs the patches into moto for the rest of the process, so these tests
cannot compare with plain moto side by side; each asserts the AWS behaviour plain moto 5.2.5 lacks
(module docstrings of the patches and ../shared/design.md, "measured gaps").
moto's state is process-global: every test names its resources with `unique()`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable, Iterator

import boto3
import pytest
from botocore.config import Config

from localcloud.aws_endpoint import AwsEndpoint
from tests.support.polling import wait_until
from localcloud.hooks import hooks

ACCOUNT = "123456789012"  # moto's default account
NO_RETRY = Config(retries={"total_max_attempts": 1})
TERMINAL = {  # the statuses a stack operation can end in (the *_FAILED ones when nothing rolls back)
    "CREATE_COMPLETE", "CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_COMPLETE",
    "UPDATE_FAILED", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED", "DELETE_COMPLETE", "DELETE_FAILED",
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    return wait_until(condition, timeout, "the condition", interval)


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[AwsEndpoint]:
    cp = AwsEndpoint(port=0)
    cp.start()
    try:
        yield cp
    finally:
        cp.stop()


@pytest.fixture(autouse=True)
def _endpoint(aws_endpoint: AwsEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    # Custom resources PUT their answer under this URL; each test gets the hooks back as it found them.
    monkeypatch.setattr(hooks, "endpoint_url", aws_endpoint.url)


@pytest.fixture
def aws(aws_endpoint: AwsEndpoint) -> Callable[..., Any]:
    """aws("lambda", "eu-west-1") -> a boto3 client on the local endpoint, no retries."""

    def client(service: str, region: str = "eu-west-1") -> Any:
        return boto3.client(service, region_name=region, endpoint_url=aws_endpoint.url, config=NO_RETRY)

    return client


class Stacks:
    """CloudFormation in one region, through the local endpoint; waits by polling the stack status."""

    def __init__(self, client: Any):
        self.cfn = client

    def status(self, name: str) -> str:
        return self.cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]

    def wait(self, name: str, timeout: float = 15.0) -> dict[str, Any]:
        # moto runs stack operations inside the API call; the poll only guards against that changing.
        wait_for(lambda: self.status(name) in TERMINAL, timeout)
        return self.cfn.describe_stacks(StackName=name)["Stacks"][0]

    def create(self, name: str, template: dict[str, Any] | str, **parameters: str) -> dict[str, Any]:
        self.cfn.create_stack(StackName=name, TemplateBody=_body(template), Parameters=_params(parameters),
                              Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
        return self.wait(name)

    def update(self, name: str, template: dict[str, Any] | str, **parameters: str) -> dict[str, Any]:
        self.cfn.update_stack(StackName=name, TemplateBody=_body(template), Parameters=_params(parameters),
                              Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
        return self.wait(name)

    def deploy(self, name: str, template: dict[str, Any] | str, change_set_type: str = "CREATE",
               **parameters: str) -> dict[str, Any]:
        """As `sam deploy` does: CreateChangeSet, then ExecuteChangeSet."""
        change_set = unique("cs")
        self.cfn.create_change_set(StackName=name, ChangeSetName=change_set, TemplateBody=_body(template),
                                   Parameters=_params(parameters), ChangeSetType=change_set_type,
                                   Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
        self.cfn.execute_change_set(ChangeSetName=change_set, StackName=name)
        return self.wait(name)

    def delete(self, name: str) -> str:
        stack_id = self.cfn.describe_stacks(StackName=name)["Stacks"][0]["StackId"]
        self.cfn.delete_stack(StackName=name)
        # A deleted stack is only visible by id; its status is the last word.
        return wait_for(lambda: (s := self.status(stack_id)) in TERMINAL and s)

    def outputs(self, name: str) -> dict[str, str]:
        stack = self.cfn.describe_stacks(StackName=name)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def physical_id(self, name: str, logical_id: str) -> str:
        resource = self.cfn.describe_stack_resource(StackName=name, LogicalResourceId=logical_id)
        return resource["StackResourceDetail"]["PhysicalResourceId"]


def _body(template: dict[str, Any] | str) -> str:
    return template if isinstance(template, str) else json.dumps(template)


def _params(parameters: dict[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]


@pytest.fixture
def stacks(aws: Callable[..., Any]) -> Callable[[str], Stacks]:
    return lambda region="eu-west-1": Stacks(aws("cloudformation", region))
