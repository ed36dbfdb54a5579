"""What a deploy would change, read from a real change set: `sam deploy --no-execute-changeset`
makes it (artifacts uploaded, template packaged, exactly as the rollout would), CloudFormation
describes it, and the change set (and a stack that existed only to hold it) is deleted again.
`plan` and `rollout --dry-run` show one per target of the plan (previews)."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from typing import Any

from globalctl import aws
from globalctl.context import Context
from globalctl.exceptions import StackNotFoundError
from globalctl.rollout.plan import Plan
from globalctl.stacks import DeployFailed, deploy_command, last_error
from globalctl.topology import Environment, Topology

STATEFUL_TYPES = {"AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table"}
CHANGE_SET_ARN = re.compile(r"arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:\d+:changeSet/[^\s]+")


@dataclass
class ChangeSummary:
    env: str
    stack_name: str
    new_stack: bool = False
    changes: list[dict[str, str]] = field(default_factory=list)  # action, logical_id, type, replacement
    note: str = ""  # why there is no change set (e.g. it depends on stacks not deployed yet)

    def count(self, action: str) -> int:
        return sum(1 for change in self.changes if change["action"] == action)

    @property
    def replaced(self) -> list[str]:
        return [c["logical_id"] for c in self.changes if c["action"] == "Modify" and c["replacement"] == "True"]

    @property
    def stateful_losses(self) -> list[str]:
        """Resources holding data that would be replaced or removed (the table)."""
        return [f"{c['logical_id']} ({c['action'].lower()}{', replaced' if c['replacement'] == 'True' else ''})"
                for c in self.changes if c["type"] in STATEFUL_TYPES
                and (c["action"] == "Remove" or c["replacement"] == "True")]

    def to_dict(self) -> dict[str, Any]:
        return {"env": self.env, "stack_name": self.stack_name, "new_stack": self.new_stack, "note": self.note,
                "added": self.count("Add"), "modified": self.count("Modify"), "removed": self.count("Remove"),
                "replaced": self.replaced, "stateful_losses": self.stateful_losses, "changes": self.changes}


def preview(topology: Topology, env: Environment, parameters: dict[str, str], release: str) -> ChangeSummary:
    existed = aws.describe_stack(env.stack_name, env.region) is not None
    command = deploy_command(topology, env, parameters, release) + ["--no-execute-changeset"]
    result = subprocess.run(command, cwd=topology.root, env={**os.environ, "SAM_CLI_TELEMETRY": "0"},  # noqa: S603
                            capture_output=True, text=True, timeout=1800, check=False)
    output = result.stdout + result.stderr
    summary = ChangeSummary(env.name, env.stack_name, new_stack=not existed)
    if "No changes to deploy" in output:
        return summary
    found = CHANGE_SET_ARN.search(output)
    if result.returncode != 0 or not found:
        raise DeployFailed(f"{env.name}: could not make a change set: {last_error(output)}")
    cloudformation = aws.client("cloudformation", env.region)
    arn = found.group(0).rstrip(".")
    described = cloudformation.describe_change_set(ChangeSetName=arn)
    for change in described.get("Changes", []):
        resource = change.get("ResourceChange", {})
        summary.changes.append({"action": resource.get("Action", "?"), "logical_id": resource.get("LogicalResourceId", "?"),
                                "type": resource.get("ResourceType", "?"),
                                "replacement": str(resource.get("Replacement", ""))})
    cloudformation.delete_change_set(ChangeSetName=arn)
    if not existed:  # the stack was made only to hold the change set (REVIEW_IN_PROGRESS)
        cloudformation.delete_stack(StackName=env.stack_name)
    return summary


def previews(context: Context, plan: Plan) -> list[ChangeSummary]:
    """The change summary of every target of the plan, in plan order."""
    summaries = []
    for target in plan.targets:
        env = context.topology.env(target.env)
        try:
            parameters = dict(context.stack_parameters(target.env))
        except StackNotFoundError as missing:
            # The routing takes the regions' outputs: it can be previewed once they are deployed.
            summaries.append(ChangeSummary(target.env, env.stack_name, new_stack=True, note=str(missing)))
            continue
        if target.kind == "region":
            parameters["Release"] = plan.release
        summaries.append(preview(context.topology, env, parameters, plan.release))
    return summaries
