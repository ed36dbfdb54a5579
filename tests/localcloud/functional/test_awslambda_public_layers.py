"""localcloud.awslambda.public_layers through the endpoint: Powertools' public layer is served as AWS
serves it, so `sam local`'s layer downloader works unchanged against the local cloud.

AWS behaviour: Lambda API Reference, GetLayerVersion and GetLayerVersionByArn (Content.Location is
a URL the layer's zip is downloaded from, CodeSha256 the base64 SHA-256 of that zip, CodeSize its
length; a layer version that does not exist is a ResourceNotFoundException, HTTP 404). Powertools
publishes its v3 layer from account 017000801446 (docs/index.md), without boto3.
The build runs pip against PyPI once for the module (one arm64 python3.13 layer, in a temporary
cache directory), ~10 s.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import sys
import zipfile
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from localcloud.aws_endpoint import AwsEndpoint
from localcloud.awslambda import public_layers
from localcloud.awslambda.wiring import register_public_layers
from localcloud.ssm.patch import POWERTOOLS_ACCOUNT, POWERTOOLS_LAYER_VERSION, powertools_layer_arn

from .conftest import ACCOUNT, NO_RETRY, unique
from .test_awslambda_patch import zipped

REGION = "eu-west-1"
ARN = powertools_layer_arn(REGION, "arm64", "python3.13")
LAYER_ARN = ARN.rsplit(":", 1)[0]
ELF_MACHINE = {0xB7: "aarch64", 0x3E: "x86-64"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, aws_endpoint: AwsEndpoint) -> Iterator[Path]:
    """A cache directory of the module's own (the build runs once, here, not in ~/.cache), and the
    layer route on the endpoint, as the supervisor wires it."""
    register_public_layers(aws_endpoint)
    home = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(home))
        yield home / "global-backend-localcloud" / "layers"


@pytest.fixture(scope="module")
def layer(cache: Path, aws_endpoint: AwsEndpoint) -> dict[str, Any]:
    """GetLayerVersion's answer for the arm64 python3.13 layer, as sam local asks it (the first
    request builds the layer)."""
    client = boto3.client("lambda", region_name=REGION, endpoint_url=aws_endpoint.url, config=NO_RETRY)
    return client.get_layer_version(LayerName=LAYER_ARN, VersionNumber=POWERTOOLS_LAYER_VERSION)


@pytest.fixture(scope="module")
def content(layer: dict[str, Any]) -> bytes:
    response = requests.get(layer["Content"]["Location"], timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    return response.content


def test_get_layer_version_answers_the_powertools_layer_as_aws_does(layer, aws_endpoint, cache):
    powertools = importlib.metadata.version("aws_lambda_powertools")
    assert (layer["LayerArn"], layer["LayerVersionArn"], layer["Version"]) == (LAYER_ARN, ARN, 27)
    assert (layer["CompatibleRuntimes"], layer["CompatibleArchitectures"]) == (["python3.13"], ["arm64"])
    assert layer["LicenseInfo"] == "MIT-0"
    assert powertools in layer["Description"]
    assert layer["CreatedDate"].endswith("+0000")
    location = layer["Content"]["Location"]
    assert location.startswith(f"{aws_endpoint.url}/_localcloud/layers/")
    file_name = location.rsplit("/", 1)[1]
    assert f"-{powertools}" in file_name
    assert sorted(path.name for path in cache.iterdir()) == [file_name]  # no partial file is left


def test_get_layer_version_by_arn_answers_the_same_layer_in_any_region(layer, aws):
    arn = powertools_layer_arn("us-east-1", "arm64", "python3.13")
    found = aws("lambda", "us-east-1").get_layer_version_by_arn(Arn=arn)
    assert (found["LayerVersionArn"], found["LayerArn"], found["Version"]) == (arn, arn.rsplit(":", 1)[0], 27)
    assert found["Content"] == layer["Content"]
    assert found["CompatibleArchitectures"] == ["arm64"]


def test_the_download_is_the_zip_the_answer_describes_with_arm64_powertools(layer, content):
    assert len(content) == layer["Content"]["CodeSize"]
    assert base64.b64encode(hashlib.sha256(content).digest()).decode() == layer["Content"]["CodeSha256"]
    archive = zipfile.ZipFile(io.BytesIO(content))
    names = archive.namelist()
    assert all(name.startswith("python/") for name in names)
    assert "python/aws_lambda_powertools/__init__.py" in names
    powertools = importlib.metadata.version("aws_lambda_powertools")
    assert f"python/aws_lambda_powertools-{powertools}.dist-info/METADATA" in names
    # The pydantic in the layer is the one installed here (the constraints pin it).
    assert f"python/pydantic_core-{importlib.metadata.version('pydantic_core')}.dist-info/METADATA" in names
    binaries = [name for name in names if name.startswith("python/pydantic_core/") and name.endswith(".so")]
    assert binaries and all("cpython-313-aarch64" in name for name in binaries)
    for name in binaries:
        header = archive.read(name)[:20]
        assert header[:4] == b"\x7fELF"
        assert ELF_MACHINE.get(int.from_bytes(header[18:20], "little")) == "aarch64"
    # The Lambda runtime's SDK is not shadowed: the layer carries no boto3, botocore or s3transfer.
    for sdk in ("boto3", "botocore", "s3transfer"):
        assert not [name for name in names if name.startswith((f"python/{sdk}/", f"python/{sdk}-"))]


def test_sam_clis_layer_downloader_works_unchanged(layer, content, aws, tmp_path):
    downloader = pytest.importorskip("samcli.local.layers.layer_downloader")
    provider = pytest.importorskip("samcli.lib.providers.provider")

    sam = downloader.LayerDownloader(str(tmp_path / "layers"), str(tmp_path), [], lambda_client=aws("lambda", REGION))
    downloaded = sam.download(provider.LayerVersion(ARN, None))
    assert (Path(downloaded.codeuri) / "python" / "aws_lambda_powertools" / "__init__.py").is_file()
    assert not (Path(downloaded.codeuri) / "python" / "boto3").exists()


@pytest.mark.parametrize("arn", [
    f"{LAYER_ARN}:{POWERTOOLS_LAYER_VERSION - 1}",
    ARN.replace(POWERTOOLS_ACCOUNT, "111122223333"),
    f"arn:aws:lambda:{REGION}:{POWERTOOLS_ACCOUNT}:layer:AWSLambdaPowertoolsPythonV2-Arm64:79",  # not handed out
    f"arn:aws:lambda:{REGION}:{POWERTOOLS_ACCOUNT}:layer:AWSLambdaPowertoolsPythonV3-python313-riscv:27",
], ids=["version", "account", "name", "arch"])
def test_other_layers_of_other_accounts_are_not_found(aws, cache, arn):
    client = aws("lambda", REGION)
    layer_arn, version = arn.rsplit(":", 1)
    for call in (lambda: client.get_layer_version_by_arn(Arn=arn),
                 lambda: client.get_layer_version(LayerName=layer_arn, VersionNumber=int(version))):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_this_accounts_layers_keep_motos_answer(aws):
    client = aws("lambda", REGION)
    published = client.publish_layer_version(LayerName=unique("own"), Content={"ZipFile": zipped("X = 1")},
                                             CompatibleRuntimes=["python3.13"])
    assert published["LayerArn"].split(":")[4] == ACCOUNT
    for name in (published["LayerArn"], published["LayerArn"].rsplit(":", 1)[1]):
        found = client.get_layer_version(LayerName=name, VersionNumber=1)
        assert (found["LayerVersionArn"], found["Content"]["CodeSha256"]) == (
            published["LayerVersionArn"], published["Content"]["CodeSha256"])
    with pytest.raises(ClientError) as missing:
        client.get_layer_version(LayerName=published["LayerArn"], VersionNumber=2)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize("name", ["nope.zip", "..%2Flayers%2Fnope.zip", "%2E%2E", "a%2Fb.zip", ".hidden.zip",
                                  "", "sub/dir.zip"])
def test_the_route_serves_layer_files_only(layer, aws_endpoint, name):
    response = requests.get(f"{aws_endpoint.url}/_localcloud/layers/{name}", timeout=10)
    assert response.status_code == 404
    assert "no such layer file" in response.json()["message"]


def test_the_route_takes_get_only(layer, aws_endpoint):
    response = requests.post(layer["Content"]["Location"], timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


def test_a_failed_build_is_a_service_exception_not_html(aws, cache, monkeypatch):
    failing = [sys.executable, "-c", "import sys; sys.stderr.write("
               "'WARNING: Location file:///x is ignored\\nERROR: No matching distribution found for it\\n'); "
               "sys.exit(1)"]
    monkeypatch.setattr(public_layers, "pip_command", lambda *_args: failing)
    arn = powertools_layer_arn(REGION, "x86_64", "python3.12")
    with pytest.raises(ClientError) as failed:
        aws("lambda", REGION).get_layer_version_by_arn(Arn=arn)
    error = failed.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ServiceException", 500)
    assert error["Error"]["Message"] == ("pip could not build the layer AWSLambdaPowertoolsPythonV3-python312-x86_64: "
                                         "ERROR: No matching distribution found for it")
    assert not [path for path in cache.iterdir() if "python312" in path.name]


def test_a_version_that_is_not_a_number_is_a_json_error_not_html(aws_endpoint):
    # botocore sends only integers; moto's int() on anything else was an HTML 500.
    authorization = ("AWS4-HMAC-SHA256 Credential=testing/20250101/eu-west-1/lambda/aws4_request, "
                     "SignedHeaders=host, Signature=0")
    for name in ("own-layer", LAYER_ARN):
        response = requests.get(f"{aws_endpoint.url}/2018-10-31/layers/{name}/versions/latest",
                                headers={"Authorization": authorization}, timeout=10)
        assert (response.status_code, response.json()["__type"]) == (400, "InvalidParameterValueException")
