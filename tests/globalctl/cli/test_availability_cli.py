"""`globalctl availability`: the topology's table, overrides, ad-hoc what-ifs, --json, bad input."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import pytest
from typer.testing import CliRunner

from globalctl.main import app
from tests.support import FOURTH_REGION, ROOT

runner = CliRunner()
SHIPPED = str(ROOT / "samconfig.toml")
# The defaults, written out here rather than read from the module under test.
REGION = F("0.9995") * F("0.9995") * F("0.99999")  # API Gateway x Lambda x DynamoDB global table


def invoke(*args: str, config: str = SHIPPED):
    return runner.invoke(app, ["--config", config, "availability", *args], env={"COLUMNS": "100"})


def as_json(*args: str, config: str = SHIPPED) -> dict:
    result = invoke(*args, "--json", config=config)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_default_table_names_every_component_its_source_and_the_regions():
    result = invoke()
    assert result.exit_code == 0, result.output
    out = result.stdout
    for name, pct, url in [("route53", "100", "https://aws.amazon.com/route53/sla/"),
                           ("apigateway", "99.95", "https://aws.amazon.com/api-gateway/sla/"),
                           ("lambda", "99.95", "https://aws.amazon.com/lambda/sla/"),
                           ("dynamodb", "99.999", "https://aws.amazon.com/dynamodb/sla/")]:
        assert re.search(rf"{name}\s.*\s{re.escape(pct)}\s.*{re.escape(url)}", out), name
    assert "3 regions (euw1, use1, apse1)" in out
    assert "commitments, not measurements" in out
    assert "99.899026%" in out  # one region: 99.89902599975 %
    assert "8 h 51 min" in out  # 0.10097400025 % of 365.25 days = 531.08 min
    # Three regions in parallel, Route 53 at 100 %: 100 - 100 x 0.0010097400025^3 = 99.99999989704944...
    assert "99.999999897049%" in out


def test_the_region_count_comes_from_samconfig(tmp_path: Path):
    four = tmp_path / "samconfig.toml"
    four.write_text((ROOT / "samconfig.toml").read_text() + FOURTH_REGION)
    result = invoke(config=str(four))
    assert result.exit_code == 0, result.output
    assert "4 regions (euw1, use1, apse1, euc1)" in result.stdout
    data = as_json(config=str(four))
    assert data["region_count"] == 4 and data["regions"] == ["euw1", "use1", "apse1", "euc1"]
    assert data["whole"]["unavailability"] == pytest.approx(float((1 - REGION) ** 4), rel=1e-9)
    assert data["whole"]["availability"] > as_json()["whole"]["availability"]


def test_json_shape_and_numbers():
    data = as_json()
    assert set(data) == {"mode", "basis", "regions", "region_count", "components", "region",
                         "regions_parallel", "whole"}
    assert data["mode"] == "topology" and "not measurements" in data["basis"]
    assert set(data["components"]) == {"route53", "apigateway", "lambda", "dynamodb"}
    assert data["components"]["dynamodb"] == {
        "service": "Amazon DynamoDB (global table replica)", "scope": "region", "percent": 99.999,
        "source": "https://aws.amazon.com/dynamodb/sla/", "overridden": False}
    for level in ("region", "regions_parallel", "whole"):
        assert set(data[level]) == {"availability", "percent", "unavailability", "nines",
                                    "downtime_seconds_per_year", "downtime_per_year"}
    assert data["region"]["availability"] == pytest.approx(float(REGION), abs=1e-15)
    assert data["region"]["percent"] == "99.899026"
    assert data["region"]["downtime_seconds_per_year"] == pytest.approx(float((1 - REGION) * 31557600), abs=1e-3)
    assert data["whole"]["unavailability"] == pytest.approx(float((1 - REGION) ** 3), rel=1e-9)
    assert data["whole"]["nines"] == pytest.approx(-3 * math.log10(float(1 - REGION)), abs=1e-3)


def test_a_component_override_changes_the_result():
    default = as_json()
    data = as_json("--component", "lambda=99.99")
    assert data["components"]["lambda"]["percent"] == 99.99 and data["components"]["lambda"]["overridden"]
    assert not data["components"]["apigateway"]["overridden"]
    region = F("0.9995") * F("0.9999") * F("0.99999")
    assert data["region"]["availability"] == pytest.approx(float(region), abs=1e-15)
    assert data["region"]["availability"] > default["region"]["availability"]
    table = invoke("--component", "lambda=99.99").stdout
    assert re.search(r"lambda\s.*99\.99\*.*--component override", table)


def test_route53_override_is_in_series_with_every_region():
    data = as_json("--component", "route53=99.99", "--component", "dynamodb=99.99")
    region = F("0.9995") * F("0.9995") * F("0.9999")
    assert data["whole"]["availability"] == pytest.approx(float(F("0.9999") * (1 - (1 - region) ** 3)), abs=1e-15)
    assert data["whole"]["downtime_per_year"] == "53 min"  # Route 53's 0.01 % dominates


def test_series_ad_hoc():
    result = invoke("--series", "99", "99.99")
    assert result.exit_code == 0, result.output
    assert "98.9901%" in result.stdout
    assert re.search(r"nines\s+1\.9\b", result.stdout)  # 1.996 nines, rounded down
    assert "3 d 16 h 32 min" in result.stdout  # 1.0099 % of 365.25 days = 5311.67 min


def test_parallel_ad_hoc_with_repeated_options_in_any_order():
    result = invoke("99", "--parallel", "99%")
    assert result.exit_code == 0, result.output
    assert "99.99%" in result.stdout and re.search(r"nines\s+4\.0\b", result.stdout)
    assert "53 min" in result.stdout


def test_ad_hoc_json():
    data = as_json("--parallel", "99", "99")
    assert data == {"mode": "parallel", "inputs": [99.0, 99.0], "availability": 0.9999, "percent": "99.99",
                    "unavailability": pytest.approx(0.0001), "nines": 4.0,
                    "downtime_seconds_per_year": 3155.76, "downtime_per_year": "53 min"}
    data = as_json("--series", "100", "100")
    assert data["percent"] == "100" and data["nines"] is None and data["downtime_per_year"] == "0 min"


def test_ad_hoc_needs_no_samconfig(tmp_path: Path):
    result = invoke("--series", "99.9", config=str(tmp_path / "none.toml"))
    assert result.exit_code == 0, result.output
    assert "99.9%" in result.stdout and "8 h 46 min" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--component", "cloudwatch=99.9"], "error: --component 'cloudwatch=99.9': unknown component 'cloudwatch' "
                                         "(known: apigateway, dynamodb, lambda, route53)"),
    (["--component", "lambda=0"], "error: --component 'lambda=0': '0' is outside (0, 100]"),
    (["--component", "lambda=100.01"], "error: --component 'lambda=100.01': '100.01' is outside (0, 100]"),
    (["--component", "lambda"], "error: --component 'lambda': expected NAME=PCT"),
    (["--series", "99", "abc"], "error: --series: 'abc' is not a percentage"),
    (["--parallel", "99", "101"], "error: --parallel: '101' is outside (0, 100]"),
    (["--series"], "error: --series needs at least one PCT, e.g. --series 99 99.99"),
    (["--series", "--parallel", "99"], "error: choose one of --series and --parallel"),
    (["99", "99.9"], "error: percentages 99 99.9 need --series or --parallel"),
    (["--series", "99", "--component", "lambda=99"],
     "error: --component applies to the topology, not to --series/--parallel"),
])
def test_bad_input_is_one_line_exit_2(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [message]
    assert result.stdout == "" and "Traceback" not in result.output


def test_a_samconfig_without_regions_is_one_line_exit_2(tmp_path: Path):
    config = tmp_path / "samconfig.toml"
    config.write_text('version = 0.1\n[table.deploy.parameters]\nregion = "eu-west-1"\nstack_name = "t"\n'
                      'template_file = "global/table.yaml"\n')
    result = invoke(config=str(config))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: {config}: no region environment, nothing to compose"]


def test_missing_samconfig_is_one_line_exit_2(tmp_path: Path):
    result = invoke(config=str(tmp_path / "nope.toml"))
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


def test_help_documents_the_ad_hoc_syntax():
    result = runner.invoke(app, ["availability", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "--series 99 99.99" in result.stdout and "--component" in result.stdout


def test_availability_imports_no_aws_sdk():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from globalctl.main import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0 and 'availability' in r.output, r.output\n"
        f"r = CliRunner().invoke(app, ['--config', {SHIPPED!r}, 'availability'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(','.join(m for m in ('boto3', 'botocore') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert proc.stdout.strip() == ""
