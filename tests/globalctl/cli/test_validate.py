"""`globalctl validate` on the shipped configs (zero findings) and on broken ones (precise findings)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from globalctl import lint
from globalctl import topology as topo
from globalctl.checks import check_topology
from globalctl.main import app
from tests.support import FOURTH_REGION, ROOT

runner = CliRunner()


def _config(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "samconfig.toml"
    config.write_text(text)
    for name in ("template.yaml", "regional", "global", "src"):
        if not (tmp_path / name).exists():
            (tmp_path / name).symlink_to(ROOT / name)
    return config


@pytest.mark.parametrize("config", ["samconfig.toml", "samconfig.strong.toml"])
def test_shipped_configs_have_no_finding(config):
    result = runner.invoke(app, ["--config", str(ROOT / config), "validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


@pytest.mark.parametrize("config", ["samconfig.toml", "samconfig.strong.toml"])
def test_every_template_is_linted_for_every_region_it_deploys_to(config):
    topology = topo.load(ROOT / config)
    plan = {str(path.relative_to(ROOT)): regions for path, regions in lint.lint_plan(topology).items()}
    regions = sorted(env.region for env in topology.regions)
    assert plan == {
        "template.yaml": regions,
        "regional/api.yaml": regions,
        "regional/stream.yaml": regions,
        "global/table.yaml": [topology.home_region],
        "global/routing.yaml": ["us-east-1"],
        "global/routing-records.yaml": ["us-east-1"],
    }


def test_a_broken_template_is_a_precise_finding(tmp_path):
    config = _config(tmp_path, (ROOT / "samconfig.toml").read_text())
    broken = (ROOT / "global" / "table.yaml").read_text().replace("BillingMode: PAY_PER_REQUEST", "BillingMode: FREE")
    (tmp_path / "global").unlink()
    (tmp_path / "global").mkdir()
    (tmp_path / "global" / "table.yaml").write_text(broken)
    for unchanged in ("routing.yaml", "routing-records.yaml"):
        (tmp_path / "global" / unchanged).symlink_to(ROOT / "global" / unchanged)
    result = runner.invoke(app, ["--config", str(config), "validate"])
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("global/table.yaml:") and "cfn-lint E3030" in lines[0] and "FREE" in lines[0]


def test_a_fourth_region_is_one_environment_and_valid(tmp_path):
    config = _config(tmp_path, (ROOT / "samconfig.toml").read_text() + FOURTH_REGION)
    assert check_topology(topo.load(config)) == []
    result = runner.invoke(app, ["--config", str(config), "params", "table"])
    assert result.exit_code == 0
    assert "ReplicaRegions=eu-west-1,us-east-1,ap-southeast-1,eu-central-1" in result.stdout


def _strong_with(tmp_path, extra: str = "", replace: tuple[str, str] | None = None) -> list[str]:
    text = (ROOT / "samconfig.strong.toml").read_text() + extra
    if replace:
        text = text.replace(*replace)
    config = _config(tmp_path, text)
    result = runner.invoke(app, ["--config", str(config), "validate", "--skip-lint"])
    assert result.exit_code == 1
    return result.stdout.strip().splitlines()


def test_strong_mode_with_four_replicas_names_the_rule(tmp_path):
    extra = FOURTH_REGION.replace("euc1", "usw1").replace("eu-central-1", "us-west-1").replace(
        "global-items", "global-items-strong").replace('"global-backend"', '"global-backend-strong"')
    lines = _strong_with(tmp_path, extra)
    assert any("mrsc: STRONG needs exactly 3 replicas, or 2 replicas and a witness" in line and "has 4" in line
               for line in lines), lines
    assert any("one region set" in line and "us-west-1" in line for line in lines), lines


def test_strong_mode_across_region_sets_names_the_rule(tmp_path):
    lines = _strong_with(tmp_path, replace=('region = "us-west-2"', 'region = "eu-west-1"'))
    assert lines == [
        "samconfig.toml: mrsc: STRONG needs every replica and the witness in one region set (US: us-east-1, "
        "us-east-2, us-west-2; EU: eu-central-1, eu-west-1, eu-west-2, eu-west-3; AP: ap-northeast-1, "
        "ap-northeast-2, ap-northeast-3); got eu-west-1, us-east-1, us-east-2"]


def test_witness_must_not_be_a_replica(tmp_path):
    lines = _strong_with(tmp_path, replace=("ConsistencyMode=STRONG", "ConsistencyMode=STRONG WitnessRegion=us-east-1"))
    assert "witness region us-east-1 is also a replica" in "\n".join(lines)
    assert "STRONG with a witness needs exactly 2 replicas, the topology has 3" in "\n".join(lines)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('region = "eu-west-1"\ntemplate_file', 'region = "eu-north-1"\ntemplate_file'),
         "home region eu-north-1 (environment 'table') is not one of the regions"),
        (('stack_name = "global-backend-routing"\nregion = "us-east-1"',
          'stack_name = "global-backend-routing"\nregion = "eu-west-1"'),
         "routing-region: environment 'routing' deploys to eu-west-1"),
        (('region = "ap-southeast-1"', 'region = "us-east-1"'),
         "environments 'use1' and 'apse1' both deploy to us-east-1"),
        (('TableName=global-items Release=unreleased"\ntags = "app=global-backend"\n\n[apse1',
          'TableName=other Release=unreleased"\ntags = "app=global-backend"\n\n[apse1'),
         "regions and the table stack disagree on TableName: global-items, other"),
        (('capabilities = "CAPABILITY_IAM CAPABILITY_AUTO_EXPAND"', 'capabilities = "CAPABILITY_IAM"'),
         "nested applications need CAPABILITY_AUTO_EXPAND"),
        (("RoutingMode=traffic-policy", "RoutingMode=latency-records"),
         "environment 'euw1' has no DomainName: latency alias records"),
        (('template_file = "global/routing.yaml"\n', ''),
         "expected exactly one routing environment"),
        # Routing policies: each impossible setting one line, then a simulated stranded location.
        (("RoutingMode=traffic-policy", "RoutingMode=traffic-policy RoutingPolicy=failover FailoverChain=euw1"),
         "routing-policy: FailoverChain: a chain of 1 fails over to nothing"),
        (("RoutingMode=traffic-policy", "RoutingMode=traffic-policy RoutingPolicy=geolocation "
          "GeoLocations=euw1:eu,use1:na"), "routing-policy: GeoDefault: geolocation needs a default"),
        (("RoutingMode=traffic-policy", "RoutingMode=traffic-policy RoutingPolicy=geolocation "
          "GeoLocations=euw1:eu+GB,use1:na+GB GeoDefault=use1"), "routing-policy: GeoLocations: GB is claimed by euw1 and use1"),
        (("RoutingMode=traffic-policy", "RoutingMode=traffic-policy RoutingPolicy=weighted "
          "RoutingWeights=euw1:0,use1:0,apse1:0"), "routing-policy: RoutingWeights: every weight is 0"),
        (("RoutingMode=traffic-policy", "RoutingMode=traffic-policy RoutingPolicy=failover FailoverChain=euw1,use1"),
         "routing-policy: with only ap-southeast-1 healthy, clients in af-south-1"),
        (("RoutingMode=traffic-policy", "RoutingMode=traffic-policy RoutingPolicy=geolocation GeoDefault=use1 "
          "GeoLocations=euw1:eu+" + "+".join(f"{a}{b}" for a in "BCDFGHJKLMPRSTVWXZ" for b in "ABCDEGHIKLMNORSTZ")),
         "routing-policy: the geolocation policy renders"),
    ],
)
def test_topology_mistakes_are_named(tmp_path, change, expected):
    text = (ROOT / "samconfig.toml").read_text()
    assert change[0] in text
    config = _config(tmp_path, text.replace(change[0], change[1], 1))
    result = runner.invoke(app, ["--config", str(config), "validate", "--skip-lint"])
    assert result.exit_code == 1
    assert expected in result.stdout, result.stdout
