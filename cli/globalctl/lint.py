"""Template checks: cfn-lint on every template file for every region it deploys to, and
`sam validate --lint` on the root. `sam validate --lint` skips nested child templates, so the
children are found in the root's AWS::Serverless::Application / AWS::CloudFormation::Stack
resources and linted one by one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from globalctl.checks import Finding
from globalctl.exceptions import ToolMissingError
from globalctl.topology import Topology

NESTED_TYPES = ("AWS::Serverless::Application", "AWS::CloudFormation::Stack")


def nested_templates(template: Path) -> list[Path]:
    """Local child templates of a template (Location / TemplateURL that are paths, not URLs)."""
    from cfnlint.decode import decode

    data, _ = decode(str(template))
    if data is None:
        return []
    children = []
    for resource in (data.get("Resources") or {}).values():
        if not isinstance(resource, dict) or resource.get("Type") not in NESTED_TYPES:
            continue
        props = resource.get("Properties") or {}
        location = props.get("Location", props.get("TemplateURL"))
        if isinstance(location, str) and "://" not in location:
            child = (template.parent / location).resolve()
            children.append(child)
            children.extend(nested_templates(child))
    return children


def lint_plan(topology: Topology) -> dict[Path, list[str]]:
    """Every template file -> the regions it deploys to."""
    plan: dict[Path, set[str]] = {}

    def add(path: Path, regions: list[str]) -> None:
        plan.setdefault(path.resolve(), set()).update(r for r in regions if r)

    region_codes = [env.region for env in topology.regions]
    for env in topology.regions:
        root = topology.root / env.template_file
        add(root, [env.region])
        if root.is_file():
            for child in nested_templates(root):
                add(child, region_codes)
    for env in (topology.table, topology.routing):
        if env is not None:
            root = topology.root / env.template_file
            add(root, [env.region])
            if root.is_file():
                for child in nested_templates(root):
                    add(child, [env.region])
    return {path: sorted(regions) for path, regions in sorted(plan.items())}


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.resolve()))
    except ValueError:
        return str(path)


def run_cfn_lint(topology: Topology) -> list[Finding]:
    from cfnlint.api import ManualArgs, lint_file

    findings = []
    for path, regions in lint_plan(topology).items():
        name = _relative(path, topology.root)
        if not path.is_file():
            findings.append(Finding(name, "template", "no such template file"))
            continue
        for match in lint_file(path, config=ManualArgs(regions=regions or ["us-east-1"])):
            findings.append(Finding(f"{name}:{match.linenumber}", f"cfn-lint {match.rule.id}", match.message))
    return findings


def sam_executable() -> str:
    beside = Path(sys.executable).with_name("sam")
    found = str(beside) if beside.is_file() else shutil.which("sam")
    if not found:
        raise ToolMissingError("sam (aws-sam-cli) is not installed: run `make venv` or pip install aws-sam-cli")
    return found


def run_sam_validate(topology: Topology) -> list[Finding]:
    findings = []
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    for region_env in topology.regions[:1]:  # one root template; its region picks the partition
        template = region_env.template_file
        proc = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [sam_executable(), "validate", "--lint", "--template-file", template, "--region", region_env.region],
            cwd=topology.root, env=env, capture_output=True, text=True, timeout=300, check=False,
        )
        if proc.returncode != 0:
            lines = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
            for line in lines or [f"exit code {proc.returncode}"]:
                findings.append(Finding(template, "sam validate", line))
    return findings
