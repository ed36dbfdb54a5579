"""One synchronous Lambda invocation's outcome, as the Invoke API returns it, and its throttle.

The one shape every caller of a function shares: the Lambda runtime returns it, the hooks hand it
to moto's Invoke and to custom resources, API Gateway maps it to HTTP, and the event source
mappings read its payload (partial batch responses) and report it to on-failure destinations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

LATEST = "$LATEST"  # the only version the local cloud runs


@dataclass(frozen=True)
class InvokeOutcome:
    """What the Invoke API returns for one synchronous invocation."""

    payload: bytes = b"null"  # JSON (or the raw bytes a handler returned)
    # The X-Amz-Function-Error value ("Unhandled") when the payload is an error object.
    function_error: str | None = None
    request_id: str = ""
    duration_ms: float = 0.0
    init_duration_ms: float | None = None  # set on a cold start
    log_tail: str = ""  # last 4 KB of this invocation's log (LogType=Tail), not base64
    executed_version: str = LATEST
    status_code: int = 200

    @property
    def cold_start(self) -> bool:
        return self.init_duration_ms is not None

    def json(self) -> Any:
        return json.loads(self.payload)


class TooManyRequests(Exception):
    """Lambda refused the invocation (TooManyRequestsException, HTTP 429): every execution
    environment stayed busy for the whole wait. API Gateway answers it with 429."""
