"""The local AWS endpoint: moto's server app, with every service's patch installed, plus the
local cloud's own routes under /_localcloud/.

One HTTP endpoint on loopback answers every service (moto routes by the signed request's service
and region). Paths under /_localcloud/ are the local cloud's own: the ResponseURL that custom
resources PUT their result to, and the supervisor's control calls (control_api.py registers them).
A route may name the methods it takes, anything else then being a 405: a state change is never a GET.
Before any of it, browser_guard.py refuses what a web page elsewhere could send.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Iterable

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from .browser_guard import BrowserGuard
from .patches import install

PREFIX = "/_localcloud/"
ControlHandler = Callable[[Request], Response]


class AwsEndpoint:
    """`allowed_hosts`: host names served besides the loopback ones (see BrowserGuard)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, allowed_hosts: Iterable[str] = ()):
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
        self._guard = BrowserGuard(self.port, allowed_hosts)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-endpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=10)


def json_response(status: int, body: Any) -> Response:
    """A JSON answer of the endpoint's own routes (control calls, their refusals)."""
    return Response(json.dumps(body), status, content_type="application/json")


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
