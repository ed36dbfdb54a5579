"""moto 5.2.5 extended where it falls short of what the stacks and the rollout use.

One module per AWS service; each names the AWS behaviour it provides. `install()` applies them
all, once, before the control plane serves its first request.
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
        from .. import cloudformation
        from . import apigatewayv2, awslambda, cloudwatch, dynamodb, route53, s3, ssm

        cloudformation.install()
        for extension in (apigatewayv2, awslambda, cloudwatch, dynamodb, route53, s3, ssm):
            extension.install()
        _installed = True
