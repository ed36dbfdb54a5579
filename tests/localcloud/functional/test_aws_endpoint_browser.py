"""The local AWS endpoint and web browsers (localcloud.browser_guard): only its own origin, only
under a loopback Host name; non-browser clients (boto3, globalctl, curl) exactly as before.

A real endpoint on a free loopback port, with the supervisor's control calls registered on a cloud
made of just what they touch. Requests are raw HTTP so the tests choose Host, Origin and the Fetch
Metadata headers a browser would send.
"""

from __future__ import annotations

import http.client
import json
import uuid
from types import SimpleNamespace
from typing import Any, Iterator

import boto3
import pytest
from werkzeug.wrappers import Response

from localcloud.aws_endpoint import AwsEndpoint
from localcloud.control_api import register_control
from localcloud.faults import FaultBoard

from tests.support.cors import cors_of

from .conftest import NO_RETRY

FOREIGN = "https://evil.example"
FORM = "multipart/form-data; boundary=b0undary"


@pytest.fixture(scope="module")
def cloud() -> Iterator[Any]:
    endpoint = AwsEndpoint(port=0, allowed_hosts=["172.17.0.1"])
    faults = FaultBoard({"euw1": "eu-west-1"}, lambda region, cut: None)
    cloud = SimpleNamespace(endpoint=endpoint, faults=faults, regions={}, home_region="eu-west-1",
                            entry=SimpleNamespace(url="http://127.0.0.1:1"), console_url="",
                            health_interval_scale=1.0, alarm_period_scale=1.0)
    register_control(cloud)
    endpoint.route("console", lambda request: Response("<!doctype html>", 200, content_type="text/html"))
    endpoint.start()
    try:
        yield cloud
    finally:
        endpoint.stop()


@pytest.fixture
def endpoint(cloud: Any) -> Iterator[AwsEndpoint]:
    yield cloud.endpoint
    cloud.faults.heal("euw1")


def send(endpoint: AwsEndpoint, method: str, path: str, body: bytes = b"",
         **headers: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host="Host" in headers)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def s3(endpoint: AwsEndpoint) -> Any:
    return boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint.url, config=NO_RETRY)


def bucket(endpoint: AwsEndpoint) -> str:
    name = f"guard-{uuid.uuid4().hex[:10]}"
    s3(endpoint).create_bucket(Bucket=name)
    return name


def upload_form(key: str) -> bytes:
    """What an HTML form can post to S3 (a browser-based upload): no signature needed by moto."""
    return (f'--b0undary\r\nContent-Disposition: form-data; name="key"\r\n\r\n{key}\r\n'
            '--b0undary\r\nContent-Disposition: form-data; name="file"; filename="x.txt"\r\n'
            "Content-Type: text/plain\r\n\r\nowned\r\n--b0undary--\r\n").encode()


def keys(endpoint: AwsEndpoint, name: str) -> list[str]:
    return [o["Key"] for o in s3(endpoint).list_objects_v2(Bucket=name).get("Contents", [])]


def test_a_foreign_pages_form_post_to_s3_is_refused(endpoint):
    name = bucket(endpoint)
    status, headers, body = send(endpoint, "POST", f"/{name}", upload_form("from-evil"),
                                 **{"Content-Type": FORM, "Origin": FOREIGN})
    assert status == 403 and json.loads(body)["message"] and cors_of(headers) == {}
    assert keys(endpoint, name) == []
    # The same form from curl (no Origin) is served: the refusal above is the guard's, not moto's.
    status, _, _ = send(endpoint, "POST", f"/{name}", upload_form("from-curl"), **{"Content-Type": FORM})
    assert status == 204 and keys(endpoint, name) == ["from-curl"]


def test_a_foreign_pages_bucket_creation_is_refused(endpoint):
    name = f"guard-{uuid.uuid4().hex[:10]}"
    status, headers, _ = send(endpoint, "PUT", f"/{name}", Origin="null")
    assert status == 403 and cors_of(headers) == {}
    assert name not in {b["Name"] for b in s3(endpoint).list_buckets()["Buckets"]}


def test_a_foreign_preflight_gets_no_cors(endpoint):
    name = bucket(endpoint)
    status, headers, _ = send(endpoint, "OPTIONS", f"/{name}/key", Origin=FOREIGN,
                              **{"Access-Control-Request-Method": "PUT"})
    assert status == 403 and cors_of(headers) == {}


def test_a_request_without_origin_from_another_site_is_refused(endpoint):
    """An <img> or a no-cors GET: no Origin, but Fetch Metadata names the sender."""
    name = bucket(endpoint)
    for site in ("cross-site", "same-site"):  # same-site: another port on loopback, another origin
        status, _, _ = send(endpoint, "GET", f"/{name}", **{"Sec-Fetch-Site": site, "Sec-Fetch-Mode": "no-cors"})
        assert status == 403
    status, _, _ = send(endpoint, "GET", f"/{name}", **{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"})
    assert status == 200  # the address typed in the address bar


def test_a_link_from_another_site_opens_the_console_and_nothing_else(endpoint):
    navigate = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
    assert send(endpoint, "GET", "/_localcloud/console/", **navigate)[0] == 200
    assert send(endpoint, "GET", "/_localcloud/console/", **{**navigate, "Sec-Fetch-Dest": "iframe"})[0] == 403
    assert send(endpoint, "GET", "/_localcloud/status", **navigate)[0] == 403
    assert send(endpoint, "GET", f"/{bucket(endpoint)}", **navigate)[0] == 403


@pytest.mark.parametrize("host", ["attacker.example:{port}", "attacker.example", "127.0.0.1:1", "localhost.:{port}",
                                  "127.0.0.1:{port}@attacker.example", "[::1"])
def test_a_rebinding_host_is_refused_before_moto_and_control_calls(cloud, endpoint, host):
    host = host.format(port=endpoint.port)
    name = f"guard-{uuid.uuid4().hex[:10]}"
    status, headers, body = send(endpoint, "PUT", f"/{name}", Host=host)
    assert status == 403 and "loopback" in json.loads(body)["message"] and cors_of(headers) == {}
    assert name not in {b["Name"] for b in s3(endpoint).list_buckets()["Buckets"]}
    fault = json.dumps({"env": "euw1", "kind": "outage"}).encode()
    status, _, _ = send(endpoint, "POST", "/_localcloud/fault", fault, Host=host, **{"Content-Type": "application/json"})
    assert status == 403 and cloud.faults.of_env("euw1") is None


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "LOCALHOST:{port}",
                                  "localhost", "127.0.0.1", "172.17.0.1:{port}"])
def test_loopback_names_and_allowed_hosts_are_served(endpoint, host):
    status, _, body = send(endpoint, "GET", "/_localcloud/status", Host=host.format(port=endpoint.port))
    assert status == 200 and json.loads(body)["home_region"] == "eu-west-1"


def test_the_consoles_own_origin_works_and_gets_no_cors_headers(cloud, endpoint):
    own = f"http://127.0.0.1:{endpoint.port}"
    fault = json.dumps({"env": "euw1", "kind": "errors"}).encode()
    status, headers, body = send(endpoint, "POST", "/_localcloud/fault", fault, Origin=own,
                                 **{"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"})
    assert (status, json.loads(body)) == (200, {"env": "euw1", "fault": "errors"}) and cors_of(headers) == {}
    assert cloud.faults.of_env("euw1").kind == "errors"
    name = bucket(endpoint)
    status, headers, _ = send(endpoint, "GET", f"/{name}", Origin=f"http://localhost:{endpoint.port}")
    assert status == 200 and cors_of(headers) == {}  # moto's reflected Origin is stripped
    status, _, _ = send(endpoint, "GET", "/_localcloud/status", **{"Sec-Fetch-Site": "same-origin"})
    assert status == 200


def test_boto3_works_unchanged(endpoint):
    client = s3(endpoint)
    name = bucket(endpoint)
    client.put_object(Bucket=name, Key="k", Body=b"v")
    assert client.get_object(Bucket=name, Key="k")["Body"].read() == b"v"


def test_state_changing_control_calls_take_post_only(cloud, endpoint):
    for name in ("fault", "heal", "regions"):
        status, headers, body = send(endpoint, "GET", f"/_localcloud/{name}?env=euw1&kind=outage")
        assert status == 405 and headers["allow"] == "POST" and "POST" in json.loads(body)["message"]
    assert cloud.faults.of_env("euw1") is None
    status, headers, _ = send(endpoint, "POST", "/_localcloud/cfn-response/token", b"{}")
    assert status == 405 and headers["allow"] == "PUT"
    status, _, _ = send(endpoint, "PUT", "/_localcloud/cfn-response/unknown-token", b"{}")
    assert status == 404  # PUT reaches the ResponseURL handler


def test_reads_take_get_with_query_arguments(endpoint):
    status, _, body = send(endpoint, "GET", "/_localcloud/status")
    assert status == 200 and json.loads(body)["regions"] == {}
    status, _, body = send(endpoint, "GET", "/_localcloud/resolve?name=api.example.com&from=moon-1")
    assert status == 400 and "moon-1" in json.loads(body)["message"]
    status, _, _ = send(endpoint, "DELETE", "/_localcloud/status")
    assert status == 405
