"""The console's state call built from a fake cloud, and its route: files, headers, methods and
names that are not files."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from localcloud.cloudwatch.metrics import MetricStore
from localcloud.console.probes import HealthProbes
from localcloud.console.state import ConsoleState
from localcloud.console.web import CONSOLE_PATH, SECURITY_HEADERS, ConsoleApp, register_console
from localcloud.faults import FaultBoard
from localcloud.route53.routing import Answer

ACCOUNT = "123456789012"
REGIONS = {"euw1": "eu-west-1", "use1": "us-east-1"}


class Checker:
    def __init__(self, fqdn: str, healthy: bool):
        self.config = {"FullyQualifiedDomainName": fqdn}
        self._healthy = healthy

    def status(self) -> bool:
        return self._healthy

    def observations(self) -> list[dict]:
        return []


class Dns:
    def __init__(self) -> None:
        self.checks = {"hc-eu": Checker("a.execute-api.eu-west-1.amazonaws.com", False),
                       "hc-us": Checker("b.execute-api.us-east-1.amazonaws.com", True)}
        self.checkers = SimpleNamespace(ids=lambda: sorted(self.checks), get=self.checks.get)

    def routed_names(self) -> list[str]:
        return ["api.example.com"]

    def resolve(self, name: str, location: str) -> tuple[Answer, str, str]:
        value = "b.execute-api.us-east-1.amazonaws.com"  # eu-west-1 is unhealthy: everyone goes to us-east-1
        return Answer([value], "CNAME", path=["latency"], regions={value: "us-east-1"}), "CNAME", "record sets"


def fake_cloud() -> Any:
    servers = {env: SimpleNamespace(port=5000 + n, url=f"http://127.0.0.1:{5000 + n}") for n, env in enumerate(REGIONS)}
    return SimpleNamespace(regions=dict(REGIONS), api_servers=servers,
                           faults=FaultBoard(dict(REGIONS), lambda *_: None),
                           dns=Dns(), endpoint=SimpleNamespace(url="http://127.0.0.1:4610", route=lambda *a: None),
                           entry=SimpleNamespace(url="http://127.0.0.1:4611"), home_region="eu-west-1")


def fake_probe(target: tuple[str, int], timeout: float) -> dict:
    release = {5000: "r-eu", 5001: "r-us"}[target[1]]
    return {"ok": True, "status": 200, "release": release, "region": None, "answer": "ok", "detail": "HTTP 200"}


class Backends(dict):
    def __init__(self, broken: bool = False) -> None:
        super().__init__()
        self.broken = broken

    def __getitem__(self, account: str) -> Any:
        if self.broken:
            raise KeyError(account)
        return {r: SimpleNamespace(alarms={}) for r in ("eu-west-1", "us-east-1")}


def console(tmp_path: Path, cloud: Any = None, backends: Any = None) -> ConsoleState:
    return ConsoleState(cloud or fake_cloud(), tmp_path, ACCOUNT, store=MetricStore(),
                        alarm_backends=backends if backends is not None else Backends(), groups=list,
                        probes=HealthProbes(probe_fn=fake_probe), console_url="http://127.0.0.1:4610" + CONSOLE_PATH)


def test_state_has_every_region_with_release_health_routing_and_fault(tmp_path: Path):
    cloud = fake_cloud()
    cloud.faults.set("euw1", "slow", latency_ms=800)
    (tmp_path / "history.json").write_text(json.dumps([{"action": "rollout", "release": "r-us", "status": "complete"}]))

    state = console(tmp_path, cloud).build()

    assert [(r["env"], r["region"], r["release"]) for r in state["regions"]] == [
        ("euw1", "eu-west-1", "r-eu"), ("use1", "us-east-1", "r-us")]
    euw1, use1 = state["regions"]
    assert euw1["fault"] == {"kind": "slow", "latency_ms": 800, "error_rate": 0.5} and use1["fault"] is None
    assert euw1["route53"]["state"] == "unhealthy" and [c["id"] for c in euw1["route53"]["checks"]] == ["hc-eu"]
    assert use1["route53"]["state"] == "healthy"
    assert euw1["serves"]["state"] == "not serving" and use1["serves"]["state"] == "serving"
    assert use1["serves"]["locations"] == len(state["locations"]) > 30
    assert euw1["traffic"] == {"requests": 0, "errors_4xx": 0, "errors_5xx": 0, "window_s": 60}
    assert state["routed_name"] == "api.example.com"
    assert state["fault_kinds"] == ["outage", "partition", "slow", "errors"]
    assert state["history"][0]["release"] == "r-us" and state["drills"] == []
    assert state["problems"] == []
    json.dumps(state, allow_nan=False)


def test_a_failing_piece_is_named_and_the_rest_still_builds(tmp_path: Path):
    state = console(tmp_path, backends=Backends(broken=True)).build()

    assert state["alarms"] == []
    assert state["problems"] == ["alarms: KeyError: '123456789012'"]
    assert [r["release"] for r in state["regions"]] == ["r-eu", "r-us"]


# ------------------------------------------------------------------ the route


def call(app: ConsoleApp, path: str, method: str = "GET") -> Response:
    environ = EnvironBuilder(path=path, method=method).get_environ()
    return app(Request(environ))


@pytest.fixture
def app(tmp_path: Path) -> ConsoleApp:
    return ConsoleApp(console(tmp_path))


@pytest.mark.parametrize("path, content_type, marker", [
    (CONSOLE_PATH, "text/html; charset=utf-8", b'<table id="regions">'),
    (CONSOLE_PATH + "index.html", "text/html; charset=utf-8", b'<div id="locations" class="map">'),
    (CONSOLE_PATH + "console.css", "text/css; charset=utf-8", b"[data-state=\"bad\"]"),
    (CONSOLE_PATH + "console.js", "text/javascript; charset=utf-8", b"localcloud-client-location"),
    (CONSOLE_PATH + "favicon.svg", "image/svg+xml", b"<svg"),
])
def test_files_are_served_with_their_type_and_the_security_headers(app: ConsoleApp, path: str, content_type: str,
                                                                    marker: bytes):
    response = call(app, path)

    assert response.status_code == 200 and response.content_type == content_type
    assert marker in response.get_data()
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_the_state_call_is_json_and_never_cached(app: ConsoleApp):
    response = call(app, CONSOLE_PATH + "state")

    assert response.status_code == 200 and response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert [r["env"] for r in json.loads(response.get_data())["regions"]] == ["euw1", "use1"]


def test_a_state_that_cannot_be_built_is_a_503_with_a_message(app: ConsoleApp, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(app.state, "build", lambda: 1 / 0)

    response = call(app, CONSOLE_PATH + "state")

    assert response.status_code == 503
    assert json.loads(response.get_data()) == {
        "message": "the console state could not be built; see the supervisor log"}


@pytest.mark.parametrize("path", [
    CONSOLE_PATH + "../../etc/passwd", CONSOLE_PATH + "%2e%2e/%2e%2e/etc/passwd", CONSOLE_PATH + "static/console.js",
    CONSOLE_PATH + "..%2fconsole.js", CONSOLE_PATH + "console.js/", CONSOLE_PATH + "/console.js",
    CONSOLE_PATH + "__init__.py", CONSOLE_PATH + "nothing.html", "/_localcloud/consolex",
])
def test_anything_but_a_known_file_is_a_404(app: ConsoleApp, path: str):
    response = call(app, path)

    assert response.status_code == 404 and response.content_type == "application/json"
    assert b"root:" not in response.get_data() and b"import" not in response.get_data()
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_bare_path_redirects_to_the_folder(app: ConsoleApp):
    response = call(app, CONSOLE_PATH.rstrip("/"))

    assert response.status_code == 308 and response.headers["Location"] == CONSOLE_PATH


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_the_console_only_reads(app: ConsoleApp, method: str):
    response = call(app, CONSOLE_PATH + "state", method)

    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"
    assert "POST /_localcloud/fault" in json.loads(response.get_data())["message"]


def test_register_routes_everything_under_console_to_the_app(tmp_path: Path):
    routes: dict[str, Any] = {}
    cloud = fake_cloud()
    cloud.endpoint.route = routes.__setitem__

    state = register_console(cloud, tmp_path, ACCOUNT)

    assert set(routes) == {"console"} and routes["console"].state is state
    assert state.console_url == "http://127.0.0.1:4610/_localcloud/console/"


def test_the_supervisor_reads_globalctl_records_beside_its_state_dir_unless_told(tmp_path: Path):
    from localcloud.supervisor import LocalCloud

    state_dir = tmp_path / ".globalctl" / "local"
    default = LocalCloud(state_dir, dict(REGIONS), "eu-west-1", 0)
    told = LocalCloud(state_dir, dict(REGIONS), "eu-west-1", 0, records_dir=tmp_path / "records")

    assert default.records_dir == tmp_path / ".globalctl"
    assert told.records_dir == tmp_path / "records"
