"""The demo site as the API function serves it: the page names the region and release that served
it (escaped), its assets come from an allowlist, and its region directory is read from SSM and
checked before it reaches the page."""

from __future__ import annotations

import json

import pytest

from tests.functions.functional.conftest import http_event

DIRECTORY = "/global-backend/global-backend/site-directory"


@pytest.fixture
def with_directory(cloud, monkeypatch):
    monkeypatch.setenv("SITE_DIRECTORY_PARAMETER", DIRECTORY)

    def write(value) -> None:
        cloud.ssm.put_parameter(Name=DIRECTORY, Value=value if isinstance(value, str) else json.dumps(value),
                                Type="String", Overwrite=True)
    return write


def test_the_page_names_the_region_and_release_that_served_it(api):
    reply = api(http_event("GET", "/", route="GET /"))
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/html")
    assert '<strong id="served-region">eu-west-1</strong>' in reply.raw_body
    assert '<strong id="served-release">r-test-1</strong>' in reply.raw_body
    assert reply.headers["cache-control"] == "no-store"  # every load shows who serves it now
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_the_release_is_escaped_into_the_page(api, monkeypatch):
    monkeypatch.setenv("RELEASE", '<script>alert(1)</script>"')
    reply = api(http_event("GET", "/", route="GET /"))
    assert "<script>alert(1)" not in reply.raw_body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in reply.raw_body


def test_the_page_may_call_only_its_own_origin_and_the_directorys_regions(api, with_directory):
    with_directory({"global_url": "https://api.example.com", "regions": [
        {"env": "euw1", "region": "eu-west-1", "url": "https://a1.execute-api.eu-west-1.amazonaws.com/"},
        {"env": "use1", "region": "us-east-1", "url": "https://b2.execute-api.us-east-1.amazonaws.com"}]})
    policy = api(http_event("GET", "/", route="GET /")).headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["connect-src"] == ("'self' https://a1.execute-api.eu-west-1.amazonaws.com "
                                         "https://b2.execute-api.us-east-1.amazonaws.com")
    assert directives["script-src"] == "'self'"  # no inline script: injected markup cannot run
    assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


@pytest.mark.parametrize(("asset", "content_type"), [("site.js", "text/javascript"), ("site.css", "text/css"),
                                                     ("favicon.svg", "image/svg+xml")])
def test_the_assets_are_served_with_their_types(api, asset, content_type):
    reply = api(http_event("GET", f"/site/{asset}", route="GET /site/{asset}"))
    assert reply.status == 200 and reply.headers["content-type"].startswith(content_type)
    assert len(reply.raw_body) > 200


@pytest.mark.parametrize("asset", ["index.html", "app.py", "..", "%2e%2e", "site.js.map", "__init__.py"])
def test_anything_but_a_known_asset_is_a_json_404(api, asset):
    reply = api(http_event("GET", f"/site/{asset}", route="GET /site/{asset}"))
    assert reply.status == 404 and reply.json["error"] == "not_found"


def test_the_directory_reaches_the_page_with_only_well_formed_entries(api, with_directory):
    with_directory({"global_url": "javascript:alert(1)", "regions": [
        {"env": "euw1", "region": "eu-west-1", "url": "http://127.0.0.1:4611/"},
        {"env": "evil", "region": "us-east-1", "url": "javascript:alert(1)"},
        {"env": "x", "region": 3, "url": "https://x.example"},
        "not an entry"]})
    reply = api(http_event("GET", "/site/config.json", route="GET /site/{asset}"))
    assert reply.status == 200
    assert reply.json == {"region": "eu-west-1", "release": "r-test-1", "global_url": None,
                          "regions": [{"env": "euw1", "region": "eu-west-1", "url": "http://127.0.0.1:4611"}]}


@pytest.mark.parametrize(("setup", "problem"), [
    (None, "no region directory configured"),
    ("missing", "no region directory yet (globalctl rollout writes it)"),
    ("{not json", "region directory unreadable"),
])
def test_without_a_usable_directory_the_page_still_works_for_its_region(api, with_directory, monkeypatch,
                                                                         setup, problem):
    if setup is None:
        monkeypatch.delenv("SITE_DIRECTORY_PARAMETER")
    elif setup != "missing":
        with_directory(setup)
    reply = api(http_event("GET", "/site/config.json", route="GET /site/{asset}"))
    assert reply.status == 200
    assert reply.json["regions"] == [] and reply.json["problem"] == problem
    assert api(http_event("GET", "/", route="GET /")).status == 200
