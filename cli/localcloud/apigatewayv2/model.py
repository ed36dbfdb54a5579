"""What the control plane deployed: an HTTP API's routes, integrations and stage, as plain data.

The lead reads these from moto's apigatewayv2 backend; nothing here imports moto.

Sources:
- Lambda integration URI forms and payload versions: "Create AWS Lambda proxy integrations for HTTP
  APIs", https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
- Maximum integration timeout 30 s: "Quotas for configuring and running an HTTP API",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DEFAULT_ROUTE_KEY = "$default"
DEFAULT_STAGE_NAME = "$default"
# moto's default account, so ARNs built here line up with the ones moto hands out.
DEFAULT_ACCOUNT_ID = "123456789012"

# arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function-arn}/invocations
_APIGATEWAY_LAMBDA_URI = re.compile(
    r"^arn:[^:]+:apigateway:[^:]*:lambda:path/[^/]+/functions/(?P<arn>.+)/invocations$"
)


@dataclass(frozen=True)
class Integration:
    integration_id: str
    integration_type: str = "AWS_PROXY"
    integration_uri: str = ""
    payload_format_version: str = "2.0"
    timeout_ms: int = 30000

    @property
    def function_arn(self) -> str:
        """The Lambda function ARN, whichever of the two URI forms the integration was given."""
        match = _APIGATEWAY_LAMBDA_URI.match(self.integration_uri)
        return match.group("arn") if match else self.integration_uri

    @property
    def timeout_s(self) -> float:
        return self.timeout_ms / 1000.0


@dataclass(frozen=True)
class Route:
    route_id: str
    route_key: str
    integration: Integration | None = None

    @property
    def is_default(self) -> bool:
        return self.route_key == DEFAULT_ROUTE_KEY


@dataclass(frozen=True)
class Stage:
    stage_name: str = DEFAULT_STAGE_NAME
    throttling_rate_limit: float | None = None
    throttling_burst_limit: int | None = None
    # route key -> (rate, burst); a None element inherits the stage default.
    route_settings: dict[str, tuple[float | None, int | None]] = field(default_factory=dict)
    stage_variables: dict[str, str] = field(default_factory=dict)

    def limits_for(self, route_key: str) -> tuple[float | None, int | None]:
        """Effective (rate, burst) for a route: its own settings over the stage default."""
        rate, burst = self.route_settings.get(route_key, (None, None))
        return (
            self.throttling_rate_limit if rate is None else rate,
            self.throttling_burst_limit if burst is None else burst,
        )


ANY_ORIGIN = "*"
_SCHEME_WILDCARDS = ("https://*", "http://*")


@dataclass(frozen=True)
class CorsConfig:
    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    def allowed_origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for this Origin, or None when it is not allowed."""
        if not origin:
            return None
        wanted = origin.strip().lower()
        for allowed in self.allow_origins:
            pattern = allowed.strip().lower()
            if pattern == ANY_ORIGIN:
                # A wildcard cannot carry credentials (browsers refuse it), so those get the origin.
                return origin if self.allow_credentials else ANY_ORIGIN
            if pattern in _SCHEME_WILDCARDS and wanted.startswith(pattern[:-1]):
                return origin
            if pattern == wanted:
                return origin
        return None


@dataclass(frozen=True)
class DeployedApi:
    api_id: str
    name: str
    region: str
    routes: tuple[Route, ...] | list[Route]
    stage: Stage = field(default_factory=Stage)
    account_id: str = DEFAULT_ACCOUNT_ID
    cors: CorsConfig | None = None  # None: the API has no CORS configuration

    @property
    def default_domain_name(self) -> str:
        return f"{self.api_id}.execute-api.{self.region}.amazonaws.com"
