from __future__ import annotations

from pathlib import Path

import pytest

from globalctl import topology as topo
from tests.support import FOURTH_REGION, ROOT  # noqa: F401 - FOURTH_REGION: for the fixtures' users

@pytest.fixture
def shipped() -> topo.Topology:
    return topo.load(ROOT / "samconfig.toml")


@pytest.fixture
def four_regions(tmp_path: Path) -> topo.Topology:
    """The shipped topology plus one environment - and nothing else changed."""
    config = tmp_path / "samconfig.toml"
    config.write_text((ROOT / "samconfig.toml").read_text() + FOURTH_REGION)
    for name in ("template.yaml", "regional", "global", "src"):
        (tmp_path / name).symlink_to(ROOT / name)
    return topo.load(config)


def fake_outputs(topology: topo.Topology, with_domain: bool = False) -> dict[str, dict[str, str]]:
    """What each regional stack's outputs look like once deployed."""
    out = {}
    for i, env in enumerate(topology.regions):
        host = f"api{i}.execute-api.{env.region}.amazonaws.com"
        out[env.name] = {
            "ApiHost": host,
            "RoutingTarget": f"d-{i}.execute-api.{env.region}.amazonaws.com" if with_domain else host,
            "RoutingTargetHostedZoneId": f"ZONE{i}" if with_domain else "none",
        }
    return out
