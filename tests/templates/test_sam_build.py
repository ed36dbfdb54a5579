"""`sam build` of the real template: one build for every region, no pip step, no Docker."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from globalctl.lint import sam_executable
from tests.support import ROOT


def test_sam_build_packages_every_handler_without_a_pip_step(tmp_path: Path):
    for name in ("template.yaml", "samconfig.toml", "regional", "global", "src"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    proc = subprocess.run([sam_executable(), "build"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "requirements.txt file not found" in proc.stdout + proc.stderr  # nothing for pip to do
    built = tmp_path / ".aws-sam" / "build"
    handlers = {
        "Api/ApiFunction": "api/app.py",
        "ChangeStream/StreamProcessorFunction": "stream/app.py",
        "ChangeStream/ReplicaStreamLookupFunction": "custom_resources/replica_stream.py",
    }
    for function, module in handlers.items():
        assert (built / function / module).is_file(), function
        assert (built / function / "common").is_dir(), function
