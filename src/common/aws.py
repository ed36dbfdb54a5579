"""boto3 clients, created once per container on first use.

Lazy creation keeps import side-effect free, so tests can start moto's ``mock_aws`` first and
call :func:`reset` between tests; in Lambda the cache lives as long as the execution environment.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config

T = TypeVar("T", int, float)

DEFAULT_CONNECT_TIMEOUT = 2.0
DEFAULT_READ_TIMEOUT = 5.0


def _positive_env(name: str, default: T, cast: Callable[[str], T]) -> T:
    """A positive number from the environment; anything unusable falls back to the default."""
    try:
        value = cast(os.environ.get(name, str(default)))
    except ValueError:
        return default
    return value if value > 0 else default


@functools.lru_cache(maxsize=1)
def _session() -> Any:
    # One session for every client: each new Session reloads the service models from disk, which
    # made the first /health (three clients) pay ~100 ms per extra client on a cold start.
    return boto3.session.Session()


@functools.lru_cache(maxsize=None)
def client(service: str, *, max_attempts: int, connect_timeout: float, read_timeout: float) -> Any:
    # total_max_attempts counts the first try (botocore's "max_attempts" key counts only retries),
    # so max_attempts=1 really means a single attempt.
    config = Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    return _session().client(service, config=config)


def dynamodb() -> Any:
    """Client for the API's data path (standard retries, DDB_MAX_ATTEMPTS attempts)."""
    return client(
        "dynamodb",
        max_attempts=_positive_env("DDB_MAX_ATTEMPTS", 3, int),
        connect_timeout=DEFAULT_CONNECT_TIMEOUT,
        read_timeout=DEFAULT_READ_TIMEOUT,
    )


def health_timeout() -> float:
    return _positive_env("HEALTH_TIMEOUT_SECONDS", 1.0, float)


def dynamodb_health() -> Any:
    """Client for the health probe: one attempt, short timeouts, so a sick replica fails fast."""
    timeout = health_timeout()
    return client("dynamodb", max_attempts=1, connect_timeout=timeout, read_timeout=timeout)


def ssm() -> Any:
    # The service switch is read from the health path too, so it gets the same short budget.
    timeout = health_timeout()
    return client("ssm", max_attempts=2, connect_timeout=timeout, read_timeout=timeout)


def sns() -> Any:
    return client("sns", max_attempts=3, connect_timeout=DEFAULT_CONNECT_TIMEOUT, read_timeout=DEFAULT_READ_TIMEOUT)


def reset() -> None:
    """Forget every cached client (tests: after starting or stopping ``mock_aws``)."""
    client.cache_clear()
    _session.cache_clear()
