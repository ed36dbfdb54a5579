"""globalctl's AWS clients retry in the standard mode, and the user's own max_attempts (the SDK's
AWS_MAX_ATTEMPTS or the profile's) bounds them: an endpoint that keeps answering 503 is asked
exactly that many times, not globalctl's default."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest
from botocore.exceptions import ClientError

from globalctl import aws
from tests.support.globalctl_clients import pointed_at


class _Unavailable(BaseHTTPRequestHandler):
    asked = 0

    def do_POST(self):  # noqa: N802  # http.server's name
        type(self).asked += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"__type": "ServiceUnavailableException", "message": "try again"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


@pytest.fixture
def unavailable(monkeypatch) -> Iterator[type[_Unavailable]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Unavailable.asked = 0
    try:
        with pointed_at(monkeypatch, f"http://127.0.0.1:{server.server_address[1]}"):
            yield _Unavailable
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_users_max_attempts_bounds_the_retries(unavailable, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # read when the client is made, after the fixture's clear
    with pytest.raises(ClientError, match="ServiceUnavailable"):
        aws.client("dynamodb", "eu-west-1").describe_table(TableName="global-items")
    assert unavailable.asked == 2


def test_without_the_users_setting_globalctl_retries_five_times(unavailable, monkeypatch):
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    retries = aws.client("dynamodb", "eu-west-1").meta.config.retries
    assert retries == {"mode": "standard", "total_max_attempts": 6}
