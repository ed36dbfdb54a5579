"""Expand a SAM template with aws-sam-translator, as CloudFormation's transform does on its side.

The translator wants a packaged template (S3 code and child locations), as `sam package` makes
it; the managed-policy map is empty because the templates use inline statements only."""

from __future__ import annotations

from pathlib import Path

from samtranslator.translator.transform import transform

from tests.templates.cfn_eval import load_template


class _NoManagedPolicies:
    def load(self) -> dict:
        return {}


def packaged(template: dict) -> dict:
    function_globals = template.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = "s3://artifacts/src.zip"
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function" and "CodeUri" in resource.get("Properties", {}):
            resource["Properties"]["CodeUri"] = "s3://artifacts/src.zip"
        if resource["Type"] == "AWS::Serverless::Application":
            resource["Properties"]["Location"] = "https://s3.eu-west-1.amazonaws.com/artifacts/child.yaml"
    return template


def expand(path: Path) -> dict:
    return transform(packaged(load_template(path)), {}, _NoManagedPolicies())
