"""Keeps a scanner run as a subprocess (checkov) on this machine, and records what it tried.

tests/conftest.py guards sockets in the pytest process only; a child process is not covered.
checkov phones home unless told not to: the Prisma Cloud guidelines API and a PyPI version check
(checkov/common/bridgecrew/platform_integration.py and common/util/banner.py in 3.3.30). The test
turns both off with --skip-download and CKV_SKIP_PACKAGE_UPDATE_CHECK, and this guard proves it:
loaded through sitecustomize, it refuses name lookups and connections outside loopback and logs
each attempt, so the test can assert there was none.

No third-party imports: it runs inside checkov's own virtualenv.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
LOG_VARIABLE = "OFFLINE_GUARD_LOG"


def is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is None:  # getaddrinfo(None, port) means the local host
        return True
    text = str(host)
    if text.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(text.split("%")[0]).is_loopback
    except ValueError:
        return False


def arm(log_path: str) -> None:
    def refuse(what: str, target: object) -> None:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"refused {what} {target!r}\n")
        raise OSError(f"offline guard: {what} outside loopback refused: {target!r}")

    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_loopback(host):
            refuse("lookup", host)
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host: Any) -> str:
        if not is_loopback(host):
            refuse("lookup", host)
        return real_gethostbyname(host)

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not is_loopback(address[0]):
            refuse("connect", address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not is_loopback(address[0]):
            refuse("connect", address)
        return real_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    with open(log_path, "a", encoding="utf-8") as log:
        log.write("armed\n")


def arm_from_environment() -> None:
    log_path = os.environ.get(LOG_VARIABLE)
    if log_path:
        arm(log_path)
