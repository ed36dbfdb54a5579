"""Deep health check: is the local replica answering, and is the region switched into service?"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError

from common import aws
from common.items import HEALTH_SENTINEL_ID, ID
from common.observability import logger

from .errors import error_code

OUT_OF_SERVICE = "out-of-service"
# The switch is flipped by operators during a failover; 10 s of caching bounds both the SSM
# call rate and how long a flip takes to show.
SWITCH_MAX_AGE_SECONDS = 10

_provider: dict[str, Any] = {}


def _ssm_provider() -> SSMProvider:
    client = aws.ssm()
    # A new client (first use, or after aws.reset()) gets a new provider and an empty cache.
    if _provider.get("client") is not client:
        _provider.update(client=client, provider=SSMProvider(boto3_client=client))
    return _provider["provider"]


def switched_out_of_service() -> bool:
    """True only when the SSM parameter reads ``out-of-service``; a missing or unreadable
    parameter keeps the region in service, so an SSM outage cannot take every region down."""
    name = os.environ.get("SERVICE_STATE_PARAMETER")
    if not name:
        return False
    try:
        value = _ssm_provider().get(name, max_age=SWITCH_MAX_AGE_SECONDS)
    except GetParameterError as exc:
        if "ParameterNotFound" not in str(exc):
            logger.warning("service switch unreadable; assuming in service", exc_info=True)
        return False
    return isinstance(value, str) and value.strip() == OUT_OF_SERVICE


def replica_problem(table_name: str) -> str | None:
    """None when the local replica answered the sentinel read (found or not), else why not."""
    try:
        aws.dynamodb_health().get_item(TableName=table_name, Key={ID: {"S": HEALTH_SENTINEL_ID}})
    except ClientError as exc:
        logger.warning("health read failed", exc_info=True)
        return f"replica read failed: {error_code(exc) or 'error'}"
    except BotoCoreError as exc:
        logger.warning("health read failed", exc_info=True)
        return f"replica read failed: {type(exc).__name__}"
    return None


def check(table_name: str) -> str | None:
    """None when healthy, else the reason the region should not take traffic."""
    if switched_out_of_service():
        return "region switched out of service (SSM parameter is out-of-service)"
    return replica_problem(table_name)
