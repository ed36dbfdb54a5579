"""The console's static files. A request names an asset; only the names below exist, so no path a
client sends ever reaches the file system (`..`, `%2e%2e`, encoded slashes: all a plain 404)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import NamedTuple


class Asset(NamedTuple):
    body: bytes
    content_type: str


_FILES = {
    "index.html": "text/html; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    # Linked from the page: else the browser asks the endpoint for /favicon.ico, and moto answers 404.
    "favicon.svg": "image/svg+xml",
}
_ALIASES = {"": "index.html"}


def asset(name: str) -> Asset | None:
    """The asset served under /_localcloud/console/<name>, or None."""
    name = _ALIASES.get(name, name)
    if name not in _FILES:
        return None
    return Asset(_read(name), _FILES[name])


@lru_cache(maxsize=len(_FILES))
def _read(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()
