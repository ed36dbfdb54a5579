"""Which files are CloudFormation templates: found by content, so a new template is scanned too.

A file counts when it is YAML or JSON whose top level has a `Resources` mapping of typed
resources. Virtualenvs, build output (.aws-sam), tests and every hidden directory are never
searched. The deploy configuration is the cross-check: every template samconfig*.toml deploys,
and every child template those nest, must be among the ones found.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from cfnlint.decode import decode
from tests.support import ROOT

NEVER_SEARCHED = {"tests", "node_modules", "__pycache__"}
SUFFIXES = {".yaml", ".yml", ".json", ".template"}
TEMPLATE_MARKERS = ("AWSTemplateFormatVersion", "AWS::Serverless-2016-10-31")
NESTING_TYPES = {"AWS::Serverless::Application": "Location", "AWS::CloudFormation::Stack": "TemplateURL"}


def load(path: Path) -> dict[str, Any] | None:
    """The template at path, or None when the file is not a CloudFormation template."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if "Resources" not in text:  # cheap: skips data files without parsing them
        return None
    template, matches = decode(str(path))
    if matches or not isinstance(template, dict):
        if any(marker in text for marker in TEMPLATE_MARKERS):  # a broken template must not drop out of the scan
            raise ValueError(f"{path} looks like a CloudFormation template but does not parse: {matches[:1]}")
        return None
    resources = template.get("Resources")
    if not isinstance(resources, dict) or not resources:
        return None
    if not all(isinstance(r, dict) and isinstance(r.get("Type"), str) for r in resources.values()):
        return None
    return template


def discover(root: Path = ROOT) -> dict[Path, dict[str, Any]]:
    """Every template under root, as {path relative to root: parsed template}."""
    found: dict[Path, dict[str, Any]] = {}
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith(".") and d not in NEVER_SEARCHED)
        for name in sorted(files):
            path = Path(directory) / name
            if path.suffix in SUFFIXES and (template := load(path)) is not None:
                found[path.relative_to(root)] = template
    return found


def deployed(root: Path = ROOT) -> set[Path]:
    """The templates the samconfig files deploy: each environment's template_file, or SAM's default
    template.yaml for an environment that names none (the regional environments)."""
    paths: set[Path] = set()
    for config in sorted(root.glob("samconfig*.toml")):
        for environment in tomllib.loads(config.read_text()).values():
            deploy = environment.get("deploy") if isinstance(environment, dict) else None
            if isinstance(deploy, dict) and "parameters" in deploy:
                paths.add(Path(deploy["parameters"].get("template_file", "template.yaml")))
    return paths


def nested(templates: dict[Path, dict[str, Any]]) -> set[Path]:
    """Child templates referenced by a local path from the given templates."""
    children: set[Path] = set()
    for path, template in templates.items():
        for resource in template["Resources"].values():
            key = NESTING_TYPES.get(resource["Type"])
            location = (resource.get("Properties") or {}).get(key) if key else None
            if isinstance(location, str) and "://" not in location:
                children.add(Path(os.path.normpath(path.parent / location)))
    return children
