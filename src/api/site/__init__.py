"""The demo site: one page and its two assets, served by the API function itself at ``GET /`` and
``GET /site/<asset>``, so the site is deployed, versioned and rolled out with the code that serves
it, and opening it through the global name shows which region the routing chose.

The page learns the regional API endpoints from the region directory: an SSM parameter in each
region (JSON, written by ``globalctl rollout`` after every routing deploy), named by
SITE_DIRECTORY_PARAMETER. It is configuration: adding a region changes the parameter, not this code.
"""

from __future__ import annotations

import html
import json
import os
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from common.observability import logger

from .. import health

# A cached directory is at most this old: a region added shows up in the page within a minute.
DIRECTORY_MAX_AGE_SECONDS = 60
ASSETS = {"site.js": "text/javascript; charset=utf-8", "site.css": "text/css; charset=utf-8",
          "favicon.svg": "image/svg+xml"}
PAGE = "index.html"


@lru_cache(maxsize=None)
def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def asset(name: str) -> tuple[str, str] | None:
    """(body, content type) of a known asset; None for any other name (no file system lookup)."""
    content_type = ASSETS.get(name)
    return (_static(name), content_type) if content_type else None


def page(region: str, release: str) -> str:
    """The page with the serving region and release written in (escaped): the browser cannot read
    the headers of the document it loaded, so the page itself says who served it."""
    return _static(PAGE).replace("{{region}}", html.escape(region)).replace("{{release}}", html.escape(release))


def directory() -> dict[str, Any]:
    """The region directory {"regions": [{"env", "region", "url"}], "global_url"}, or an empty one
    with the reason; never raises (the page still works, for this region only)."""
    name = os.environ.get("SITE_DIRECTORY_PARAMETER")
    if not name:
        return {"regions": [], "global_url": None, "problem": "no region directory configured"}
    try:
        value = health._ssm_provider().get(name, max_age=DIRECTORY_MAX_AGE_SECONDS, transform="json")
    except (GetParameterError, TransformParameterError) as exc:
        missing = "ParameterNotFound" in str(exc)
        if not missing:
            logger.warning("region directory unreadable", exc_info=True)
        return {"regions": [], "global_url": None,
                "problem": "no region directory yet (globalctl rollout writes it)" if missing
                else "region directory unreadable"}
    return _checked(value)


def _checked(value: Any) -> dict[str, Any]:
    """Only well-formed http(s) entries reach the page: the directory is data, not trusted markup."""
    regions = []
    entries = value.get("regions") if isinstance(value, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        url, region, env = entry.get("url"), entry.get("region"), entry.get("env")
        if isinstance(url, str) and _origin(url) and isinstance(region, str) and isinstance(env, str):
            regions.append({"env": env, "region": region, "url": url.rstrip("/")})
    global_url = value.get("global_url") if isinstance(value, dict) else None
    return {"regions": regions, "global_url": global_url if isinstance(global_url, str) and _origin(global_url) else None}


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(known: dict[str, Any]) -> str:
    """Scripts and styles from this origin only, no inline script, and calls only to this origin and
    the directory's regional APIs: an item's data, even if it carried markup, could not run or
    send anything elsewhere."""
    origins = sorted({o for entry in known["regions"] if (o := _origin(entry["url"]))})
    connect = " ".join(["'self'", *origins])
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            f"connect-src {connect}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def config(region: str, release: str) -> str:
    return json.dumps({"region": region, "release": release, **directory()})
