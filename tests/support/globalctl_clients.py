"""globalctl's boto3 clients (globalctl.aws.client) pointed at a test's endpoint. They are cached
per process, so the cache is cleared on the way in and on the way out: no other test gets a client
made for an endpoint that is gone. The clients stay globalctl's own; a test that wants no retries
sets the SDK's AWS_MAX_ATTEMPTS, which they honour."""

from __future__ import annotations

import contextlib
import socket
from typing import Iterator

import pytest


def free_loopback_port() -> int:
    """A loopback port nobody listens on (the probe that found it is closed again)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def pointed_at(monkeypatch: pytest.MonkeyPatch, endpoint_url: str) -> Iterator[None]:
    from globalctl import aws

    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint_url)
    aws.client.cache_clear()
    try:
        yield
    finally:
        aws.client.cache_clear()


@contextlib.contextmanager
def unreachable(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """globalctl's clients at a loopback port nobody listens on, one attempt each: the first AWS
    call fails at once. Yields the endpoint's URL."""
    url = f"http://127.0.0.1:{free_loopback_port()}"
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pointed_at(monkeypatch, url):
        yield url
