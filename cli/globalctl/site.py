"""The demo site's configuration, owned by globalctl because only it knows every region at once.

- The region directory: a JSON SSM parameter in each region naming every routed region's API, so
  the page (served by any region) can read each replica through that region's own API. Written
  after every routing deploy, since that is when the set of routed regions changes.
- The origins the regional APIs' CORS allows (SiteOrigins), unless samconfig sets them: on the
  local cloud its loopback URLs, which change with its ports; on AWS the global name and every
  deployed region's own API, so a page opened through any of them reads every region, and no
  other origin can.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from globalctl import aws, regions
from globalctl.endpoints import Endpoints
from globalctl.exceptions import GlobalctlError
from globalctl.topology import Environment, Topology


def directory_parameter(env: Environment) -> str:
    """The name template.yaml gives the API function (SITE_DIRECTORY_PARAMETER)."""
    return f"/global-backend/{env.stack_name}/site-directory"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def local_origins(state: dict[str, Any]) -> list[str]:
    """The local cloud's global entry and every regional API, under both loopback names a browser
    may use (an origin is scheme, host and port: 127.0.0.1 and localhost are different origins)."""
    urls = [state["global_url"], *(info["api_url"] for info in state["regions"].values())]
    origins = []
    for url in urls:
        origin = _origin(url)
        origins += [origin, origin.replace("://127.0.0.1:", "://localhost:")]
    return list(dict.fromkeys(origins))


def _api_endpoint(env: Environment) -> str | None:
    api = regions.region_api(env)  # the rollout's own view of a region's deployed API
    return api.endpoint if api is not None else None


def _api_endpoints(topology: Topology) -> list[str]:
    """Every deployed region's ApiEndpoint. The first region that cannot be asked ends the look:
    the others sit behind the same credentials and network, and each try costs its retries
    (`globalctl params` offline still prints the rest; a deploy would fail on its own)."""
    found = []
    for env in topology.regions:
        try:
            url = _api_endpoint(env)
        except GlobalctlError:
            break
        if url:
            found.append(url)
    return found


def region_parameters(topology: Topology, env: Environment, endpoints: Endpoints) -> dict[str, str]:
    """What a region's deploy adds for the site: SiteOrigins, unless samconfig sets it (the user's
    value always wins). A region deployed for the first time is allowed by the others at their
    next deploy; until then the page reads it only when opened through the global name."""
    if "SiteOrigins" in env.parameters:
        return {}
    if endpoints.state is not None:
        return {"SiteOrigins": ",".join(local_origins(endpoints.state))}
    domain = env.parameters.get("DomainName")
    origins = [f"https://{domain}"] if domain else []
    origins += [_origin(url) for url in _api_endpoints(topology)]
    return {"SiteOrigins": ",".join(dict.fromkeys(origins))} if origins else {}


def directory(topology: Topology, endpoints: Endpoints, routed: Collection[str]) -> dict[str, Any]:
    """{"global_url", "regions": [{"env", "region", "url"}]} for the routed region envs that are
    deployed; on the local cloud the URLs are its loopback ones (a browser sends no Host header
    of its choosing, and the local API server answers its region's API on its own port)."""
    state = endpoints.state
    regions = []
    for env in topology.regions:
        if env.name not in routed:
            continue
        if state is not None:
            info = state["regions"].get(env.name)
            url = info["api_url"] if info and info["region"] == env.region else None
        else:
            url = _api_endpoint(env)
        if url:
            regions.append({"env": env.name, "region": env.region, "url": url.rstrip("/")})
    return {"global_url": _global_url(topology, state), "regions": regions}


def _global_url(topology: Topology, state: dict[str, Any] | None) -> str | None:
    if state is not None:
        return state["global_url"]
    record = topology.routing.parameters.get("RecordName") if topology.routing else None
    return f"https://{record}" if record else None


def publish(topology: Topology, endpoints: Endpoints, routed: Collection[str]) -> list[str]:
    """Write the directory into every routed region; returns the region envs written."""
    endpoints.refresh()  # a region added during this run has its URL only in the newer state
    value = json.dumps(directory(topology, endpoints, routed), sort_keys=True)
    written = []
    for env in topology.regions:
        if env.name in routed:
            aws.client("ssm", env.region).put_parameter(
                Name=directory_parameter(env), Value=value, Type="String", Overwrite=True,
                Description="The demo site's region directory (written by globalctl rollout)")
            written.append(env.name)
    return written


def forget(env: Environment) -> None:
    """Delete a region's directory parameter (its stack is gone: nothing reads it any more)."""
    ssm = aws.client("ssm", env.region)
    try:
        ssm.delete_parameter(Name=directory_parameter(env))
    except ssm.exceptions.ParameterNotFound:
        pass
