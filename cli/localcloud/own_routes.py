"""The AWS endpoint's own routes, under /_localcloud/ (beside moto's): their prefix and their JSON
answers. Apart from aws_endpoint.py so a service's route (the layer downloads) needs nothing of the
endpoint, which itself installs every service's patch."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

PREFIX = "/_localcloud/"


def json_response(status: int, body: Any) -> Response:
    """A JSON answer of the endpoint's own routes (control calls, their refusals)."""
    return Response(json.dumps(body), status, content_type="application/json")
