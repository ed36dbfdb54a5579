"""The three urlopen calls bandit flagged (B310) open only the URLs they are meant for.

urllib's urlopen also opens file:, ftp: and data: URLs. Each call now checks the scheme (and, where
it must be local, the host) first: CloudFormation's ResponseURL must be https (a pre-signed S3
URL; plain http only on loopback, the local cloud has no TLS); the local cloud's control endpoint
from its state file must be http on loopback; an API request goes out over http or https only.
No test here opens a socket: urlopen is replaced by a recorder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from custom_resources import replica_stream
from globalctl import endpoints
from globalctl.exceptions import LocalCloudError
from globalctl.localcloud import LocalCloudContext


class _Answer:
    status = 200
    headers: dict[str, str] = {}

    def __enter__(self) -> _Answer:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read(self) -> bytes:
        return b'{"ok": true}'


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL urlopen was asked to open; each is answered 200 without any I/O."""
    urls: list[str] = []

    def urlopen(request: Any, timeout: float | None = None) -> _Answer:
        urls.append(request.full_url if hasattr(request, "full_url") else str(request))
        return _Answer()

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    return urls


@pytest.mark.parametrize("url, allowed", [
    ("https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/x?Signature=s", True),
    ("http://127.0.0.1:4610/_localcloud/cfn-response/abc", True),
    ("http://localhost:4610/_localcloud/cfn-response/abc", True),
    ("http://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/x", False),
    ("file:///etc/passwd", False),
    ("ftp://127.0.0.1/x", False),
    ("https:///no-host", False),
    ("", False),
])
def test_custom_resource_answers_only_an_https_or_loopback_response_url(url, allowed, opened):
    assert replica_stream.response_url_allowed(url) is allowed
    replica_stream.send({"ResponseURL": url, "StackId": "s", "RequestId": "r", "LogicalResourceId": "l"},
                        replica_stream.SUCCESS, "", "physical-id")
    assert opened == ([url] if allowed else [])


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.invalid/x", "data:,hello", "/relative"])
def test_api_requests_refuse_other_schemes(url, opened):
    response = endpoints.http("GET", url)
    assert response.status == 0 and b"only http and https" in response.body
    assert opened == []


def test_api_requests_go_out_over_http_and_https(opened):
    assert endpoints.http("GET", "https://abc.execute-api.eu-west-1.amazonaws.com/health").status == 200
    assert endpoints.http("GET", "http://127.0.0.1:4620/health").status == 200
    assert opened == ["https://abc.execute-api.eu-west-1.amazonaws.com/health", "http://127.0.0.1:4620/health"]


@pytest.mark.parametrize("endpoint", ["file:///tmp/control", "http://10.0.0.5:4610", "https://127.0.0.1:4610", ""])
def test_local_cloud_control_calls_stay_on_loopback_http(endpoint, opened, monkeypatch, tmp_path: Path):
    monkeypatch.setattr(LocalCloudContext, "state", lambda self: {"endpoint": endpoint, "ready": True})
    with pytest.raises(LocalCloudError, match="not an http endpoint on loopback"):
        LocalCloudContext(tmp_path / "samconfig.toml").call("status")
    assert opened == []


def test_local_cloud_control_calls_reach_a_loopback_endpoint(opened, monkeypatch, tmp_path: Path):
    monkeypatch.setattr(LocalCloudContext, "state", lambda self: {"endpoint": "http://127.0.0.1:4610", "ready": True})
    assert LocalCloudContext(tmp_path / "samconfig.toml").call("status") == {"ok": True}
    assert opened == ["http://127.0.0.1:4610/_localcloud/status"]
