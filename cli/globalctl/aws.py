"""boto3 access for the engines; boto3 itself loads on the first client made (keeps `globalctl --help` fast)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from globalctl.exceptions import GlobalctlError, StackNotFoundError


@lru_cache(maxsize=None)
def client(service: str, region: str) -> Any:
    import boto3
    import botocore.session
    from botocore.config import Config

    # Standard retry mode: exponential backoff with jitter, bounded attempts and timeouts. Five
    # retries unless the user set max_attempts (AWS_MAX_ATTEMPTS or the profile), which a Config
    # naming it would override.
    core = botocore.session.get_session()
    retries: dict[str, Any] = {"mode": "standard"}
    if core.get_config_variable("max_attempts") is None:
        retries["max_attempts"] = 5
    config = Config(retries=retries, connect_timeout=5, read_timeout=30)
    return boto3.session.Session(botocore_session=core).client(service, region_name=region, config=config)


@contextmanager
def reachable() -> Iterator[None]:
    """No credentials, or an endpoint that does not answer, as one line a user can act on."""
    import os

    from botocore.exceptions import EndpointConnectionError, NoCredentialsError

    try:
        yield
    except NoCredentialsError:
        raise GlobalctlError("no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID)") from None
    except EndpointConnectionError as exc:
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
        hint = " (is the local cloud running? `globalctl local up`)" if "127.0.0.1" in endpoint or "localhost" in endpoint else ""
        raise GlobalctlError(f"cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}{hint}") from None


def describe_stack(stack_name: str, region: str) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        with reachable():
            stacks = client("cloudformation", region).describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise GlobalctlError(f"{region}: describe stack {stack_name}: {exc}") from None
    return stacks[0] if stacks else None


def stack_outputs(stack_name: str, region: str) -> dict[str, str]:
    stack = describe_stack(stack_name, region)
    if stack is None:
        raise StackNotFoundError(f"stack {stack_name} is not deployed in {region}")
    return outputs_of(stack)


def stack_parameters(stack_name: str, region: str) -> dict[str, str]:
    stack = describe_stack(stack_name, region)
    if stack is None:
        return {}
    return parameters_of(stack)


# A describe_stacks entry's lists as mappings; a stack that is not deployed (None) has none.

def outputs_of(stack: dict | None) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs", [])}


def parameters_of(stack: dict | None) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in (stack or {}).get("Parameters", [])}


def tags_of(stack: dict | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in (stack or {}).get("Tags", [])}
