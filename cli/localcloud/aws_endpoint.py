"""The local AWS endpoint: moto's server app, with every service's patch installed, plus the
local cloud's own routes under /_localcloud/.

One HTTP endpoint on loopback answers every service (moto routes by the signed request's service
and region). Paths under /_localcloud/ are the local cloud's own: the ResponseURL that custom
resources PUT their result to, and the supervisor's control calls (control_api.py registers them).
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Iterable

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from .patches import install

PREFIX = "/_localcloud/"
ControlHandler = Callable[[Request], Response]


class AwsEndpoint:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        install()
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        self._moto = DomainDispatcherApplication(create_backend_app)
        self._routes: dict[str, ControlHandler] = {"cfn-response": _cfn_response}
        self._server: BaseWSGIServer = make_server(
            host, port, self._app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, name: str, handler: ControlHandler) -> None:
        self._routes[name] = handler

    def _app(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return self._moto(environ, start_response)
        name = path[len(PREFIX):].split("/", 1)[0]
        handler = self._routes.get(name)
        request = Request(environ)
        if handler is None:
            response = Response(json.dumps({"message": f"no such local control call: {name}"}), 404,
                                content_type="application/json")
        else:
            response = handler(request)
        return response(environ, start_response)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-endpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=10)


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
