"""Powertools' public Lambda layer, served by the local cloud as AWS serves it.

template.yaml's functions take Powertools for AWS Lambda (Python) v3 from its public layer
(account 017000801446, see ssm/patch.py). The local runtime needs no layer (the supervisor's own
Powertools stands in), but `sam local` runs functions in Lambda's container images and downloads
every layer first: GetLayerVersion, then a plain HTTP GET of Content.Location. So the Lambda API
answers for that layer (awslambda/patch.py), and its content is made here:

- the Powertools installed here, with its extra [all], is installed by pip for the layer's
  platform (manylinux2014 aarch64 or x86_64) and Python version, its dependencies pinned to the
  versions installed here, so `sam local` runs what the local runtime and the tests run;
- boto3, botocore and s3transfer are left out, as in the real layer: the Lambda runtime provides the
  SDK, and a copy in the layer would shadow it;
- it is built on the first request for it, once at a time per layer, and kept in the user's cache
  directory ($XDG_CACHE_HOME or ~/.cache, global-backend-localcloud/layers/), written to a temporary
  file then renamed, so another local cloud never reads half a zip;
- the zip is served under the endpoint's own /_localcloud/layers/<file> (`serve`, registered by
  awslambda/wiring.py), on the host name the request came in on.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from ..own_routes import PREFIX, json_response
from ..ssm.patch import powertools_layer_arn

ROUTE = "layers"  # /_localcloud/layers/<file>
DISTRIBUTION = "aws-lambda-powertools"
EXTRAS = ("all",)
# The runtimes Powertools v3 publishes layers for, and Lambda's architectures with pip's platform tags.
RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
# The SDK the Lambda runtime provides: a copy in the layer would shadow it (the real layer has none).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
_SERVED_FILE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*\.zip")


class LayerBuildError(RuntimeError):
    """pip could not install the layer's content (no network, no wheel for the platform...)."""


@dataclass(frozen=True)
class PublicLayer:
    """One version of Powertools' public layer in one region."""

    layer_version_arn: str
    arch: str  # arm64 | x86_64
    runtime: str  # python3.13 ...

    @property
    def layer_arn(self) -> str:
        return self.layer_version_arn.rsplit(":", 1)[0]

    @property
    def name(self) -> str:
        return self.layer_arn.rsplit(":", 1)[1]

    @property
    def version(self) -> int:
        return int(self.layer_version_arn.rsplit(":", 1)[1])

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")

    @property
    def file_name(self) -> str:
        # The Powertools version is part of the name: another Powertools here is another layer content.
        return f"{self.name}-{self.version}-powertools-{powertools_version()}.zip"


def find(layer_version_arn: str) -> PublicLayer | None:
    """The public layer this ARN names, if it is one the SSM public parameters hand out (the same
    account, name and version as ssm/patch.py's powertools_layer_arn, in any region)."""
    parts = layer_version_arn.split(":")
    if len(parts) != 8:
        return None
    region = parts[3]
    for arch in PLATFORMS:
        for runtime in RUNTIMES:
            if powertools_layer_arn(region, arch, runtime) == layer_version_arn:
                return PublicLayer(layer_version_arn, arch, runtime)
    return None


def powertools_version() -> str:
    return importlib.metadata.version(DISTRIBUTION)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "global-backend-localcloud" / "layers"


def target_environment(layer: PublicLayer) -> dict[str, str]:
    """PEP 508 marker values of the layer's runtime (Amazon Linux, CPython), not of this interpreter."""
    return {"python_version": layer.python_version, "python_full_version": f"{layer.python_version}.0",
            "platform_machine": "aarch64" if layer.arch == "arm64" else "x86_64", "sys_platform": "linux",
            "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
            "platform_python_implementation": "CPython"}


def constraints(layer: PublicLayer, distribution: Callable[[str], Any] = importlib.metadata.distribution) -> list[str]:
    """`name==version` for Powertools[all] and each dependency it pulls in on the layer's runtime
    that is installed here (walked through the installed metadata); one not installed here is left
    to pip. `distribution` is importlib.metadata's, or a stand-in with .version and .requires."""
    environment = target_environment(layer)
    pins: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [(DISTRIBUTION, frozenset(EXTRAS))]
    while pending:
        name, extras = pending.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            installed = distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        pins[name] = installed.version
        for line in installed.requires or ():
            requirement = Requirement(line)
            if _applies(requirement.marker, extras, environment):
                pending.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def _applies(marker: Marker | None, extras: frozenset[str], environment: dict[str, str]) -> bool:
    if marker is None:
        return True
    return any(marker.evaluate({**environment, "extra": extra}) for extra in extras or {""})


_build_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()
_digests: dict[tuple[Path, int, int], tuple[str, int]] = {}


def layer_zip(layer: PublicLayer) -> Path:
    """The layer's zip in the cache, built first if it is not there (one build per layer at a time
    in this process; another process building the same one renames an identical file over it)."""
    target = cache_dir() / layer.file_name
    with _locks_lock:
        lock = _build_locks.setdefault(layer.file_name, threading.Lock())
    with lock:
        if not target.is_file():
            build(layer, target)
    return target


def pip_command(layer: PublicLayer, site: Path, constraints_file: Path) -> list[str]:
    return [sys.executable, "-m", "pip", "install", "--target", str(site),
            "--platform", PLATFORMS[layer.arch], "--python-version", layer.python_version,
            "--implementation", "cp", "--only-binary=:all:", "--no-compile", "--disable-pip-version-check",
            "--quiet", "--constraint", str(constraints_file),
            f"{DISTRIBUTION}[{','.join(EXTRAS)}]=={powertools_version()}"]


def build(layer: PublicLayer, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="localcloud-layer-") as work:
        site = Path(work) / "python"  # a Python layer's content sits under python/ (/opt/python)
        constraints_file = Path(work) / "constraints.txt"
        constraints_file.write_text("\n".join(constraints(layer)) + "\n")
        try:
            done = subprocess.run(pip_command(layer, site, constraints_file), capture_output=True, text=True,
                                  timeout=900, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise LayerBuildError(f"pip could not build the layer {layer.name}: {error}") from None
        if done.returncode != 0:
            raise LayerBuildError(f"pip could not build the layer {layer.name}: {first_error(done.stderr)}")
        remove_runtime_provided(site)
        # A temporary name the route never serves (it starts with "."), renamed once complete.
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
        os.close(handle)
        try:
            write_zip(site, Path(partial))
            os.replace(partial, target)
        finally:
            Path(partial).unlink(missing_ok=True)


def first_error(stderr: str) -> str:
    """pip's first ERROR line; its WARNINGs (such as ignored file:// index locations) say nothing
    about the failure."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    others = [line for line in lines if not line.startswith("WARNING")]
    return (errors or others or ["pip failed without a message"])[0]


def remove_runtime_provided(site: Path) -> None:
    for name in RUNTIME_PROVIDED:
        for path in [site / name, *site.glob(f"{name}-*.dist-info")]:
            shutil.rmtree(path, ignore_errors=True)


def write_zip(site: Path, destination: Path) -> None:
    """site's files under python/, in name order with a fixed timestamp: the same wheels give the
    same bytes, so a zip another local cloud renames over this one has the same CodeSha256."""
    with zipfile.ZipFile(destination, "w") as archive:
        for path in sorted(site.rglob("*")):
            if path.is_file():
                entry = zipfile.ZipInfo(f"python/{path.relative_to(site).as_posix()}", date_time=(1980, 1, 1, 0, 0, 0))
                entry.external_attr = (0o100000 | (path.stat().st_mode & 0o777)) << 16  # a regular file, its mode
                archive.writestr(entry, path.read_bytes(), zipfile.ZIP_DEFLATED)


def digest(path: Path) -> tuple[str, int]:
    """(CodeSha256, CodeSize) of a zip, as Lambda reports them (base64 of the SHA-256)."""
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _digests:
        sha = hashlib.sha256()
        with path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                sha.update(chunk)
        _digests[key] = (base64.b64encode(sha.digest()).decode("ascii"), stat.st_size)
    return _digests[key]


def layer_version(layer: PublicLayer, endpoint_url: str) -> dict[str, Any]:
    """GetLayerVersion's answer for the layer, its Location on `endpoint_url` (the URL the caller
    reached the endpoint by). Builds the layer first if need be (LayerBuildError if pip fails)."""
    path = layer_zip(layer)
    sha, size = digest(path)
    created = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(path.stat().st_mtime))
    return {
        "Content": {"Location": f"{endpoint_url.rstrip('/')}{PREFIX}{ROUTE}/{path.name}", "CodeSha256": sha,
                    "CodeSize": size},
        "LayerArn": layer.layer_arn,
        "LayerVersionArn": layer.layer_version_arn,
        "Description": f"Powertools for AWS Lambda (Python) [{layer.arch} - {layer.runtime}] with extra "
                       f"dependencies version {powertools_version()}",
        "CreatedDate": created,
        "Version": layer.version,
        "CompatibleRuntimes": [layer.runtime],
        "LicenseInfo": "MIT-0",
        "CompatibleArchitectures": [layer.arch],
    }


def serve(request: Request) -> Response:
    """GET /_localcloud/layers/<file>: a layer zip from the cache, streamed. Only a plain file name
    is looked up: no "/" or "..", no hidden (temporary) file."""
    name = request.path[len(f"{PREFIX}{ROUTE}/"):] if request.path.startswith(f"{PREFIX}{ROUTE}/") else ""
    path = cache_dir() / name
    if not _SERVED_FILE.fullmatch(name) or ".." in name or not path.is_file():
        return json_response(404, {"message": f"no such layer file: {name!r}"})
    response = send_file(path, request.environ, mimetype="application/zip")
    del response.headers["Date"]  # the HTTP server sends its own
    return response

