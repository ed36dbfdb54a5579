"""localcloud.browser_guard: which requests the local AWS endpoint serves, decided from the WSGI environ."""

from __future__ import annotations

import pytest

from localcloud.browser_guard import BrowserGuard, split_host

PORT = 4566
GUARD = BrowserGuard(PORT)


def environ(host: str | None = f"127.0.0.1:{PORT}", method: str = "GET", path: str = "/", **headers: str) -> dict:
    env = {"REQUEST_METHOD": method, "PATH_INFO": path}
    if host is not None:
        env["HTTP_HOST"] = host
    env.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    return env


@pytest.mark.parametrize(("value", "expected"), [
    ("127.0.0.1:4566", ("127.0.0.1", 4566)),
    ("LocalHost", ("localhost", None)),
    ("[::1]:4566", ("[::1]", 4566)),
    ("[::1]", ("[::1]", None)),
    ("::1", None),
    ("[::1", None),
    ("[::1]x", None),
    ("localhost:", None),
    ("localhost:45a", None),
    ("localhost:²", None),
    ("", None),
    (":4566", None),
])
def test_split_host(value, expected):
    assert split_host(value) == expected


@pytest.mark.parametrize("host", [f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"[::1]:{PORT}", "localhost", "127.0.0.1"])
def test_loopback_names_pass(host):
    assert GUARD.refusal(environ(host)) is None


@pytest.mark.parametrize("host", [None, "", "attacker.example", f"attacker.example:{PORT}", f"127.0.0.1:{PORT + 1}",
                                  f"localhost.:{PORT}", f"127.0.0.2:{PORT}", f"sub.localhost:{PORT}"])
def test_other_hosts_are_refused(host):
    assert "loopback" in (GUARD.refusal(environ(host)) or "")


def test_allowed_hosts_extend_hosts_and_origins():
    guard = BrowserGuard(PORT, ["172.17.0.1", " Host.Docker.Internal ", ""])
    assert guard.refusal(environ(f"host.docker.internal:{PORT}")) is None
    assert guard.refusal(environ(f"172.17.0.1:{PORT}", Origin=f"http://172.17.0.1:{PORT}")) is None
    assert GUARD.refusal(environ(f"172.17.0.1:{PORT}")) is not None


@pytest.mark.parametrize("origin", [f"http://127.0.0.1:{PORT}", f"http://localhost:{PORT}", f"HTTP://LOCALHOST:{PORT}",
                                    f"http://[::1]:{PORT}"])
def test_own_origins_pass(origin):
    assert GUARD.refusal(environ(method="POST", Origin=origin)) is None


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "", f"https://127.0.0.1:{PORT}",
                                    f"http://127.0.0.1:{PORT + 1}", "http://127.0.0.1", f"http://127.0.0.1:{PORT}/"])
def test_other_origins_are_refused(origin):
    assert GUARD.refusal(environ(method="POST", Origin=origin)) is not None


def test_port_80_origins_have_no_port():
    guard = BrowserGuard(80)
    assert guard.refusal(environ("localhost", Origin="http://localhost")) is None
    assert guard.refusal(environ("localhost:80", Origin="http://localhost:80")) is None


@pytest.mark.parametrize(("site", "refused"), [("cross-site", True), ("same-site", True), ("Same-Site", True),
                                               ("same-origin", False), ("none", False), ("", False)])
def test_fetch_metadata_without_origin(site, refused):
    assert (GUARD.refusal(environ(sec_fetch_site=site)) is not None) is refused


@pytest.mark.parametrize(("method", "path", "dest", "served"), [
    ("GET", "/_localcloud/console/", "document", True),
    ("HEAD", "/_localcloud/console", "document", True),
    ("GET", "/_localcloud/console/app.js", "document", True),
    ("GET", "/_localcloud/console/", "iframe", False),
    ("POST", "/_localcloud/console/", "document", False),
    ("GET", "/_localcloud/consoles", "document", False),
    ("GET", "/_localcloud/status", "document", False),
    ("GET", "/bucket", "document", False),
])
def test_only_a_navigation_to_the_console_may_come_from_another_site(method, path, dest, served):
    env = environ(method=method, path=path, sec_fetch_site="cross-site", sec_fetch_mode="navigate",
                  sec_fetch_dest=dest)
    assert (GUARD.refusal(env) is None) is served


def test_refuse_and_without_cors():
    seen: list[tuple] = []
    body = GUARD.refuse("no", lambda status, headers: seen.append((status, headers)))
    assert seen == [("403 Forbidden", [("Content-Type", "application/json"), ("Content-Length", "17")])]
    assert body == [b'{"message": "no"}']

    seen.clear()
    start = GUARD.without_cors(lambda *args: seen.append(args))
    start("200 OK", [("Access-Control-Allow-Origin", "https://evil.example"), ("access-control-allow-credentials",
                                                                                "true"), ("Vary", "Origin")])
    error = (ValueError, ValueError("x"), None)
    start("500 Internal Server Error", [("ACCESS-CONTROL-EXPOSE-HEADERS", "etag")], error)
    assert seen == [("200 OK", [("Vary", "Origin")]), ("500 Internal Server Error", [], error)]
