"""One rich console for tables: a terminal's own width, or 120 columns when output is captured
(rich would otherwise squeeze a table into 80 and truncate stack statuses and release ids)."""

from __future__ import annotations

from typing import Any

CAPTURED_WIDTH = 120


def console() -> Any:
    from rich.console import Console

    probe = Console()
    return probe if probe.is_terminal else Console(width=CAPTURED_WIDTH)
