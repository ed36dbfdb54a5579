"""localcloud.awslambda.public_layers, the parts that need no pip: which ARNs are Powertools'
public layer, the constraints pinning its dependencies to what is installed here, the zip's
layout, the one-build-at-a-time cache and the download route's refusals."""

from __future__ import annotations

import importlib.metadata
import io
import threading
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from packaging.utils import canonicalize_name
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from localcloud.awslambda import public_layers
from localcloud.awslambda.public_layers import PublicLayer, constraints, find, first_error
from localcloud.ssm.patch import POWERTOOLS_ACCOUNT, powertools_layer_arn

ARM = find(powertools_layer_arn("eu-west-1", "arm64", "python3.13"))


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1", "ap-southeast-2", "us-gov-west-1"])
@pytest.mark.parametrize("arch", ["arm64", "x86_64"])
@pytest.mark.parametrize("runtime", public_layers.RUNTIMES)
def test_every_arn_the_ssm_parameters_hand_out_is_found(region, arch, runtime):
    arn = powertools_layer_arn(region, arch, runtime)
    layer = find(arn)
    assert layer == PublicLayer(arn, arch, runtime)
    assert layer.layer_arn == arn.rsplit(":", 1)[0]
    assert layer.name == f"AWSLambdaPowertoolsPythonV3-{runtime.replace('.', '')}-{arch}"
    assert layer.python_version == runtime.removeprefix("python")


@pytest.mark.parametrize("arn", [
    powertools_layer_arn("eu-west-1", "arm64", "python3.13")[:-2] + "26",
    powertools_layer_arn("eu-west-1", "arm64", "python3.13").replace(POWERTOOLS_ACCOUNT, "123456789012"),
    powertools_layer_arn("eu-west-1", "arm64", "python3.13").replace("arm64", "aarch64"),
    powertools_layer_arn("eu-west-1", "arm64", "python2.7"),
    powertools_layer_arn("eu-west-1", "arm64", "python3.13").rsplit(":", 1)[0],  # no version
    f"arn:aws:lambda:eu-west-1:{POWERTOOLS_ACCOUNT}:function:AWSLambdaPowertoolsPythonV3-python313-arm64:27",
    "", "not:an:arn",
])
def test_anything_else_is_not_a_public_layer(arn):
    assert find(arn) is None


def test_the_layer_is_built_for_its_platform_and_python():
    command = public_layers.pip_command(ARM, Path("/site"), Path("/c.txt"))
    assert command[command.index("--platform") + 1] == "manylinux2014_aarch64"
    assert command[command.index("--python-version") + 1] == "3.13"
    assert command[command.index("--target") + 1] == "/site"
    assert command[command.index("--constraint") + 1] == "/c.txt"
    assert {"--only-binary=:all:", "--no-compile"} <= set(command)
    assert command[-1] == f"aws-lambda-powertools[all]=={importlib.metadata.version('aws_lambda_powertools')}"
    x86 = find(powertools_layer_arn("us-east-1", "x86_64", "python3.12"))
    assert "manylinux2014_x86_64" in public_layers.pip_command(x86, Path("/s"), Path("/c"))


def _installed(**distributions: tuple[str, list[str]]):
    """A stand-in for importlib.metadata.distribution over these (version, Requires-Dist) pairs."""

    def distribution(name: str) -> SimpleNamespace:
        key = name.replace("-", "_")
        if key not in distributions:
            raise importlib.metadata.PackageNotFoundError(name)
        version, requires = distributions[key]
        return SimpleNamespace(version=version, requires=requires)

    return distribution


def test_constraints_pin_the_installed_closure_of_powertools_all_on_the_layers_runtime():
    installed = _installed(
        aws_lambda_powertools=("3.0.0", ["jmespath<2,>=1", 'pydantic<3; extra == "all"', 'redis; extra == "redis"',
                                         'boto3; extra == "aws-sdk"']),
        jmespath=("1.1.0", []),
        pydantic=("2.13.5", ["pydantic-core==2.46.5", 'typing-extensions; python_version < "3.14"',
                             'tomli; python_version < "3.11"', 'email-validator; extra == "email"']),
        pydantic_core=("2.46.5", ["typing-extensions>=4", 'uvloop; platform_machine == "x86_64"']),
        typing_extensions=("4.16.0", []),
        redis=("5.0.0", []), boto3=("1.0", []), tomli=("2.0", []), email_validator=("2.0", []), uvloop=("0.1", []),
    )
    assert constraints(ARM, installed) == [
        "aws-lambda-powertools==3.0.0", "jmespath==1.1.0", "pydantic==2.13.5", "pydantic-core==2.46.5",
        "typing-extensions==4.16.0"]
    x86 = find(powertools_layer_arn("eu-west-1", "x86_64", "python3.13"))
    assert "uvloop==0.1" in constraints(x86, installed)  # markers are the layer's, not this machine's


def test_a_dependency_not_installed_here_is_left_to_pip():
    installed = _installed(aws_lambda_powertools=("3.0.0", ['pyjwt<3; extra == "all"', "jmespath"]))
    assert constraints(ARM, installed) == ["aws-lambda-powertools==3.0.0"]


def test_constraints_from_this_interpreter_pin_what_is_installed():
    pins = dict(line.split("==") for line in constraints(ARM))
    assert pins["aws-lambda-powertools"] == importlib.metadata.version("aws_lambda_powertools")
    assert pins["pydantic-core"] == importlib.metadata.version("pydantic_core")
    assert all(importlib.metadata.version(name) == version for name, version in pins.items())
    assert list(pins) == sorted(pins) and all(name == canonicalize_name(name) for name in pins)


def test_pips_first_error_line_is_reported_not_its_warnings():
    stderr = ("WARNING: Location 'file:///opt/pypi/simple/x/' is ignored\n"
              "ERROR: Could not find a version that satisfies the requirement x\n"
              "ERROR: No matching distribution found for x\n")
    assert first_error(stderr) == "ERROR: Could not find a version that satisfies the requirement x"
    assert first_error("WARNING: a\nTraceback (most recent call last):\n") == "Traceback (most recent call last):"
    assert first_error("") == "pip failed without a message"


def test_the_zip_holds_the_site_under_python_without_the_sdk_and_is_reproducible(tmp_path):
    site = tmp_path / "python"
    for relative in ("aws_lambda_powertools/__init__.py", "boto3/__init__.py", "boto3-1.0.dist-info/RECORD",
                     "botocore/data/x.json", "s3transfer/__init__.py", "s3transfer-0.1.dist-info/METADATA",
                     "six.py", "boto3_stubs/__init__.py"):
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(relative)
    public_layers.remove_runtime_provided(site)
    public_layers.write_zip(site, tmp_path / "one.zip")
    time.sleep(0.01)
    (site / "six.py").touch()
    public_layers.write_zip(site, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    archive = zipfile.ZipFile(io.BytesIO((tmp_path / "one.zip").read_bytes()))
    assert archive.namelist() == ["python/aws_lambda_powertools/__init__.py", "python/boto3_stubs/__init__.py",
                                  "python/six.py"]


def test_the_cache_is_the_users_and_one_build_runs_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert public_layers.cache_dir() == tmp_path / "global-backend-localcloud" / "layers"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert public_layers.cache_dir() == tmp_path / "home" / ".cache" / "global-backend-localcloud" / "layers"

    builds: list[Path] = []

    def build(layer: PublicLayer, target: Path) -> None:
        builds.append(target)
        time.sleep(0.2)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"zip")

    monkeypatch.setattr(public_layers, "build", build)
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(public_layers.layer_zip(ARM))) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1 and set(results) == set(builds)
    assert builds[0].name == ARM.file_name and builds[0].parent == public_layers.cache_dir()


@pytest.mark.parametrize("name", ["", "nope.zip", "..", "../x.zip", "a/b.zip", ".hidden.zip", "x.zip.partial",
                                  "layer.txt"])
def test_the_route_refuses_anything_but_a_cached_zip(tmp_path, monkeypatch, name):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = public_layers.cache_dir()
    cache.mkdir(parents=True)
    for present in ("layer.txt", ".hidden.zip", "x.zip.partial"):
        (cache / present).write_bytes(b"x")
    (tmp_path / "x.zip").write_bytes(b"outside")
    response = public_layers.serve(Request(EnvironBuilder(path=f"/_localcloud/layers/{name}").get_environ()))
    assert response.status_code == 404


def test_the_route_streams_a_cached_zip(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (public_layers.cache_dir()).mkdir(parents=True)
    (public_layers.cache_dir() / "a-27.zip").write_bytes(b"PK-bytes")
    response = public_layers.serve(Request(EnvironBuilder(path="/_localcloud/layers/a-27.zip").get_environ()))
    response.direct_passthrough = False
    assert (response.status_code, response.mimetype, response.get_data()) == (200, "application/zip", b"PK-bytes")
