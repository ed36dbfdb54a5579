"""The local AWS endpoint: moto's server app, with every service's patch installed, plus the
local cloud's own routes under /_localcloud/.

One HTTP endpoint on loopback answers every service (moto routes by the signed request's service
and region). Paths under /_localcloud/ are the local cloud's own: the ResponseURL that custom
resources PUT their result to, and the supervisor's control calls (control_api.py registers them).
A route may name the methods it takes, anything else then being a 405: a state change is never a GET.
Before any of it, browser_guard.py refuses what a web page elsewhere could send.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from typing import Any, Callable, Iterable

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from .browser_guard import BrowserGuard
from .own_routes import PREFIX, json_response
from .patches import install

ControlHandler = Callable[[Request], Response]


# The name Docker Desktop gives the host inside containers; on Linux, `--add-host
# host.docker.internal:host-gateway` (samconfig's add_host) maps it to the bridge gateway.
CONTAINER_HOST_NAME = "host.docker.internal"


class AwsEndpoint:
    """`allowed_hosts`: host names served besides the loopback ones (see BrowserGuard).
    `containers`: functions that `sam local` runs in containers reach it as host.docker.internal.
    Docker Desktop and Finch forward that name to the host's loopback; on Linux it is the Docker
    network's gateway, `container_gateway`, where the endpoint then also listens, on the same port.
    Only a private address is taken: never a public interface."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, allowed_hosts: Iterable[str] = (),
                 containers: bool = False, container_gateway: str | None = None):
        install()
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        self._moto = DomainDispatcherApplication(create_backend_app)
        # CloudFormation's ResponseURL is a presigned S3 URL: custom resources PUT to it.
        self._routes: dict[str, tuple[ControlHandler, frozenset[str] | None]] = {
            "cfn-response": (_cfn_response, frozenset({"PUT"}))}
        self._server: BaseWSGIServer = make_server(
            host, port, self._app, threaded=True, request_handler=MotoRequestHandler
        )
        self._servers = [self._server]
        if container_gateway is not None:
            address = checked_gateway(container_gateway)
            self._servers.append(make_server(address, self.port, self._app, threaded=True,
                                             request_handler=MotoRequestHandler))
            allowed_hosts = [*allowed_hosts, address]
        self.containers = containers or container_gateway is not None
        if self.containers:
            allowed_hosts = [*allowed_hosts, CONTAINER_HOST_NAME]
        self._guard = BrowserGuard(self.port, allowed_hosts)
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def container_url(self) -> str | None:
        """The endpoint as a container on the Docker network reaches it, when it listens there."""
        return f"http://{CONTAINER_HOST_NAME}:{self.port}" if self.containers else None

    def route(self, name: str, handler: ControlHandler, methods: Iterable[str] | None = None) -> None:
        """Serve /_localcloud/<name>/... with `handler`: for these methods only (a call that changes
        state takes POST alone), or, without `methods`, for any the handler itself accepts."""
        self._routes[name] = (handler, None if methods is None else frozenset(m.upper() for m in methods))

    def _app(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        refused = self._guard.refusal(environ)
        if refused is not None:
            return self._guard.refuse(refused, start_response)
        start_response = self._guard.without_cors(start_response)
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return self._moto(environ, start_response)
        name = path[len(PREFIX):].split("/", 1)[0]
        route = self._routes.get(name)
        request = Request(environ)
        if route is None:
            response = json_response(404, {"message": f"no such local control call: {name}"})
        elif route[1] is not None and request.method not in route[1]:
            allowed = ", ".join(sorted(route[1]))
            response = json_response(405, {"message": f"{request.method} is not allowed for {name}; use {allowed}"})
            response.headers["Allow"] = allowed
        else:
            response = route[0](request)
        return response(environ, start_response)

    def start(self) -> None:
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, name="aws-endpoint", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)


def checked_gateway(address: str) -> str:
    """A Docker gateway address the endpoint may listen on: private and not loopback (loopback is
    served already), so nothing beyond this machine and its containers can reach the endpoint."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"{address!r} is not an IP address") from None
    if parsed.is_loopback or not parsed.is_private or parsed.is_unspecified:
        raise ValueError(f"{address} is not a private network's address: the endpoint listens on loopback and "
                         f"on a Docker network's gateway only")
    return str(parsed)


def _cfn_response(request: Request) -> Response:
    from .cloudformation import responses

    token = request.path.rstrip("/").rsplit("/", 1)[-1]
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        return Response("the response body must be JSON", 400)
    if not isinstance(body, dict) or not responses.put(token, body):
        return Response("unknown or expired ResponseURL", 404)
    return Response("", 200)
