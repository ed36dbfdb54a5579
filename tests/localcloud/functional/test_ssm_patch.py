"""localcloud.ssm.patch: the Powertools public parameter resolves in every region.

Plain moto 5.2.5 does not know AWS's public parameters, so a template parameter of type
AWS::SSM::Parameter::Value<String> defaulting to /aws/service/powertools/... (as template.yaml
and regional/*.yaml declare it) cannot resolve and GetParameter answers ParameterNotFound.
Parameter name and layer ARN shape: Powertools for AWS Lambda (Python) docs, "Lambda Layer"
(SSM public parameters /aws/service/powertools/python/<arch>/<runtime>/latest; layer
AWSLambdaPowertoolsPythonV3-<runtime>-<arch> published by account 017000801446).
"""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from localcloud.ssm.patch import POWERTOOLS_ACCOUNT, powertools_layer_arn

from .conftest import unique

ARM64_313 = "/aws/service/powertools/python/arm64/python3.13/latest"
LAYER_ARN = re.compile(r"^arn:aws:lambda:(?P<region>[a-z0-9-]+):017000801446:layer:"
                       r"AWSLambdaPowertoolsPythonV3-python313-arm64:\d+$")


def template(marker_name: str) -> dict:
    return {
        "Parameters": {"PowertoolsLayerArn": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": ARM64_313}},
        "Resources": {"Marker": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Name": marker_name, "Type": "String", "Value": {"Ref": "PowertoolsLayerArn"}}}},
        "Outputs": {"Layer": {"Value": {"Ref": "PowertoolsLayerArn"}}, "Marker": {"Value": {"Ref": "Marker"}}},
    }


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-1"])
def test_template_parameter_resolves_to_the_layer_of_the_stack_region(aws, stacks, region):
    name = unique("powertools")
    assert stacks(region).create(name, template(f"/{name}/layer"))["StackStatus"] == "CREATE_COMPLETE"
    outputs = stacks(region).outputs(name)
    match = LAYER_ARN.match(outputs["Layer"])
    assert match, outputs["Layer"]
    assert match["region"] == region
    # The resolved value, not the parameter's name, is what resources receive.
    marker = aws("ssm", region).get_parameter(Name=outputs["Marker"])["Parameter"]["Value"]
    assert marker == outputs["Layer"]


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2", "ap-northeast-1"])
def test_get_parameter_answers_in_any_region(aws, region):
    ssm = aws("ssm", region)
    arm = ssm.get_parameter(Name=ARM64_313)["Parameter"]
    assert arm["Value"] == powertools_layer_arn(region, "arm64", "python3.13")
    assert LAYER_ARN.match(arm["Value"])["region"] == region
    assert arm["Type"] == "String"

    x86 = ssm.get_parameter(Name="/aws/service/powertools/python/x86_64/python3.12/latest")["Parameter"]["Value"]
    assert x86.startswith(f"arn:aws:lambda:{region}:{POWERTOOLS_ACCOUNT}:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:")


def test_other_public_names_stay_unknown(aws):
    with pytest.raises(ClientError) as missing:
        aws("ssm", "eu-west-1").get_parameter(Name="/aws/service/powertools/python/arm64/python2.7/latest")
    assert missing.value.response["Error"]["Code"] == "ParameterNotFound"
