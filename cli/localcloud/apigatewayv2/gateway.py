"""One region's HTTP API request pipeline, independent of sockets.

fault -> API lookup -> stage -> route -> throttle -> event -> Lambda -> response mapping, and the
API's CORS configuration (cors.py) over whatever response a request for a deployed API gets.

The stage step follows "Routing API requests"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html): the
`$default` stage serves from the root; a named stage only answers under `/{stageName}/...`,
anything else is `{"message":"Not Found"}`. rawPath keeps the stage prefix, routing does not.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from http import HTTPStatus
from typing import Callable

from ..faults import Fault
from ..invocation import TooManyRequests
from . import cors
from .contracts import ApiCatalog, FaultSource, Invoker, InvokerTimeout, Publish
from .event import HttpRequest, RequestContextInfo, build_event, new_request_id
from .model import DEFAULT_STAGE_NAME, DeployedApi, Route
from .response import (
    HttpResponse,
    InvalidLambdaResponse,
    finalize,
    gateway_error,
    internal_server_error,
    map_lambda_result,
    not_found,
    service_unavailable,
    too_many_requests,
)
from .routing import RouteTable
from .throttle import Throttler

log = logging.getLogger(__name__)

_LOOK_UP = object()


def strip_stage(api: DeployedApi, raw_path: str) -> str | None:
    """The path routing sees, or None when the request is not for the API's stage."""
    stage = api.stage.stage_name
    if stage == DEFAULT_STAGE_NAME:
        return raw_path
    prefix = f"/{stage}"
    if raw_path == prefix:
        return "/"
    if raw_path.startswith(prefix + "/"):
        return raw_path[len(prefix) :]
    return None


class ApiGateway:
    """Turns HttpRequests into HttpResponses for one region; safe to call from many threads."""

    def __init__(
        self,
        region: str,
        catalog: ApiCatalog,
        invoker: Invoker,
        faults: FaultSource | None = None,
        *,
        throttler: Throttler | None = None,
        rng: random.Random | None = None,
        wall_clock: Callable[[], float] = time.time,
        lambda_throttle_status: int = 500,
        stopping: threading.Event | None = None,
        publish: Publish | None = None,
        account_id: str = "123456789012",
    ) -> None:
        self.region = region
        self._catalog = catalog
        self._invoker = invoker
        self._faults = faults
        self._throttler = throttler or Throttler()
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._wall_clock = wall_clock
        self._lambda_throttle_status = HTTPStatus(lambda_throttle_status).value  # fail fast on junk
        self._stopping = stopping or threading.Event()
        self._tables: dict[str, tuple[tuple[Route, ...], RouteTable]] = {}
        self._tables_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._requests_total = 0
        self._responses: Counter[int] = Counter()
        self._dropped_total = 0
        self._publish = publish
        self._account_id = account_id

    # --- stats -------------------------------------------------------------------------------

    @property
    def requests_total(self) -> int:
        with self._stats_lock:
            return self._requests_total

    def stats(self) -> dict:
        """Counters for this region: requests, responses by status, connections dropped by outage."""
        with self._stats_lock:
            return {
                "region": self.region,
                "requests_total": self._requests_total,
                "responses_by_status": dict(self._responses),
                "dropped_total": self._dropped_total,
            }

    def _count(self, response: HttpResponse | None) -> None:
        with self._stats_lock:
            self._requests_total += 1
            if response is None:
                self._dropped_total += 1
            else:
                self._responses[response.status] += 1

    # --- pipeline ----------------------------------------------------------------------------

    def current_fault(self) -> Fault | None:
        if self._faults is None:
            return None
        return self._faults.fault(self.region)

    def handle(self, request: HttpRequest, fault: Fault | None | object = _LOOK_UP) -> HttpResponse | None:
        """The response to send, or None when the region is out and the connection must drop.

        The server passes the fault it already read before taking the body, so one request sees
        one fault state; without it the fault source is asked here.
        """
        if fault is _LOOK_UP:
            fault = self.current_fault()
        if fault is not None and not isinstance(fault, Fault):
            raise TypeError(f"fault must be a Fault or None, not {type(fault).__name__}")
        request_id = new_request_id()
        started = time.perf_counter()
        trace: dict = {}
        response = self._respond(request, fault, request_id, trace)
        api = trace.get("api")
        if response is not None and api is not None and api.cors is not None:
            response = cors.apply(api.cors, request, response)
        if response is not None:
            response = finalize(response, request_id, self._wall_clock(), request.method.upper() == "HEAD")
            if self._publish is not None and "api" in trace:
                self._metrics(trace, response.status, (time.perf_counter() - started) * 1000)
        self._count(response)
        return response

    def _metrics(self, trace: dict, status: int, latency_ms: float) -> None:
        """One request's metrics, as HTTP APIs publish them: Count, 4xx, 5xx, Latency and
        IntegrationLatency per ApiId and Stage
        (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html).
        A request that never reached an API (unknown host, outage) publishes nothing."""
        api: DeployedApi = trace["api"]
        dims = {"ApiId": api.api_id, "Stage": api.stage.stage_name}
        publish, account = self._publish, self._account_id
        publish(account, self.region, "AWS/ApiGateway", "Count", dims, 1, "Count")
        publish(account, self.region, "AWS/ApiGateway", "4xx", dims, 1 if 400 <= status < 500 else 0, "Count")
        publish(account, self.region, "AWS/ApiGateway", "5xx", dims, 1 if status >= 500 else 0, "Count")
        publish(account, self.region, "AWS/ApiGateway", "Latency", dims, latency_ms, "Milliseconds")
        if "integration_ms" in trace:
            publish(account, self.region, "AWS/ApiGateway", "IntegrationLatency", dims, trace["integration_ms"],
                    "Milliseconds")

    def reject(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Finalize and count a response the server produced itself (400, 413)."""
        response = finalize(response, new_request_id(), self._wall_clock(), request.method.upper() == "HEAD")
        self._count(response)
        return response

    def _respond(self, request: HttpRequest, fault: Fault | None, request_id: str,
                 trace: dict) -> HttpResponse | None:
        if fault is not None:
            if fault.kind == "outage":
                return None
            if fault.kind == "slow" and fault.latency_ms > 0:
                # Interruptible so stop() does not wait out an injected delay.
                if self._stopping.wait(fault.latency_ms / 1000.0):
                    return None
            if fault.kind == "errors" and self._draw() < fault.error_rate:
                return service_unavailable()

        api = self._catalog.lookup(self.region, request.header("host"))
        if api is None:
            return not_found()
        trace["api"] = api
        route_path = strip_stage(api, request.raw_path)
        if route_path is None:
            return not_found()
        match = self._table(api).match(request.method, route_path)
        if match is None:
            if api.cors is not None and cors.is_preflight(request):
                return cors.preflight_answer()
            return not_found()
        if not self._throttler.allow(api.api_id, api.stage, match.route.route_key):
            return too_many_requests()
        integration = match.route.integration
        if integration is None:
            log.warning("route %s of API %s has no integration", match.route.route_key, api.api_id)
            return internal_server_error()

        now_ms = int(self._wall_clock() * 1000)
        event = build_event(request, api, match, RequestContextInfo(request_id, now_ms))
        invoked = time.perf_counter()
        try:
            outcome = self._invoker.invoke(integration.function_arn, event, integration.timeout_s)
        except InvokerTimeout:
            return service_unavailable()
        except TooManyRequests:
            status = self._lambda_throttle_status
            return gateway_error(status, HTTPStatus(status).phrase)
        except Exception:  # any invoker failure is an integration failure to the client
            log.exception("invoking %s for %s failed", integration.function_arn, match.route.route_key)
            return internal_server_error()
        trace["integration_ms"] = (time.perf_counter() - invoked) * 1000
        if outcome.function_error:
            log.info(
                "function %s failed (%s): %r", integration.function_arn, outcome.function_error, outcome.payload[:500]
            )
            return internal_server_error()
        try:
            return map_lambda_result(outcome.payload, integration.payload_format_version)
        except InvalidLambdaResponse as exc:
            log.info("function %s returned an invalid response: %s", integration.function_arn, exc)
            return internal_server_error()

    def _draw(self) -> float:
        # random.Random is not documented thread-safe for a shared seeded sequence.
        with self._rng_lock:
            return self._rng.random()

    def _table(self, api: DeployedApi) -> RouteTable:
        # The routes themselves are the cache key, so a redeploy (or an edited list) recompiles.
        routes = tuple(api.routes)
        with self._tables_lock:
            cached = self._tables.get(api.api_id)
            if cached is None or cached[0] != routes:
                cached = (routes, RouteTable(routes))
                self._tables[api.api_id] = cached
            return cached[1]
