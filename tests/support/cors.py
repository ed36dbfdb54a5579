"""What a response says to a browser about CORS: its Access-Control-* headers, lower-cased."""

from __future__ import annotations


def cors_of(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.startswith("access-control-")}
