"""SSM public parameters the stacks resolve: Powertools' layer ARN per region.

template.yaml takes its Powertools layer from the public parameter
/aws/service/powertools/python/<arch>/<runtime>/latest (an AWS::SSM::Parameter::Value parameter),
which every AWS region answers and moto does not. The ARN must resolve for the stack to deploy, and
it appears in the function's configuration as it would in AWS. The local Lambda runtime uses no
layers (the local interpreter's own Powertools stands in); the Lambda API serves this layer's
content for `sam local`, which downloads it (awslambda/public_layers.py, matching this ARN).
"""

from __future__ import annotations

import re
from moto.core.utils import utcnow
from moto.ssm.models import Parameter, SimpleSystemManagerBackend

# Powertools' publishing account and the layer version its docs list for v3 (docs/index.md).
POWERTOOLS_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_VERSION = 27
_PUBLIC = re.compile(r"^/aws/service/powertools/python/(?P<arch>x86_64|arm64)/(?P<runtime>python3\.\d+)/latest$")


def powertools_layer_arn(region: str, arch: str, runtime: str) -> str:
    version = runtime.replace(".", "")
    return (f"arn:aws:lambda:{region}:{POWERTOOLS_ACCOUNT}:layer:"
            f"AWSLambdaPowertoolsPythonV3-{version}-{arch}:{POWERTOOLS_LAYER_VERSION}")


def install() -> None:
    original = SimpleSystemManagerBackend.get_parameter

    def get_parameter(self: SimpleSystemManagerBackend, name: str) -> Parameter | None:
        found = original(self, name)
        match = _PUBLIC.match(name)
        if found is not None or match is None:
            return found
        # Public parameters are AWS-owned (put_parameter refuses the /aws prefix), so add it as AWS does.
        self._parameters[name].append(Parameter(
            account_id=self.account_id, name=name, value=powertools_layer_arn(self.region_name, match["arch"],
                                                                              match["runtime"]),
            parameter_type="String", description="Powertools for AWS Lambda (Python) layer", allowed_pattern=None,
            keyid=None, last_modified_date=utcnow(), version=1, data_type="text"))
        return original(self, name)

    SimpleSystemManagerBackend.get_parameter = get_parameter  # type: ignore[method-assign]
