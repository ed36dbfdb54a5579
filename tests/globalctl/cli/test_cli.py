"""globalctl's surface: help, version, one clear line and a non-zero exit for every user mistake."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from globalctl import __version__
from globalctl.main import app
from tests.support import ROOT
from tests.support.globalctl_clients import unreachable

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"globalctl {__version__}"


def test_help_lists_commands_and_imports_no_aws_sdk():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from globalctl.main import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'validate' in r.output and 'params' in r.output\n"
        "heavy = [m for m in ('boto3', 'botocore', 'cfnlint', 'samtranslator') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert proc.stdout.strip() == ""


def test_unknown_environment_is_one_line_exit_2():
    result = runner.invoke(app, ["--config", str(ROOT / "samconfig.toml"), "params", "mars1"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: unknown environment 'mars1' (known: table, euw1, use1, apse1, routing)"
    assert "Traceback" not in result.output


def test_missing_config_is_one_line(tmp_path):
    result = runner.invoke(app, ["--config", str(tmp_path / "nope.toml"), "validate"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'nope.toml'}: no such file (run from the project root or pass --config)"]


def test_broken_toml_is_one_line(tmp_path):
    bad = tmp_path / "samconfig.toml"
    bad.write_text("[euw1.deploy.parameters\nregion = ")
    result = runner.invoke(app, ["--config", str(bad), "validate"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: not valid TOML")


def test_unbalanced_quote_in_overrides_is_one_line(tmp_path):
    bad = tmp_path / "samconfig.toml"
    bad.write_text('version = 0.1\n[euw1.deploy.parameters]\nregion = "eu-west-1"\n'
                   'stack_name = "s"\nparameter_overrides = "Release=\\"v1"\n')
    result = runner.invoke(app, ["--config", str(bad), "validate", "--skip-lint"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: environment 'euw1': parameter_overrides: No closing quotation"


def test_debug_shows_the_traceback(tmp_path):
    result = runner.invoke(app, ["--debug", "--config", str(tmp_path / "nope.toml"), "validate"])
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "TopologyError"


def test_routing_params_without_deployed_regions_is_one_line(monkeypatch):
    # The regions are not deployed: the routing parameters cannot be derived. botocore is pointed
    # at a closed loopback port so the failure is real and local.
    with unreachable(monkeypatch):
        result = runner.invoke(app, ["--config", str(ROOT / "samconfig.toml"), "params", "routing"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output
