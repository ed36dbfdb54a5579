"""CORS as an HTTP API applies it when the API has a CORS configuration.

Source: "Configure CORS for HTTP APIs in API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
- API Gateway answers preflight OPTIONS requests itself, even without an OPTIONS route;
- it adds the configured CORS headers to the integration's response, and ignores the CORS headers
  the integration returned;
- CORS headers come back only when the request has an Origin header; a preflight is an OPTIONS
  request with Origin and Access-Control-Request-Method;
- allowOrigins takes exact origins, `*` (any origin), `https://*` and `http://*` (any origin of
  that scheme).
- The `$default` route catches OPTIONS requests too (same page, CORS with a `$default` route and an
  authorizer), as does an ANY route (aws/serverless-application-model#1603): a preflight goes to
  the integration when a route matches it; API Gateway answers it only when none does.
Not documented, chosen here: a refused origin gets the same answer without any CORS header (the
browser then blocks the call); `*` in allowOrigins is sent back as `*` (the origin itself when
allowCredentials is on, as browsers refuse `*` with credentials); any other allowed origin is
echoed, with `Vary: Origin`; API Gateway's own errors (404, 429, 5xx) of an API get the headers too.
"""

from __future__ import annotations

from typing import Any

from .event import HttpRequest
from .model import ANY_ORIGIN, CorsConfig
from .response import HttpResponse


def from_wire(value: Any) -> CorsConfig | None:
    """The API's corsConfiguration (the wire's camelCase shape, or an OpenAPI body's
    x-amazon-apigateway-cors) as a CorsConfig; None when the API has none.

    Lenient on types: a template parameter arrives as a string ("600", "true"), and a bad value
    must not turn every request of the API into a 500.
    """
    if not isinstance(value, dict) or not value:
        return None
    return CorsConfig(
        allow_origins=_strings(value.get("allowOrigins")),
        allow_methods=tuple(m.upper() for m in _strings(value.get("allowMethods"))),
        allow_headers=_strings(value.get("allowHeaders")),
        expose_headers=_strings(value.get("exposeHeaders")),
        max_age=_integer(value.get("maxAge")),
        allow_credentials=str(value.get("allowCredentials")).lower() == "true",
    )


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return tuple(s for s in (str(item).strip() for item in items) if s)


def _integer(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def is_preflight(request: HttpRequest) -> bool:
    return (
        request.method.upper() == "OPTIONS"
        and bool(request.header("origin"))
        and bool(request.header("access-control-request-method"))
    )


def preflight_answer() -> HttpResponse:
    """API Gateway's own answer to a preflight no route takes; apply() adds the CORS headers."""
    return HttpResponse(204)


def apply(cors: CorsConfig, request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The response with the integration's CORS headers dropped and the configured ones added."""
    headers = [(k, v) for k, v in response.headers if not k.lower().startswith("access-control-")]
    origin = request.header("origin")
    allowed = cors.allowed_origin(origin)
    if allowed is not None:
        headers.append(("Access-Control-Allow-Origin", allowed))
        if cors.allow_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        if is_preflight(request):
            if cors.allow_methods:
                headers.append(("Access-Control-Allow-Methods", ",".join(cors.allow_methods)))
            if cors.allow_headers:
                headers.append(("Access-Control-Allow-Headers", ",".join(cors.allow_headers)))
            if cors.max_age is not None:
                headers.append(("Access-Control-Max-Age", str(cors.max_age)))
        elif cors.expose_headers:
            headers.append(("Access-Control-Expose-Headers", ",".join(cors.expose_headers)))
    if origin and cors.allow_origins != (ANY_ORIGIN,):
        # The answer depends on the Origin, so a cache must not hand it to another origin.
        headers = _vary_on_origin(headers)
    return HttpResponse(response.status, headers, response.body)


def _vary_on_origin(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    present = [v for k, v in headers if k.lower() == "vary"]
    fields = [f.strip() for value in present for f in value.split(",") if f.strip()]
    if "*" in fields or any(f.lower() == "origin" for f in fields):
        return headers
    kept = [(k, v) for k, v in headers if k.lower() != "vary"]
    return [*kept, ("Vary", ", ".join([*fields, "Origin"]))]
