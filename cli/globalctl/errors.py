"""One place that turns exceptions into one line on stderr and an exit code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from globalctl.exceptions import GlobalctlError

F = TypeVar("F", bound=Callable[..., Any])


def _debug_enabled(args: tuple, kwargs: dict) -> bool:
    # Every command takes the typer.Context; the root's obj holds the global --debug flag.
    ctx = next((a for a in (*args, *kwargs.values()) if hasattr(a, "find_root")), None)
    root = ctx.find_root() if ctx else None
    return bool(root and isinstance(root.obj, dict) and root.obj.get("debug"))


def reported(func: F) -> F:
    """Run a command; a GlobalctlError (or anything unexpected) becomes one line and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except GlobalctlError as exc:
            if _debug_enabled(args, kwargs):
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
            if _debug_enabled(args, kwargs):
                raise
            typer.echo(f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]
