"""Session guard: tests run against loopback only, with dummy credentials.

Every AWS endpoint a test could reach must be 127.0.0.1 or localhost; the session refuses to
start otherwise, so a stray profile or AWS_ENDPOINT_URL can never send traffic to real AWS.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlparse

import pytest

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

_DUMMY = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
    # No shared config or credentials file may add a real profile, role or endpoint.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "SAM_CLI_TELEMETRY": "0",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}


def _non_loopback_endpoints(environ: dict[str, str]) -> list[str]:
    bad = []
    for key, value in environ.items():
        if not key.startswith("AWS_ENDPOINT_URL") or not value:
            continue
        host = urlparse(value).hostname
        if host not in LOOPBACK_HOSTS:
            bad.append(f"{key}={value}")
    return bad


def pytest_configure(config: pytest.Config) -> None:
    bad = _non_loopback_endpoints(dict(os.environ))
    if bad:
        raise pytest.UsageError(
            "refusing to run: AWS endpoint outside loopback would be used: " + ", ".join(bad)
        )
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        os.environ.pop(key, None)
    os.environ.update(_DUMMY)


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
    else:  # AF_UNIX paths and the like never leave the machine
        return True
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class NetworkEgressRefused(OSError):
    """A test tried to open a connection to an address outside loopback."""


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise NetworkEgressRefused(f"test tried to connect outside loopback: {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_loopback(address):
        raise NetworkEgressRefused(f"test tried to connect outside loopback: {address!r}")
    return _real_connect_ex(self, address)


# Belt and braces: even a client that bypasses the endpoint variables cannot leave the machine.
socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
