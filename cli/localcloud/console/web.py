"""The console's route on the AWS endpoint: everything under /_localcloud/console/.

GET (or HEAD) only: the console changes nothing itself (its buttons POST to the control calls).
Every answer, file or JSON, is `Cache-Control: no-store` (the page shows live state) and carries a
Content-Security-Policy that allows only this origin's own files (no inline script or style, so
data that slipped into the markup could not run) and no framing, plus nosniff.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from .assets import asset
from .state import ConsoleState

log = logging.getLogger(__name__)

CONSOLE_PATH = "/_localcloud/console/"
ROUTE = "console"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": ("default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                                "form-action 'none'; object-src 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
READ_METHODS = ("GET", "HEAD")


def register_console(cloud: Any, records_dir: Path, account_id: str) -> ConsoleState:
    state = ConsoleState(cloud, records_dir, account_id, console_url=cloud.endpoint.url + CONSOLE_PATH)
    cloud.endpoint.route(ROUTE, ConsoleApp(state))
    return state


def _secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return _secured(Response(json.dumps(body), status, headers=headers, content_type="application/json"))


class ConsoleApp:
    """The handler registered for /_localcloud/console..."""

    def __init__(self, state: ConsoleState):
        self.state = state

    def __call__(self, request: Request) -> Response:
        rest = request.path[len(CONSOLE_PATH) - 1:]  # "" or "/<name>"
        if not request.path.startswith(CONSOLE_PATH.rstrip("/")) or (rest and not rest.startswith("/")):
            return _json(404, {"message": "no such console page"})
        if request.method not in READ_METHODS:
            return _json(405, {"message": f"{request.method} is not allowed here: the console only reads "
                                          "(faults are set with POST /_localcloud/fault and /_localcloud/heal)"},
                         {"Allow": ", ".join(READ_METHODS)})
        if not rest:  # relative links need the trailing slash
            return _secured(Response("", 308, headers={"Location": CONSOLE_PATH}))
        name = rest[1:]
        if name == "state":
            try:
                return _json(200, self.state.build())
            except Exception:  # noqa: BLE001 - the pieces are guarded; this is a bug, not the user's
                log.exception("console state failed")
                return _json(503, {"message": "the console state could not be built; see the supervisor log"})
        found = asset(name)
        if found is None:
            return _json(404, {"message": "no such console file"})
        return _secured(Response(found.body, 200, content_type=found.content_type))
