"""The rollout family's error paths: one clear line, a non-zero exit, no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from globalctl.main import app
from tests.support import ROOT
from tests.support.globalctl_clients import pointed_at, unreachable

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("template.yaml", "samconfig.toml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    for folder in ("regional", "global", "src"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch):
    """An empty local control plane (no stacks), and fresh boto3 clients pointed at it."""
    from localcloud.aws_endpoint import AwsEndpoint

    plane = AwsEndpoint(port=0)
    plane.start()
    try:
        with pointed_at(monkeypatch, plane.url):
            yield plane
    finally:
        plane.stop()


def run(project: Path, *args: str):
    return runner.invoke(app, ["--config", str(project / "samconfig.toml"), *args])


def one_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "Traceback" not in result.output
    return lines[-1]


def test_an_unknown_region_env_is_refused(project):
    result = run(project, "rollout", "--regions", "euw1,nope", "--dry-run", "--skip-validate")
    assert result.exit_code == 2
    assert "nope" in one_line(result) and "euw1" in one_line(result)


def test_a_bad_release_id_is_refused(project):
    result = run(project, "rollout", "--release", "v1; rm -rf /", "--dry-run", "--skip-validate")
    assert result.exit_code == 2
    assert "release" in one_line(result)


def test_the_local_cloud_not_running_is_one_line(project, monkeypatch):
    with unreachable(monkeypatch):
        result = run(project, "status")
    assert result.exit_code == 1
    assert "local cloud running" in one_line(result)


def test_missing_credentials_are_one_line(project, endpoint, monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    result = run(project, "status")
    assert result.exit_code == 1
    assert "no AWS credentials" in one_line(result)


@pytest.mark.parametrize("status", ["UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_FAILED"])
def test_a_stack_in_flight_or_stuck_stops_the_rollout_before_it_starts(project, endpoint, status):
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends["123456789012"]["eu-west-1"]
    stack = backend.create_stack(name="global-backend-table", template='{"Resources": {}}', parameters={})
    stack.status = status
    try:
        result = run(project, "rollout", "--release", "v9", "--yes", "--skip-validate")
    finally:
        backend.stacks.pop(stack.stack_id, None)
    assert result.exit_code == 1
    line = one_line(result)
    assert "global-backend-table" in line and status in line
    assert not (project / ".globalctl" / "rollouts").exists()  # nothing was started


def test_sam_missing_is_one_line(project, endpoint, monkeypatch):
    import globalctl.lint as lint

    monkeypatch.setattr(lint.shutil, "which", lambda name: None)
    monkeypatch.setattr(lint.sys, "executable", str(project / "no-python-here"))
    result = run(project, "plan", "--release", "v9", "--skip-validate")
    assert result.exit_code == 1
    assert "sam" in one_line(result) and "not installed" in one_line(result)
