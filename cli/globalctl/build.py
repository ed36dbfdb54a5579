"""One build per rollout: `sam build` of the working tree into a folder of the release's own, which
every region then deploys (`sam deploy --template-file <build>/template.yaml`).

Without it, `sam deploy --config-env <env>` deploys whatever `.aws-sam/build/template.yaml` a
past `sam build` left (SAM prefers it to the source template), so an edit made since would not go
out, yet the release id, the gates and the records would say it had. The build folder is
`.globalctl/releases/<release>/build`, emptied before the build: never a leftover. SAM's build
cache (`cached = true` in samconfig) is keyed by a checksum of each function's source folder, so
it reuses only what is byte for byte unchanged.

What went out is recorded beside it (code.json): each function's CodeSha256 as Lambda reports it
after the canary's deploy (base64 SHA-256 of the deployment package,
https://docs.aws.amazon.com/lambda/latest/api/API_FunctionConfiguration.html). SAM zips a build
folder deterministically (fixed timestamps and permissions, samcli.lib.package.utils.make_zip),
so every region deployed from the same build reports the same values; a region that does not runs
other code than its release's, which the gate and `globalctl status` say.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from globalctl import aws
from globalctl.exceptions import GlobalctlError
from globalctl.inputs import inside
from globalctl.topology import Environment, Topology

BUILD_TIMEOUT_SECONDS = 600


class BuildFailed(GlobalctlError):
    """`sam build` of the release failed."""


@dataclass(frozen=True)
class Build:
    release: str
    folder: Path

    @property
    def template(self) -> Path:
        return self.folder / "template.yaml"

    def template_sha256(self) -> str:
        return hashlib.sha256(self.template.read_bytes()).hexdigest()


def build_folder(topology: Topology, release: str) -> Path:
    root = topology.root.resolve() / ".globalctl"
    return inside(root, ("releases", "folder"), (release, "release id"), ("build", "folder"))


def existing(topology: Topology, release: str) -> Build | None:
    """The release's build when it was made (a resumed rollout deploys the same one)."""
    build = Build(release, build_folder(topology, release))
    return build if build.template.is_file() else None


def sam_build(topology: Topology, release: str) -> Build:
    """`sam build` of the region template into the release's own, emptied, build folder."""
    from globalctl.lint import sam_executable

    regions = topology.regions
    if not regions:
        raise BuildFailed(f"{topology.config_path}: no region environment to build")
    template = (topology.root / regions[0].template_file).resolve()
    folder = build_folder(topology, release)
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    command = [sam_executable(), "build", "--config-file", str(topology.config_path.resolve()),
               "--template-file", str(template), "--build-dir", str(folder),
               "--cache-dir", str(topology.root.resolve() / ".globalctl" / "build-cache")]
    environ = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run(command, cwd=topology.root, env=environ, capture_output=True, text=True,  # noqa: S603
                            timeout=BUILD_TIMEOUT_SECONDS, check=False)
    if result.returncode != 0 or not (folder / "template.yaml").is_file():
        output = [line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()]
        errors = [line for line in output if line.startswith("Error")] or output or ["no output"]
        raise BuildFailed(f"sam build of {release} failed: {errors[-1][:400]}")
    return Build(release, folder)


def deployed_functions(env: Environment) -> dict[str, dict[str, Any]]:
    """Each Lambda function of the env's stack (nested stacks included), by its logical path
    (`Api/ApiFunction`), mapped to its configuration as Lambda reports it."""
    cloudformation = aws.client("cloudformation", env.region)
    lambda_ = aws.client("lambda", env.region)
    functions: dict[str, dict[str, Any]] = {}

    def walk(stack: str, prefix: str) -> None:
        paginator = cloudformation.get_paginator("list_stack_resources")
        for page in paginator.paginate(StackName=stack):
            for resource in page["StackResourceSummaries"]:
                kind, logical = resource["ResourceType"], resource["LogicalResourceId"]
                if kind == "AWS::CloudFormation::Stack" and resource.get("PhysicalResourceId"):
                    walk(resource["PhysicalResourceId"], f"{prefix}{logical}/")
                elif kind == "AWS::Lambda::Function" and resource.get("PhysicalResourceId"):
                    functions[f"{prefix}{logical}"] = lambda_.get_function_configuration(
                        FunctionName=resource["PhysicalResourceId"])

    with aws.reachable():
        walk(env.stack_name, "")
    return functions


def deployed_code(env: Environment) -> dict[str, str]:
    """Each function's CodeSha256 as Lambda reports it, by logical path (see deployed_functions)."""
    return {path: config["CodeSha256"] for path, config in deployed_functions(env).items()}


def code_differences(expected: dict[str, str], deployed: dict[str, str]) -> list[str]:
    """The functions whose deployed code is not the release's (missing ones included)."""
    return sorted(name for name in set(expected) | set(deployed) if expected.get(name) != deployed.get(name))
