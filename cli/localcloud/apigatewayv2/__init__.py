"""API Gateway (HTTP APIs) on the local cloud: its moto patch, its data plane and their wiring.

- patch.py: the moto patch (the CloudFormation models moto lacks: Api with its OpenAPI body
  imported, Stage, Integration, Route, DomainName, ApiMapping);
- the data plane, one loopback endpoint per region, which never imports moto: model (what is
  deployed, as plain dataclasses), routing, event (payload 2.0/1.0 events), gateway (one request
  through route, throttle, invoke and response), response (the Lambda result mapped to HTTP), cors
  (the API's CORS configuration: preflights and the CORS headers of every response),
  throttle (per stage and route), server (the HTTP server) and contracts (what it needs from the
  rest of the cloud);
- wiring.py: how the supervisor connects it: the catalog read back from moto's apigatewayv2
  backend on every request, the Lambda invoker with the integration timeout, one server per region.

The package exports the data plane only (importing it does not import moto).
"""

from __future__ import annotations

from .contracts import ApiCatalog, FaultSource, Invoker, InvokerTimeout
from .event import HttpRequest, build_event, build_event_v1, build_event_v2
from .gateway import ApiGateway
from .model import CorsConfig, DeployedApi, Integration, Route, Stage
from .response import HttpResponse, InvalidLambdaResponse, map_lambda_result
from .routing import RouteMatch, RouteTable, match_route
from .server import MAX_PAYLOAD_BYTES, RegionalApiServer
from .throttle import Throttler, TokenBucket

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "ApiCatalog",
    "ApiGateway",
    "CorsConfig",
    "DeployedApi",
    "FaultSource",
    "HttpRequest",
    "HttpResponse",
    "Integration",
    "InvalidLambdaResponse",
    "Invoker",
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
