"""The supervisor's control calls, served under /_localcloud/ on the AWS endpoint (aws_endpoint.py):
status, fault, heal, resolve, and regions (serve one more region env). JSON in, JSON out; a bad
request is a 400 with a message, never a traceback. `globalctl local` and the test and chaos harnesses call them."""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from werkzeug.wrappers import Request, Response

from .own_routes import json_response
from .faults import KINDS, UnknownRegion
from .route53 import latency


_ENV_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class BadControlRequest(ValueError):
    pass


class NothingRouted(LookupError):
    """The name has no routing yet: the cloud's state, not the request, is what is missing."""


def _handler(work: Callable[[dict[str, Any]], Any]) -> Callable[[Request], Response]:
    def handle(request: Request) -> Response:
        try:
            # A read may be a GET (the console's), its arguments in the query string.
            body = request.args.to_dict() if request.method == "GET" else json.loads(request.get_data() or b"{}")
            if not isinstance(body, dict):
                raise BadControlRequest("the request body must be a JSON object")
            return json_response(200, work(body))
        except NothingRouted as error:
            return json_response(404, {"message": str(error)})
        except (BadControlRequest, UnknownRegion, ValueError) as error:
            return json_response(400, {"message": str(error)})

    return handle


def register_control(cloud: Any) -> None:
    def status(_body: dict[str, Any]) -> dict[str, Any]:
        regions = {}
        for env, region in cloud.regions.items():
            fault = cloud.faults.of_env(env)
            regions[env] = {"region": region, "api_url": cloud.api_servers[env].url,
                            "healthy": region_healthy(cloud, region), "fault": fault.kind if fault else None}
        return {"endpoint": cloud.endpoint.url, "global_url": cloud.entry.url, "console_url": cloud.console_url,
                "home_region": cloud.home_region,
                "health_interval_scale": cloud.health_interval_scale,
                "alarm_period_scale": cloud.alarm_period_scale, "regions": regions}

    def fault(body: dict[str, Any]) -> dict[str, Any]:
        env, kind = str(body.get("env", "")), str(body.get("kind", ""))
        if kind not in KINDS:
            raise BadControlRequest(f"unknown fault {kind!r}; choose one of {', '.join(KINDS)}")
        cloud.faults.set(env, kind, int(body.get("latency_ms", 500)), float(body.get("error_rate", 0.5)))
        return {"env": env, "fault": kind}

    def heal(body: dict[str, Any]) -> dict[str, Any]:
        env = str(body.get("env", ""))
        targets = list(cloud.regions) if env == "all" else [env]
        return {"healed": [e for e in targets if cloud.faults.heal(e)]}

    def resolve(body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("name") or "")
        location = body.get("from") or cloud.home_region
        if not latency.is_region(location):
            raise BadControlRequest(f"unknown AWS region {location!r} for --from")
        resolved = cloud.dns.resolve(name, location)
        if resolved is None:
            raise NothingRouted(f"Route 53 has no routing for {name!r} (deploy the routing stack first)")
        answer, record_type, via = resolved
        region = answer.region_of(answer.values[0]) if answer.values else None
        return {"name": name, "from": location, "type": record_type, "values": list(answer.values),
                "region": region, "via": via, "path": list(answer.path), "healthy": answer.healthy}

    def add_region(body: dict[str, Any]) -> dict[str, Any]:
        env, region = str(body.get("env") or ""), str(body.get("region") or "")
        if not _ENV_NAME.fullmatch(env):
            raise BadControlRequest(f"region env {env!r} is not a samconfig environment name")
        if not latency.is_region(region):
            raise BadControlRequest(f"unknown AWS region {region!r}")
        state = cloud.add_region(env, region)
        return {"env": env, "region": region, "api_url": state["regions"][env]["api_url"]}

    reads, changes = ("GET", "POST"), ("POST",)
    for name, work, methods in (("status", status, reads), ("fault", fault, changes), ("heal", heal, changes),
                                ("resolve", resolve, reads), ("regions", add_region, changes)):
        cloud.endpoint.route(name, _handler(work), methods)


def region_health_checks(cloud: Any, region: str) -> list[str]:
    """The ids of the Route 53 health checks probing an endpoint in `region` (its execute-api host
    names the region)."""
    return [hc_id for hc_id in cloud.dns.checkers.ids()
            if (checker := cloud.dns.checkers.get(hc_id)) is not None
            and region in str(checker.config.get("FullyQualifiedDomainName", ""))]


def region_healthy(cloud: Any, region: str) -> bool:
    """A region is healthy when its API answers /health (through the same path Route 53 probes)."""
    fault = cloud.faults.fault(region)
    if fault is not None and fault.kind == "outage":
        return False
    checks = region_health_checks(cloud, region)
    if checks:
        return all(cloud.dns.healthy(hc_id) for hc_id in checks)
    return cloud.catalog.lookup(region, None) is not None
