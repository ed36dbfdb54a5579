"""API Gateway's wiring: each region's HTTP APIs, served on that region's loopback port from what
was deployed.

The routes, integrations, stage and CORS configuration are read back from the control plane (moto's
apigatewayv2 backend) on every request, so a redeployed route is served at once, as after an
auto-deploy.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from moto.apigatewayv2.models import apigatewayv2_backends

from ..invocation import InvokeOutcome
from .contracts import InvokerTimeout
from .cors import from_wire
from .model import DeployedApi, Integration, Route, Stage
from .patch import regional_domain_name
from .server import RegionalApiServer

EXECUTE_API = ".execute-api."


class ApiCatalog:
    def __init__(self, account_id: str):
        self.account_id = account_id

    def apis(self, region: str) -> list[Any]:
        return list(apigatewayv2_backends[self.account_id][region].apis.values())

    def lookup(self, region: str, host_header: str | None) -> DeployedApi | None:
        apis = [a for a in self.apis(region) if a.protocol_type == "HTTP"]
        if not apis:
            return None
        host = (host_header or "").split(":")[0].lower()
        wanted = host.split(".")[0] if EXECUTE_API in host else None
        if wanted is not None and wanted.startswith("d-"):
            wanted = self._mapped_api(region, host)
        chosen = next((a for a in apis if a.api_id == wanted), None)
        if chosen is None and wanted is not None:
            return None  # an execute-api host of an API that is not here: API Gateway answers 404
        if chosen is None:
            chosen = max(apis, key=lambda a: a.created_date)  # a bare loopback Host: the region's API
        return _deployed(self.account_id, region, chosen)

    def _mapped_api(self, region: str, host: str) -> str | None:
        """The API a regional custom domain (its d-xxxx host) maps to, as API Gateway routes it."""
        backend = apigatewayv2_backends[self.account_id][region]
        for domain in list(backend.domain_names.values()):
            if regional_domain_name(region, domain.domain_name) == host:
                for mapping in list(backend.api_mappings.values()):
                    if mapping.domain_name == domain.domain_name:
                        return mapping.api_id
        return None


def _deployed(account_id: str, region: str, api: Any) -> DeployedApi:
    integrations = {
        i.id: Integration(i.id, (i.integration_type or "AWS_PROXY").upper(), i.integration_uri or "",
                          str(i.payload_format_version or "2.0"), int(i.timeout_in_millis or 30000))
        for i in list(api.integrations.values())
    }
    routes = []
    for route in list(api.routes.values()):
        target = (getattr(route, "target", None) or "").split("/")[-1]
        routes.append(Route(route.route_id, route.route_key, integrations.get(target)))
    return DeployedApi(api.api_id, api.name, region, tuple(routes), _stage(api), account_id,
                       from_wire(api.cors_configuration))


def _stage(api: Any) -> Stage:
    stages = list(api.stages.values())
    stage = next((s for s in stages if s.name == "$default"), stages[0] if stages else None)
    if stage is None:
        return Stage()
    defaults = stage.default_route_settings or {}
    per_route = {key: (v.get("throttlingRateLimit"), v.get("throttlingBurstLimit"))
                 for key, v in (stage.route_settings or {}).items() if isinstance(v, dict)}
    return Stage(stage.name, defaults.get("throttlingRateLimit"), defaults.get("throttlingBurstLimit"),
                 per_route, dict(stage.stage_variables or {}))


class FunctionInvoker:
    """The API servers' view of Lambda: synchronous invoke with API Gateway's timeout."""

    def __init__(self, invoke: Callable[[str, dict], InvokeOutcome]):
        self._invoke = invoke

    def invoke(self, function_arn: str, event: dict, timeout_s: float) -> InvokeOutcome:
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                outcome["result"] = self._invoke(function_arn, event)
            except BaseException as error:  # noqa: BLE001 - handed to the request thread
                outcome["error"] = error
            finally:
                done.set()

        threading.Thread(target=run, name="apigw-invoke", daemon=True).start()
        if not done.wait(timeout_s):
            raise InvokerTimeout(f"no response from {function_arn} within {timeout_s:.0f} s")
        if "error" in outcome:
            raise outcome["error"]  # TooManyRequests among them: the gateway answers 429
        return outcome["result"]


def start_servers(regions: dict[str, str], ports: dict[str, int], catalog: ApiCatalog, invoker: FunctionInvoker,
                  faults: Any, publish: Any = None) -> dict[str, RegionalApiServer]:
    servers: dict[str, RegionalApiServer] = {}
    try:
        for env, region in regions.items():
            server = RegionalApiServer(region, "127.0.0.1", ports.get(env, 0), catalog=catalog, invoker=invoker,
                                       faults=faults, publish=publish)
            server.start()
            servers[env] = server
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return servers
