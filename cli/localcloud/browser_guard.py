"""What a web browser may do with the local AWS endpoint: talk to it from the endpoint's own origin
(the local console under /_localcloud/console/), under a loopback Host name, and nothing else.

The endpoint has no credentials to check (moto takes any signature, and an unsigned form POST is
routed by its body: `Action=...` reaches the service it names), so whatever a page in the
browser can send, it can do. Two ways a page elsewhere could reach it:
- DNS rebinding: attacker.example resolves to the attacker, then to 127.0.0.1; the page's calls
  are then "same-origin" for the browser but carry `Host: attacker.example:<port>`. Only loopback
  names (and names the endpoint was told to allow) are served.
- Cross-origin requests: browsers send Origin on every CORS request and on every POST, PUT and
  DELETE, and Sec-Fetch-Site on every request (Fetch Metadata). A request naming any origin but
  the endpoint's own is refused, as is one without Origin whose Sec-Fetch-Site says another site
  or another origin of this site (another port on loopback) sent it. moto's server reflects any
  Origin in Access-Control-Allow-Origin; those headers are stripped from every answer, since the
  console is same-origin and needs none.
boto3, globalctl and curl send neither Origin nor Sec-Fetch-Site, and pass as before.

One exception: a top-level navigation (a link followed, Sec-Fetch-Mode navigate) to the console
page may come from another origin, so a page can link to the console; the page it loads runs in the
endpoint's origin, and the console must therefore never act on anything in its URL.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
CONSOLE_PREFIX = "/_localcloud/console"
_OTHER_ORIGIN_SITES = frozenset({"cross-site", "same-site"})
_SAFE_METHODS = frozenset({"GET", "HEAD"})

StartResponse = Callable[..., Any]


def split_host(value: str) -> tuple[str, int | None] | None:
    """(name, port) of a Host header value, the name lower-cased; None when it is malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[: end + 1], value[end + 1 :]
    else:
        name, colon, port = value.partition(":")
        if ":" in port:
            return None  # an IPv6 literal must be bracketed in a Host header
        rest = colon + port
    if name in ("", "[]"):
        return None
    if not rest:
        return name, None
    digits = rest[1:]
    if rest[0] != ":" or not (digits.isascii() and digits.isdigit()):
        return None
    return name, int(digits)


class BrowserGuard:
    """Decides, per request, whether the endpoint serves it; strips CORS headers from what it serves.

    `allowed_hosts` adds host names (no port) to the loopback ones, e.g. the Docker bridge gateway
    address when containers are to reach the endpoint; a page under such a name is then also the
    endpoint's own origin. Loopback names are always allowed.
    """

    def __init__(self, port: int, allowed_hosts: Iterable[str] = ()) -> None:
        self.port = port
        self.host_names = frozenset({*LOOPBACK_NAMES, *(h.strip().lower() for h in allowed_hosts if h.strip())})
        origins = {f"http://{name}:{port}" for name in self.host_names}
        if port == 80:
            origins |= {f"http://{name}" for name in self.host_names}
        self.own_origins = frozenset(origins)

    def refusal(self, environ: dict[str, Any]) -> str | None:
        """Why the request is refused, or None when it is served."""
        host = split_host(environ.get("HTTP_HOST", ""))
        if host is None or host[0] not in self.host_names or host[1] not in (None, self.port):
            return ("the local AWS endpoint only answers under a loopback host name "
                    f"(127.0.0.1:{self.port} or localhost:{self.port})")
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None:
            if origin.strip().lower() not in self.own_origins:
                return f"the local AWS endpoint does not answer pages from {origin.strip()[:200]!r}"
            return None
        site = environ.get("HTTP_SEC_FETCH_SITE", "").strip().lower()
        if site in _OTHER_ORIGIN_SITES and not self._console_navigation(environ):
            return "the local AWS endpoint does not answer requests made by another site's pages"
        return None

    def _console_navigation(self, environ: dict[str, Any]) -> bool:
        path = environ.get("PATH_INFO", "")
        return (
            environ.get("REQUEST_METHOD", "") in _SAFE_METHODS
            and environ.get("HTTP_SEC_FETCH_MODE", "").lower() == "navigate"
            and environ.get("HTTP_SEC_FETCH_DEST", "").lower() == "document"  # never framed
            and (path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/"))
        )

    @staticmethod
    def refuse(reason: str, start_response: StartResponse) -> list[bytes]:
        body = json.dumps({"message": reason}).encode()
        start_response("403 Forbidden", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def without_cors(start_response: StartResponse) -> StartResponse:
        """start_response that drops every Access-Control-* header the application sets."""

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            return start_response(status, kept, exc_info) if exc_info else start_response(status, kept)

        return start
