"""Docker for the sam local tests: the engine that answers, or dockerd from Debian's docker.io
package started here when this is root and none runs (stopped again afterwards); otherwise the
reason the tests must be skipped.

When it starts dockerd itself, it also closes the containers' way out: a DOCKER-USER rule rejects
everything a container on the default bridge sends to be forwarded, so a function can reach this
machine (the local cloud on the bridge gateway) and nothing beyond it.

It starts dockerd without the userland proxy. With the proxy, a published port accepts connections
before anything in the container listens, so SAM's wait for the container's socket passes at once
and its invoke gets three tries in about 0.3 s: the arm64 runtime interface emulator, under qemu,
takes about as long to listen (measured: SAM's third try answered), and a busy machine loses the race
("No response from invoke container", exit 0). Without the proxy the port refuses until the emulator
listens, and SAM waits for it (SAM_CLI_CONTAINER_CONNECTION_TIMEOUT, 20 s).
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

START_TIMEOUT_SECONDS = 60
BRIDGE = "docker0"
FORWARD_RULE = ["DOCKER-USER", "-i", BRIDGE, "-j", "REJECT"]


started_here = False  # whether this session started dockerd (and so closed the containers' way out)


class DockerUnavailable(Exception):
    """Why there is no Docker engine for the tests (shown in pytest's summary)."""


def _client():
    import docker

    client = docker.from_env(timeout=120)
    client.ping()
    return client


def _answering():
    try:
        return _client()
    except Exception:  # noqa: BLE001  # the SDK raises socket, HTTP and API errors alike: no engine
        return None


@contextlib.contextmanager
def engine() -> Iterator[object]:
    """A docker SDK client for an engine that answers; raises DockerUnavailable with the reason."""
    client = _answering()
    if client is not None:
        yield client
        return
    if os.geteuid() != 0 or shutil.which("dockerd") is None:
        raise DockerUnavailable("no Docker engine answers, and dockerd cannot be started here (it needs root "
                                "and Debian's docker.io package; .ci/run installs it)")
    with _dockerd() as client:
        yield client


@contextlib.contextmanager
def _dockerd() -> Iterator[object]:
    global started_here
    log = tempfile.NamedTemporaryFile(prefix="dockerd-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(["dockerd", "--userland-proxy=false"], stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        client = None
        while client is None:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = Path(log.name).read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise DockerUnavailable(f"dockerd did not start: {tail[0][:300]}")
            client = _answering()
            if client is None:
                time.sleep(0.2)  # polling the socket dockerd is about to open, bounded by the deadline
        _close_the_way_out()
        started_here = True
        yield client
    finally:
        started_here = False
        subprocess.run(["iptables", "-D", *FORWARD_RULE], check=False, capture_output=True)  # noqa: S603,S607
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        os.unlink(log.name)


def _close_the_way_out() -> None:
    """Containers reach the host (INPUT), never anything forwarded beyond it (DOCKER-USER)."""
    subprocess.run(["iptables", "-I", *FORWARD_RULE], check=True, capture_output=True)  # noqa: S603,S607


def egress_closed() -> bool:
    """Whether the rule that keeps containers' traffic on this machine is in place."""
    return subprocess.run(["iptables", "-C", *FORWARD_RULE], capture_output=True).returncode == 0  # noqa: S603,S607


def ports_answer_before_listening(client, image: str) -> bool:
    """Whether a port this engine publishes accepts a connection while nothing in the container
    listens (Docker's userland proxy), which defeats SAM's wait for an emulated function's socket."""
    import socket

    container = client.containers.run(image, entrypoint=["/bin/sleep", "60"], detach=True, remove=True,
                                      ports={"8080/tcp": ("127.0.0.1", None)})
    try:
        container.reload()
        port = int(container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"])
        with socket.socket() as probe:
            probe.settimeout(5)
            return probe.connect_ex(("127.0.0.1", port)) == 0
    finally:
        container.kill()


def arm64_runs() -> str | None:
    """None when arm64 containers run here; else why not (an x86_64 host needs qemu binfmt)."""
    if platform.machine() in ("aarch64", "arm64"):
        return None
    handler = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
    if handler.is_file() and handler.read_text().startswith("enabled"):
        return None
    return ("arm64 containers need qemu binfmt on this x86_64 host (Debian: qemu-user-static and "
            "binfmt-support, then update-binfmts --enable qemu-aarch64; .ci/run does it)")
