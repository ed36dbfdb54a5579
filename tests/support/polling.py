"""Waiting for a condition in tests: poll it until a deadline, never a fixed sleep."""

from __future__ import annotations

import time
from typing import Any, Callable


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "the condition",
               interval: float = 0.05) -> Any:
    """The first truthy value of condition(), or AssertionError once the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
