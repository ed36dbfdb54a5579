"""Every service's moto patch, installed once, before the AWS endpoint serves its first request.

moto 5.2.5 falls short of what the stacks and the rollout use; each service package holds its
own patch (`<service>/patch.py`; CloudFormation's is the package `cloudformation/`), each naming
the AWS behaviour it provides.
"""

from __future__ import annotations

import threading

_installed = False
_lock = threading.Lock()


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from . import cloudformation
        from .apigatewayv2 import patch as apigatewayv2
        from .awslambda import patch as awslambda
        from .cloudwatch import patch as cloudwatch
        from .dynamodb import patch as dynamodb
        from .route53 import patch as route53
        from .s3 import patch as s3
        from .ssm import patch as ssm

        cloudformation.install()
        for patch in (apigatewayv2, awslambda, cloudwatch, dynamodb, route53, s3, ssm):
            patch.install()
        _installed = True
