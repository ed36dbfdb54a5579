"""One Logger, Metrics and Tracer per container, configured from the POWERTOOLS_* variables."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
logger.append_keys(region=os.environ.get("AWS_REGION", "unknown"))
# A namespace fallback keeps a missing variable from turning every invocation into an error.
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "GlobalItems")
# Every AWS call these functions make leaves through botocore (DynamoDB, SSM, SNS), so that is the
# one library to patch. The default, the X-Ray SDK's patch_all(), imports every supported library it
# finds (requests, httpx, sqlite3, ...) just to patch it: 25 ms of CPU per cold start with this
# repository's .venv (bench/handlers.py), for subsegments this code never produces. The custom
# resource's urllib PUT was never traced: patch_all() leaves httplib out (aws_xray_sdk/core/patcher.py).
# Powertools' own advice: https://docs.powertools.aws.dev/lambda/python/latest/core/tracer/#patching-modules
tracer = Tracer(patch_modules=("botocore",))
