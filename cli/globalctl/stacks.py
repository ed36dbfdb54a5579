"""CloudFormation stacks of the topology: record a stack as it is, deploy a release with the real
`sam deploy --config-env <env>`, wait until a stack settles, and put a stack back to what was
recorded. The rollout, the rollback, the routing weights, failover and destroy all go through here.

Rolling back to the recorded template and parameters (CloudFormation UpdateStack) needs no build
artifacts of the previous release: the recorded template already points at its uploaded code.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from globalctl import aws
from globalctl.exceptions import GlobalctlError
from globalctl.inputs import check_release
from globalctl.topology import Environment, Topology, sam_overrides

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
BUSY = ("_IN_PROGRESS",)
BROKEN = ("UPDATE_ROLLBACK_FAILED", "ROLLBACK_FAILED", "DELETE_FAILED")
# CloudFormation takes an inline TemplateBody up to 51,200 bytes; a larger one goes through S3.
MAX_TEMPLATE_BODY = 51_200
SAM_TIMEOUT_SECONDS = 3600


class DeployFailed(GlobalctlError):
    """sam deploy (or a restore) did not leave the stack complete."""


@dataclass
class Snapshot:
    """A stack as it stood before this rollout touched it; None fields: it did not exist."""

    env: str
    stack_name: str
    region: str
    template: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    status: str | None = None

    @property
    def existed(self) -> bool:
        return self.template is not None

    @property
    def release(self) -> str | None:
        return self.tags.get("release") or self.parameters.get("Release")

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Any) -> Snapshot:
        """The inverse of to_dict; a hand-edited record raises ValueError naming what is wrong."""
        if not isinstance(data, dict) or not {"env", "stack_name", "region"} <= set(data) <= set(_SNAPSHOT_FIELDS):
            raise ValueError(f"a stack record needs env, stack_name and region, and only {', '.join(_SNAPSHOT_FIELDS)}")
        for key in ("env", "stack_name", "region"):
            if not isinstance(data[key], str):
                raise ValueError(f"a stack record's {key} must be a string, got {data[key]!r}")
        for key in ("parameters", "tags"):
            value = data.get(key, {})
            if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                      for k, v in value.items()):
                raise ValueError(f"a stack record's {key} must map strings to strings")
        for key in ("template", "status"):
            if not isinstance(data.get(key), (str, type(None))):
                raise ValueError(f"a stack record's {key} must be a string or null")
        return cls(**data)


_SNAPSHOT_FIELDS = ("env", "stack_name", "region", "template", "parameters", "tags", "status")


def check_deployable(env: Environment) -> dict | None:
    """The stack, if any; refuses a stack in flight or stuck, as CloudFormation would refuse it."""
    stack = aws.describe_stack(env.stack_name, env.region)
    if stack is None:
        return None
    status = stack["StackStatus"]
    if status.endswith(BUSY):
        raise GlobalctlError(f"{env.name}: stack {env.stack_name} is {status}; wait for it to finish")
    if status in BROKEN:
        raise GlobalctlError(f"{env.name}: stack {env.stack_name} is {status}; repair it first "
                             f"(see `aws cloudformation continue-update-rollback`)")
    return stack


def snapshot(env: Environment) -> Snapshot:
    stack = check_deployable(env)
    if stack is None or stack["StackStatus"] in ("REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE"):
        return Snapshot(env.name, env.stack_name, env.region)
    body = aws.client("cloudformation", env.region).get_template(
        StackName=env.stack_name, TemplateStage="Original")["TemplateBody"]
    return Snapshot(
        env.name, env.stack_name, env.region,
        template=body if isinstance(body, str) else json.dumps(body),
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])},
        tags={t["Key"]: t["Value"] for t in stack.get("Tags", [])},
        status=stack["StackStatus"],
    )


def release_tags(env: Environment, release: str) -> list[str]:
    """samconfig's tags plus `release=<id>`, one `k=v` argument each (sam's --tags takes several)."""
    tags = dict(pair.split("=", 1) for pair in str(env.raw.get("tags", "")).split() if "=" in pair)
    tags["release"] = check_release(release, DeployFailed)
    return [f"{key}={value}" for key, value in tags.items()]


def deploy_command(topology: Topology, env: Environment, parameters: dict[str, str], release: str,
                   template_file: Path | None = None) -> list[str]:
    """sam's argument list: never a shell string. --parameter-overrides and --tags take several
    values (samcli OptionNargs), so each `Key=Value` is its own argument, in SAM's own quoting.
    `template_file` (the release's build) is deployed instead of what samconfig and SAM would pick."""
    from globalctl.lint import sam_executable

    template = ["--template-file", str(template_file)] if template_file else []
    return [sam_executable(), "deploy", "--config-file", str(topology.config_path.resolve()),
            "--config-env", env.name, *template, "--parameter-overrides", *(sam_overrides(parameters) or [""]),
            "--tags", *release_tags(env, release), "--no-progressbar"]


def sam_deploy(topology: Topology, env: Environment, parameters: dict[str, str], release: str,
               template_file: Path | None = None) -> str:
    """Run `sam deploy --config-env <env>` with the release; its output, or DeployFailed."""
    command = deploy_command(topology, env, parameters, release, template_file)
    environ = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run(command, cwd=topology.root, env=environ, capture_output=True, text=True,  # noqa: S603
                            timeout=SAM_TIMEOUT_SECONDS, check=False)
    output = result.stdout + result.stderr
    if result.returncode != 0 and "No changes to deploy" not in output:
        raise DeployFailed(f"{env.name}: sam deploy failed: {last_error(output)}")
    return output


def last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error")]
    return (errors or lines or ["no output"])[-1][:400]


def restore(snap: Snapshot) -> None:
    """Put the stack back to its recorded template and parameters (or delete it if it was new)."""
    from botocore.exceptions import ClientError

    cloudformation = aws.client("cloudformation", snap.region)
    if not snap.existed:
        if aws.describe_stack(snap.stack_name, snap.region) is not None:
            cloudformation.delete_stack(StackName=snap.stack_name)
            cloudformation.get_waiter("stack_delete_complete").wait(
                StackName=snap.stack_name, WaiterConfig={"Delay": 2, "MaxAttempts": 900})
        return
    template = _template_argument(snap)
    try:
        cloudformation.update_stack(
            StackName=snap.stack_name, **template, Capabilities=CAPABILITIES,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in snap.parameters.items()],
            Tags=[{"Key": k, "Value": v} for k, v in snap.tags.items()])
    except ClientError as error:
        if "No updates are to be performed" in str(error):
            return
        raise DeployFailed(f"{snap.env}: restoring {snap.stack_name}: {error}") from None
    wait_settled(snap.region, snap.stack_name)
    stack = aws.describe_stack(snap.stack_name, snap.region) or {}
    if stack.get("StackStatus") != "UPDATE_COMPLETE":
        raise DeployFailed(f"{snap.env}: restoring {snap.stack_name} ended {stack.get('StackStatus')}")


def _template_argument(snap: Snapshot) -> dict[str, str]:
    body = snap.template or ""
    if len(body.encode()) <= MAX_TEMPLATE_BODY:
        return {"TemplateBody": body}
    bucket = aws.stack_outputs("aws-sam-cli-managed-default", snap.region).get("SourceBucket")
    if not bucket:
        raise DeployFailed(f"{snap.env}: the recorded template is over 51,200 bytes and there is no SAM "
                           f"managed bucket in {snap.region} to stage it")
    key = f"globalctl/restore/{snap.stack_name}.template"
    aws.client("s3", snap.region).put_object(Bucket=bucket, Key=key, Body=body.encode())
    return {"TemplateURL": f"https://{bucket}.s3.{snap.region}.amazonaws.com/{key}"}


def wait_settled(region: str, stack_name: str) -> str:
    """Wait until the stack is no longer in progress; its final status."""
    import time

    deadline = time.monotonic() + SAM_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        stack = aws.describe_stack(stack_name, region)
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        if not status.endswith(BUSY):
            return status
        time.sleep(2)
    raise DeployFailed(f"{stack_name} in {region} did not settle within {SAM_TIMEOUT_SECONDS} s")


def delete(env: Environment) -> float | None:
    """Delete the env's stack and wait until it is gone: the seconds it took, None when it was not
    deployed. DELETE_FAILED (or any end but DELETE_COMPLETE) is an error naming the stack."""
    import time

    stack = aws.describe_stack(env.stack_name, env.region)
    if stack is None:
        return None
    started = time.monotonic()
    cloudformation = aws.client("cloudformation", env.region)
    cloudformation.delete_stack(StackName=env.stack_name)
    status = wait_settled(env.region, env.stack_name)
    if status == "DELETE_FAILED":
        raise GlobalctlError(f"{env.name}: stack {env.stack_name} in {env.region} is DELETE_FAILED"
                             f"{failure_reason(cloudformation, stack['StackId'])}; fix it and run destroy again")
    if status != "DELETE_COMPLETE":
        raise GlobalctlError(f"{env.name}: stack {env.stack_name} in {env.region} ended {status}, not deleted")
    return time.monotonic() - started


def failure_reason(cloudformation: Any, stack: str, failing: str = "DELETE_FAILED") -> str:
    """` (why)`: the latest reason among the stack's events whose status ends with `failing`
    (DELETE_FAILED; FAILED for any), or "" when there is none."""
    try:
        events = cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
    except Exception:  # noqa: BLE001 - the reason is a courtesy; the status is the error
        return ""
    reasons = [e.get("ResourceStatusReason", "") for e in events if str(e.get("ResourceStatus", "")).endswith(failing)]
    reason = next((r for r in reasons if r), "")
    return f" ({' '.join(reason.split())[:300]})" if reason else ""
