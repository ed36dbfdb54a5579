"""`make lambda-image` (`python -m harness.lambda_image`): the Lambda python3.13 image that
`sam local` runs the functions in (samconfig's `invoke_image`), built from Debian packages.

SAM's own emulation images come from public ECR, which a machine without internet (or a CI that
must not depend on it) cannot pull. This one is Debian 13 "trixie" (which has python3.13), unpacked
by mmdebstrap from Debian's archive, plus AWS's runtime interface client (awslambdaric) and the SDK
the managed runtime bundles (boto3), both from PyPI. SAM adds its bundled runtime interface
emulator and the layers on top, as it does with its own images.

It is built per architecture: arm64, the functions' own, needs qemu binfmt on an x86_64 host
(Debian's qemu-user-static); x86_64 runs natively there. An image whose recipe label matches is
reused, so only the first run, or a changed recipe, builds.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import io
import json
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

RUNTIME = "python3.13"
SUITE = "trixie"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("python3.13", "dash", "coreutils", "libstdc++6")  # awslambdaric's runtime_client is C++
AWSLAMBDARIC = "4.2.2"
REPOSITORY = "global-backend/lambda-python3.13"
RECIPE_LABEL = "global-backend.recipe"
ARCHITECTURES = {  # Lambda's name -> (Debian's, Docker's platform, pip's platform tag, merged-/usr links)
    "arm64": ("arm64", "linux/arm64", "manylinux2014_aarch64", "bin lib sbin"),
    "x86_64": ("amd64", "linux/amd64", "manylinux2014_x86_64", "bin lib lib64 sbin"),
}

# The runtime's bootstrap: the emulator starts it with _HANDLER set, from /var/task.
BOOTSTRAP = f'#!/bin/sh\nexec /usr/bin/{RUNTIME} -m awslambdaric "$_HANDLER"\n'

# Lambda's python runtime puts the code first, then layers (/opt/python), then its own SDK.
# Bytecode is compiled once here, into a cache apart from the sources (PYTHONPYCACHEPREFIX): under
# qemu, importing botocore from source takes about 45 s, and the Powertools layer as long again.
# SAM adds the layer to /opt on every run, so its bytecode is compiled here from the very zip the
# local cloud serves, then the copy is removed; "checked-hash" bytecode is used only while its
# source's hash matches, so a different layer is compiled afresh, never run stale.
HEAD = f"""FROM scratch
ADD rootfs.tar /
ENV LANG=C.UTF-8 TZ=:UTC PATH=/usr/local/bin:/usr/bin:/bin LAMBDA_TASK_ROOT=/var/task \\
    LAMBDA_RUNTIME_DIR=/var/runtime PYTHONPYCACHEPREFIX=/var/cache/python \\
    PYTHONPATH=/var/task:/opt/python/lib/{RUNTIME}/site-packages:/opt/python:/var/runtime
WORKDIR /var/task
"""
# This machine's own architecture compiles; the other one (under qemu, ten times slower) takes that
# bytecode: the sources are the same files (Debian's stdlib, pure-Python packages), and a file that
# differs fails its hash check and is compiled when imported.
COMPILE = f"""COPY layer/ /opt/
RUN ["/bin/sh", "-c", "{RUNTIME} -m compileall -q -j 0 --invalidation-mode checked-hash /usr/lib/{RUNTIME} \\
/var/runtime /opt/python && rm -rf /opt/python"]
"""
TAKE_BYTECODE = "ADD bytecode.tar /var/cache/\n"
NATIVE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine())


class ImageBuildError(Exception):
    pass


def image_tag(architecture: str) -> str:
    return f"{REPOSITORY}:{architecture}"


def runtime_requirements() -> list[str]:
    """awslambdaric, and the SDK at the versions this project pins (the managed runtime bundles one)."""
    return [f"awslambdaric=={AWSLAMBDARIC}",
            *(f"{name}=={importlib.metadata.version(name)}" for name in ("boto3", "botocore"))]


def recipe(architecture: str, layer_digest: str = "") -> str:
    """What the image is made of: a changed package list, pin, Dockerfile or layer (for the other
    architecture: the image its bytecode comes from) makes a new image."""
    text = json.dumps([architecture, SUITE, PACKAGES, runtime_requirements(), BOOTSTRAP, HEAD, COMPILE,
                       TAKE_BYTECODE, layer_digest])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def powertools_layer(architecture: str) -> Path:
    """The Powertools layer zip the local cloud serves for this architecture (from the same cache)."""
    from localcloud.awslambda import public_layers
    from localcloud.ssm.patch import powertools_layer_arn

    layer = public_layers.find(powertools_layer_arn("eu-west-1", architecture, RUNTIME))
    try:
        return public_layers.layer_zip(layer)
    except public_layers.LayerBuildError as error:
        raise ImageBuildError(f"the Powertools layer: {error}") from None


def _docker():
    import docker  # the SDK SAM itself drives Docker with

    try:
        client = docker.from_env()
        client.ping()
    except Exception as error:  # noqa: BLE001  # docker.errors wraps requests' and the socket's errors
        raise ImageBuildError(f"Docker does not answer ({error}); start dockerd, or Docker Desktop or Finch") from None
    return client


def current(client, architecture: str, layer_digest: str) -> bool:
    import docker

    try:
        image = client.images.get(image_tag(architecture))
    except docker.errors.ImageNotFound:
        return False
    return (image.labels or {}).get(RECIPE_LABEL) == recipe(architecture, layer_digest)


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)  # noqa: S603  # nosec B603 # argv built here, no shell
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()
                 and "is ignored: it is neither a file nor a directory" not in line]
        raise ImageBuildError(f"{what} failed: {lines[-1] if lines else f'exit {done.returncode}'}")


def _root_filesystem(architecture: str, work: Path) -> Path:
    """Debian's packages for the architecture, unpacked (no maintainer scripts run, so a foreign
    architecture needs no emulation here), with the merged-/usr links trixie expects."""
    if shutil.which("mmdebstrap") is None:
        raise ImageBuildError("mmdebstrap is not installed (Debian/Ubuntu: apt-get install mmdebstrap arch-test)")
    debian_arch, _, pip_platform, links = ARCHITECTURES[architecture]
    rootfs = work / "rootfs.tar"
    _run(["mmdebstrap", "--quiet", f"--arch={debian_arch}", "--variant=extract", f"--include={','.join(PACKAGES)}",
          *(f"--dpkgopt=path-exclude=/usr/share/{d}/*" for d in ("doc", "man", "locale")),
          f"--setup-hook=for d in {links}; do mkdir -p \"$1/usr/$d\"; ln -s usr/$d \"$1/$d\"; done",
          SUITE, str(rootfs), MIRROR], "mmdebstrap")
    runtime = work / "staging" / "var" / "runtime"
    _run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
          "--target", str(runtime), "--platform", pip_platform, "--python-version", RUNTIME.removeprefix("python"),
          "--implementation", "cp", "--only-binary=:all:", *runtime_requirements()], "pip (awslambdaric, boto3)")
    (runtime / "bootstrap").write_text(BOOTSTRAP)
    (runtime / "bootstrap").chmod(0o755)
    for folder in ("var/task", "opt"):
        (work / "staging" / folder).mkdir(parents=True, exist_ok=True)
    with tarfile.open(rootfs, "a") as tar:
        for folder in ("var/runtime", "var/task", "opt"):
            tar.add(work / "staging" / folder, arcname=f"./{folder}", filter=_owned_by_root)
    return rootfs


def _owned_by_root(member: tarfile.TarInfo) -> tarfile.TarInfo:
    member.uid = member.gid = 0
    member.uname = member.gname = "root"
    return member


def build(architecture: str, force: bool = False, say=print) -> str:
    """The image for the architecture, built unless an up-to-date one exists; returns its tag."""
    if architecture not in ARCHITECTURES:
        raise ImageBuildError(f"unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}")
    client = _docker()
    tag = image_tag(architecture)
    layer = powertools_layer(architecture)
    compiles_here = architecture == NATIVE or NATIVE is None
    if compiles_here:
        layer_digest = hashlib.sha256(layer.read_bytes()).hexdigest()
    else:
        native = client.images.get(build(NATIVE, force, say))
        layer_digest = native.id
    if not force and current(client, architecture, layer_digest):
        say(f"{tag} is up to date")
        return tag
    say(f"building {tag} from Debian {SUITE} ...")
    with tempfile.TemporaryDirectory(prefix="lambda-image-") as folder:
        work = Path(folder)
        rootfs = _root_filesystem(architecture, work)
        context = work / "context.tar"
        with tarfile.open(context, "w") as tar:
            dockerfile = (HEAD + (COMPILE if compiles_here else TAKE_BYTECODE)).encode()
            info = tarfile.TarInfo("Dockerfile")
            info.size = len(dockerfile)
            tar.addfile(info, io.BytesIO(dockerfile))
            tar.add(rootfs, arcname="rootfs.tar")
            if compiles_here:
                _unzip(layer, work / "layer")
                tar.add(work / "layer", arcname="layer", filter=_owned_by_root)
            else:
                (work / "bytecode.tar").write_bytes(_bytecode_of(client, image_tag(NATIVE)))
                tar.add(work / "bytecode.tar", arcname="bytecode.tar")
        with open(context, "rb") as stream:
            log = client.api.build(fileobj=stream, custom_context=True, tag=tag, rm=True, forcerm=True, decode=True,
                                   platform=ARCHITECTURES[architecture][1],
                                   labels={RECIPE_LABEL: recipe(architecture, layer_digest)})
            errors = [entry["error"] for entry in log if "error" in entry]
    if not errors:
        _forget_derived_images(client)
    if errors:
        hint = " (an arm64 image on this host needs qemu binfmt: see the README)" if "exec format" in errors[-1] else ""
        raise ImageBuildError(f"docker build of {tag} failed: {errors[-1].strip()}{hint}")
    say(f"built {tag}")
    return tag


def _unzip(archive_path: Path, target: Path) -> None:
    """The layer's files, each checked to stay inside target (the zip is the local cloud's own)."""
    with zipfile.ZipFile(archive_path) as archive:
        for member in archive.infolist():
            destination = (target / member.filename).resolve()
            if not destination.is_relative_to(target.resolve()):
                raise ImageBuildError(f"the layer zip names a path outside it: {member.filename!r}")
            archive.extract(member, target)


def _bytecode_of(client, tag: str) -> bytes:
    """/var/cache/python of an image, as the tar Docker gives of a (never started) container."""
    container = client.containers.create(tag, command=["true"])
    try:
        stream, _ = container.get_archive("/var/cache/python")
        return b"".join(stream)
    finally:
        container.remove()


def _forget_derived_images(client) -> None:
    """SAM builds its own image on top of this one (with its emulator and the layers) and, told not
    to pull, never checks the base again: remove those, so its next run builds on the new image."""
    import docker

    prefix = f"samcli/lambda-python:{RUNTIME.removeprefix('python')}-"  # SAM's name for a zip function's image
    for image in client.images.list(name="samcli/lambda-python"):
        if not any(tag.startswith(prefix) for tag in image.tags):
            continue
        try:
            client.images.remove(image.id, force=True)
        except docker.errors.APIError:
            pass  # in use by a running container: SAM replaces it when that ends


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.lambda_image", description=__doc__.split("\n\n")[0])
    parser.add_argument("architectures", nargs="*", default=["arm64"], metavar="ARCHITECTURE",
                        help="arm64 (the functions' own, the default) and/or x86_64")
    parser.add_argument("--force", action="store_true", help="build even when an up-to-date image exists")
    arguments = parser.parse_args(argv)
    try:
        for architecture in arguments.architectures:
            build(architecture, arguments.force)
    except ImageBuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
