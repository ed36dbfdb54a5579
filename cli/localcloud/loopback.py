"""The only network targets the local cloud's data planes may connect to: loopback IP literals
(Route 53's health checkers and global entry connect through this guard).

Host names are refused rather than resolved, so no code path here can trigger a DNS lookup or
reach another machine, whatever a health check config or a routing callback returns.
"""

from __future__ import annotations

import ipaddress


class NonLoopbackTarget(ValueError):
    """A connection target outside 127.0.0.0/8 and ::1, or not an IP literal."""


def require_loopback(host: str) -> str:
    """Return host (an IP literal) if it is a loopback address; raise NonLoopbackTarget otherwise."""
    literal = host.strip("[]") if isinstance(host, str) else host
    try:
        address = ipaddress.ip_address(literal)
    except (ValueError, TypeError):
        raise NonLoopbackTarget(
            f"refusing to connect to {host!r}: only loopback IP literals (127.0.0.1, ::1) are "
            "allowed, and host names are never resolved"
        ) from None
    if not address.is_loopback:
        raise NonLoopbackTarget(f"refusing to connect to {host!r}: not a loopback address")
    return str(address)
