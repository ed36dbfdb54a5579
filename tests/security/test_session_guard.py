"""The test session itself refuses anything but loopback."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.conftest import NetworkEgressRefused
from tests.support import ROOT


def test_session_refuses_to_start_with_a_non_loopback_endpoint(tmp_path):
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    env = {"PATH": "/usr/bin:/bin", "AWS_ENDPOINT_URL_DYNAMODB": "https://dynamodb.eu-west-1.amazonaws.com"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode != 0
    assert "refusing to run: AWS endpoint outside loopback" in proc.stdout + proc.stderr


def test_credentials_are_dummies():
    import os

    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert os.environ["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull


@pytest.mark.parametrize("address", [("192.0.2.1", 443), ("10.0.0.1", 80), ("::ffff:8.8.8.8", 53, 0, 0)])
def test_sockets_cannot_leave_loopback(address):
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(NetworkEgressRefused):
        sock.connect(address)


def test_loopback_is_allowed():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
