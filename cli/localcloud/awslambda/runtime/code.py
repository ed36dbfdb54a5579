"""Deployment packages: hashing as Lambda reports it, and safe content-addressed extraction.

Lambda's ``CodeSha256`` is the base64 of the package's SHA-256 digest (Lambda API reference,
FunctionConfiguration.CodeSha256); directories here are named by the hex digest instead, which is
filesystem-safe. The 250 MB unzipped limit is Lambda's documented deployment package quota
(https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

MAX_UNZIPPED_BYTES = 250 * 1024 * 1024

class UnsafeZipError(ValueError):
    """The package holds a path that would land outside its directory, or is not a usable zip."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def code_sha256(data: bytes) -> str:
    """The value Lambda reports as ``CodeSha256`` for this package."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def _safe_member_path(name: str) -> PurePosixPath:
    # Zip names use "/", but a crafted archive may carry "\" or a drive letter; treat all of
    # them as separators so nothing is interpreted differently by a later consumer.
    normalised = name.replace("\\", "/")
    path = PurePosixPath(normalised)
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        raise UnsafeZipError(f"absolute path in deployment package: {name!r}")
    if any(part == ".." for part in path.parts):
        raise UnsafeZipError(f"path escapes the package root: {name!r}")
    return path


def _extract_into(archive: zipfile.ZipFile, target: Path) -> None:
    total = 0
    members = archive.infolist()
    for info in members:
        _safe_member_path(info.filename)
        total += info.file_size
    if total > MAX_UNZIPPED_BYTES:
        raise UnsafeZipError(f"unzipped size {total} exceeds Lambda's {MAX_UNZIPPED_BYTES} bytes")
    for info in members:
        relative = _safe_member_path(info.filename)
        if not relative.parts or str(relative) == ".":
            continue
        destination = target.joinpath(*relative.parts)
        if info.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        # Symlink entries are written as plain files holding the link text (zipfile's own
        # behaviour), so a package can never plant a link pointing outside its directory.
        with archive.open(info) as source, open(destination, "wb") as sink:
            shutil.copyfileobj(source, sink)
        mode = (info.external_attr >> 16) & 0o777
        if mode & 0o111:  # keep executables (bundled binaries, scripts) runnable
            destination.chmod(destination.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def extract_code(zip_bytes: bytes, root: Path) -> tuple[str, Path]:
    """Extract a deployment package under ``root/<sha256 hex>`` and return ``(hex, path)``.

    Idempotent and safe under concurrency: each caller extracts into its own temporary directory
    and publishes it with an atomic rename; a caller that loses the race discards its copy and
    uses the winner's. Raises :class:`UnsafeZipError` for zip-slip paths or a corrupt archive.
    """
    digest = sha256_hex(zip_bytes)
    root = Path(root)
    final = root / digest
    if final.is_dir():  # only ever created by the atomic rename below, so always complete
        return digest, final
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=root))
    try:
        try:
            with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
                _extract_into(archive, staging)
        except zipfile.BadZipFile as exc:
            raise UnsafeZipError(f"not a valid zip archive: {exc}") from exc
        staging.chmod(0o755)  # mkdtemp makes 0700; the code is read by worker processes
        try:
            os.rename(staging, final)
        except OSError:
            # Another thread or process published the same digest first: same bytes, same tree.
            if not final.is_dir():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return digest, final
