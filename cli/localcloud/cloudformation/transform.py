"""The AWS::Serverless-2016-10-31 transform, expanded with aws-sam-translator as CloudFormation does
on its side (moto only logs it), and the check that every resource type is one the cloud knows."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import Stack
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from . import rules
from .common import EXTRA_MODELS

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


def _transforms(template: dict[str, Any]) -> list[str]:
    declared = template.get("Transform") or []
    return [declared] if isinstance(declared, str) else list(declared)


def expand_transform(body: str | dict[str, Any], region: str, parameters: dict[str, Any]) -> str | dict:
    """The template as CloudFormation runs it: SAM resources replaced by what they stand for."""
    if not body:
        return body
    template = Stack.parse_template(body) if isinstance(body, str) else copy.deepcopy(body)
    if not isinstance(template, dict) or SAM_TRANSFORM not in _transforms(template):
        return body
    others = [name for name in _transforms(template) if name != SAM_TRANSFORM]
    if others:
        raise ValidationError(message=f"Transform(s) not supported locally: {', '.join(others)}")
    # A list parameter stays a Ref for CloudFormation to resolve as a list: handed to the translator
    # as its comma-joined text, it would land in properties that want a list (CorsConfiguration's
    # AllowOrigins) as one string, where CloudFormation deploys the same template with the list.
    declared = template.get("Parameters") or {}
    values = {k: v for k, v in parameters.items() if isinstance(v, str) and not rules.is_list(declared.get(k))}
    values.update({"AWS::Region": region, "AWS::Partition": "aws"})
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    try:
        expanded = translator.translate(template, parameter_values=values, get_managed_policy_map=dict)
    except Exception as error:  # the translator's own InvalidDocumentException and friends
        raise ValidationError(message=f"Transform {SAM_TRANSFORM} failed with: {error}") from error
    return json.dumps(expanded)


def _unknown_types(body: str | dict) -> list[str]:
    template = Stack.parse_template(body) if isinstance(body, str) else body
    known = parsing.get_model_map()
    unknown = set()
    for resource in (template or {}).get("Resources", {}).values():
        kind = resource.get("Type", "")
        if kind.startswith("Custom::") or kind in known or kind in EXTRA_MODELS:
            continue
        if kind in parsing.NULL_MODELS or kind == "AWS::CloudFormation::CustomResource":
            continue
        unknown.add(kind)
    return sorted(unknown)


def prepare(body: Any, region: str, parameters: dict[str, Any]) -> Any:
    template = Stack.parse_template(body) if isinstance(body, str) and body else body
    if isinstance(template, dict):
        rules.check(template, parameters)
    expanded = expand_transform(body, region, parameters)
    unknown = _unknown_types(expanded) if expanded else []
    if unknown:
        raise ValidationError(message=f"Template format error: Unrecognized resource types: [{', '.join(unknown)}]")
    return expanded
