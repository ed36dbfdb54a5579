"""Where to send an HTTP request meant for a region's API, on AWS or on the local cloud.

On AWS a stack's ApiEndpoint output is the URL. On the local cloud (AWS_ENDPOINT_URL on loopback
and a running `globalctl local`), the same execute-api host is served by that region's loopback
port: the request goes there with the original Host header, as the local API server expects.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


def local_cloud_state(config_path: Path) -> dict[str, Any] | None:
    """The running local cloud's state when this process targets it, else None."""
    from globalctl.localcloud import LOOPBACK, state_dir

    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if urlparse(endpoint).hostname not in LOOPBACK:
        return None
    from localcloud import lifecycle

    state = lifecycle.running_state(state_dir(config_path.resolve().parent))
    return state if state and state.get("ready") else None


class Endpoints:
    def __init__(self, config_path: Path):
        self.config_path = config_path
        self.state = local_cloud_state(config_path)

    @property
    def local(self) -> bool:
        return self.state is not None

    def base(self, api_endpoint: str, region: str) -> tuple[str, str | None]:
        """(base URL, Host header or None) for a region's ApiEndpoint output."""
        if self.state is None:
            return api_endpoint.rstrip("/"), None
        url = self._api_url(region)
        if url is None:  # a region added since this process started: its port is in the new state
            self.refresh()
            url = self._api_url(region)
        if url is None:
            raise LookupError(f"the local cloud serves no region {region}")
        return url, urlparse(api_endpoint).hostname

    def _api_url(self, region: str) -> str | None:
        return next((info["api_url"] for info in (self.state or {}).get("regions", {}).values()
                     if info["region"] == region), None)

    def refresh(self) -> None:
        self.state = local_cloud_state(self.config_path) or self.state

    def serve(self, env: str, region: str) -> None:
        """On the local cloud, a region env it does not serve yet gets its API server first."""
        if self.state is None or self.state["regions"].get(env, {}).get("region") == region:
            return
        from globalctl.localcloud import LocalCloudContext

        LocalCloudContext(self.config_path).serve(env)
        self.refresh()

    def request(self, method: str, api_endpoint: str, region: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None, timeout: float = TIMEOUT_SECONDS) -> Response:
        base, host = self.base(api_endpoint, region)
        sent = dict(headers or {})
        if host:
            sent["Host"] = host
        return http(method, base + path, body, sent, timeout)


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = TIMEOUT_SECONDS) -> Response:
    """One JSON request; a connection failure is status 0 with the reason as the body."""
    scheme = urlparse(url).scheme
    if scheme not in ("http", "https"):  # a stack output or state file naming file:, ftp: and the like
        return Response(0, {}, f"refusing a {scheme or 'schemeless'} URL: only http and https".encode())
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(  # noqa: S310  # nosec B310 # scheme checked above: http or https only
                request, timeout=timeout) as response:
            return Response(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())
    except (urllib.error.URLError, OSError) as error:
        return Response(0, {}, str(error).encode())
