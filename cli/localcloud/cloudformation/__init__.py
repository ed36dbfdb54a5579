"""CloudFormation's moto patch: CloudFormation as `sam deploy` needs it, on top of moto 5.2.5's
stack engine. Unlike the other services, whose patch is one module (`<service>/patch.py`), this
patch is a package: `install()` applies its modules, each one group of AWS behaviours moto lacks
(measured in ../shared/design.md):
- transform.py: the AWS::Serverless-2016-10-31 transform, expanded with aws-sam-translator as
  CloudFormation does on its side (moto only logs it); unknown resource types refused at
  CreateChangeSet/CreateStack ("Unrecognized resource types");
- stacks.py: a stack made or changed through a change set has its Outputs, template and
  parameters; a failed resource fails the stack (CREATE rolls back to ROLLBACK_COMPLETE, UPDATE
  restores the previous template, UPDATE_ROLLBACK_COMPLETE), as `sam deploy` expects to observe;
  UsePreviousValue on an SSM-typed parameter re-resolves the parameter's name;
- updates.py: updates honour Conditions and resolved values; change sets list Add, Modify (with
  Replacement) and Remove;
- resources.py: a failure names its resource; a type without an update handler is replaced;
- common.py: what the others share (the added resource types, ResourceFailed, replacement);
- nested.py: path-style TemplateURL on 127.0.0.1, `Fn::GetAtt Child.Outputs.Name`, nested stacks
  updated in place;
- intrinsics.py: `AWS::NoValue` in a list drops the element; a dotted GetAtt attribute stays whole;
- custom_resources.py: Lambda-backed custom resources with Create/Update/Delete requests and the
  response PUT to the ResponseURL.
"""

from __future__ import annotations

from moto.cloudformation import parsing

from .common import EXTRA_MODELS, ResourceFailed
from .custom_resources import CustomResource, responses
from .nested import template_from_url
from .transform import expand_transform

__all__ = ["EXTRA_MODELS", "CustomResource", "ResourceFailed", "expand_transform", "install", "responses",
           "template_from_url"]


def install() -> None:
    from . import intrinsics, nested, resources, stacks, updates

    updates.install()
    stacks.install()
    intrinsics.install()
    resources.install()
    nested.install()
    parsing.get_model_map.cache_clear()
