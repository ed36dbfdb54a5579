"""samconfig's sam local environments agree with what the local cloud and the image builder serve,
and the image builder refuses clearly; the runs themselves are tests/e2e/test_sam_local.py."""

from __future__ import annotations

import re
import tomllib

import pytest

from globalctl import localcloud, topology
from harness import lambda_image
from localcloud.ssm.patch import powertools_layer_arn
from tests.support import ROOT
from tests.templates.sam_transform import expand

ENVIRONMENTS = {"local": "arm64", "local-x86_64": "x86_64"}


def _parameters(text: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in text.split())


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
@pytest.mark.parametrize("command", ["local_invoke", "local_start_api"])
def test_local_environments_name_what_the_local_cloud_serves(env, command):
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())[env][command]["parameters"]
    architecture = ENVIRONMENTS[env]
    canary = topology.load(ROOT / "samconfig.toml").regions[0]
    parameters = _parameters(config["parameter_overrides"])

    assert config["region"] == canary.region  # `globalctl local env-vars` writes the canary's by default
    assert parameters["PowertoolsLayerArn"] == powertools_layer_arn(canary.region, architecture, "python3.13")
    assert parameters.get("Architecture", "arm64") == architecture
    assert config["invoke_image"] == [lambda_image.image_tag(architecture)]
    assert config["skip_pull_image"] is True  # the image is built here, never pulled
    assert config["env_vars"] == str(localcloud.SAM_ENV_VARS)
    assert config["add_host"] == ["host.docker.internal:host-gateway"]
    template = expand(ROOT / "template.yaml")["Parameters"]
    assert re.fullmatch(template["LocalEndpointUrl"]["AllowedPattern"], parameters["LocalEndpointUrl"])
    assert architecture in template["Architecture"]["AllowedValues"]


def test_local_environments_are_not_region_environments():
    envs = {env.name for env in topology.load(ROOT / "samconfig.toml").regions}
    assert not envs & set(ENVIRONMENTS)


def test_the_image_recipe_changes_with_what_goes_in(monkeypatch):
    before = lambda_image.recipe("arm64")
    assert before != lambda_image.recipe("x86_64")
    monkeypatch.setattr(lambda_image, "AWSLAMBDARIC", "0.0.1")
    assert lambda_image.recipe("arm64") != before


def test_the_image_builder_refuses_in_one_line(monkeypatch, capsys):
    assert lambda_image.main(["sparc"]) == 1
    assert capsys.readouterr().err.strip() == "error: unknown architecture 'sparc'; choose one of arm64, x86_64"
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert lambda_image.main(["x86_64"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: Docker does not answer") and "\n" not in error
