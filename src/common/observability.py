"""One Logger, Metrics and Tracer per container, configured from the POWERTOOLS_* variables."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
logger.append_keys(region=os.environ.get("AWS_REGION", "unknown"))
# A namespace fallback keeps a missing variable from turning every invocation into an error.
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "GlobalItems")
tracer = Tracer()
