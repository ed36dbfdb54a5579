"""Local API Gateway HTTP API data plane: one loopback endpoint per region.

The control plane (moto's apigatewayv2 backend, read by the supervisor) describes what is deployed
as plain dataclasses (model); this package routes requests, builds payload 2.0/1.0 events, invokes
Lambda through an Invoker, maps the result to HTTP, throttles per stage/route and honours injected
region faults.
"""

from __future__ import annotations

from .contracts import (
    ApiCatalog,
    Fault,
    FaultSource,
    InvokeOutcome,
    Invoker,
    InvokerThrottled,
    InvokerTimeout,
)
from .event import HttpRequest, build_event, build_event_v1, build_event_v2
from .gateway import ApiGateway
from .model import DeployedApi, Integration, Route, Stage
from .response import HttpResponse, InvalidLambdaResponse, map_lambda_result
from .routing import RouteMatch, RouteTable, match_route
from .server import MAX_PAYLOAD_BYTES, RegionalApiServer
from .throttle import Throttler, TokenBucket

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "ApiCatalog",
    "ApiGateway",
    "DeployedApi",
    "Fault",
    "FaultSource",
    "HttpRequest",
    "HttpResponse",
    "Integration",
    "InvalidLambdaResponse",
    "InvokeOutcome",
    "Invoker",
    "InvokerThrottled",
    "InvokerTimeout",
    "RegionalApiServer",
    "Route",
    "RouteMatch",
    "RouteTable",
    "Stage",
    "Throttler",
    "TokenBucket",
    "build_event",
    "build_event_v1",
    "build_event_v2",
    "map_lambda_result",
    "match_route",
]
