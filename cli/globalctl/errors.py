"""One place that turns exceptions into one line on stderr and an exit code: a command's own
errors (`reported`) and the command line's (`OneLineUsage`: a bad option value, a missing
argument, an unknown command)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import typer
from typer.core import TyperGroup

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


class OneLineUsage(TyperGroup):
    """The root command group: a usage error is `error: <what>` on one line and exit 2, instead of
    Typer's usage line, hint and boxed panel (scripts read one line; a panel wraps a long value)."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _one_line():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _one_line():
            return super().invoke(ctx)


@contextlib.contextmanager
def _one_line() -> Iterator[None]:
    # typer 0.29 vendors click as typer._click; its ClickException is what parsing raises.
    from typer._click.exceptions import ClickException, NoArgsIsHelpError

    try:
        yield
    except NoArgsIsHelpError:
        raise  # `globalctl local` alone prints its help, as intended
    except ClickException as error:
        typer.echo(f"error: {usage_line(error)}", err=True)
        raise typer.Exit(error.exit_code) from None


def usage_line(error: Any) -> str:
    """The error's message on one line, naming the value typed when Typer's message does not."""
    message = error.format_message().replace("Value error, ", "")
    # Typer validates numbers with pydantic: the rejected input is on the ValidationError it chains.
    details = getattr(error.__cause__, "errors", None)
    if callable(details):
        found = details()
        if found and "input" in found[0] and repr(str(found[0]["input"])) not in message:
            from globalctl.inputs import shown

            message += f" (got {shown(found[0]['input'])})"
    return " ".join(message.split())
