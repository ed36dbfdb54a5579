"""Errors globalctl reports as one clear line (a traceback only with --debug)."""

from __future__ import annotations


class GlobalctlError(Exception):
    """Base of every error the user can act on. `exit_code` is what the CLI exits with."""

    exit_code = 1


class TopologyError(GlobalctlError):
    """samconfig.toml cannot be read as a topology (missing, unparsable, no region)."""

    exit_code = 2


class UnknownEnvironmentError(GlobalctlError):
    exit_code = 2


class StackNotFoundError(GlobalctlError):
    """A stack the command needs (e.g. a region's, for the routing parameters) is not deployed."""


class ToolMissingError(GlobalctlError):
    """An external tool (sam) is not installed where globalctl looks for it."""


class UsageError(GlobalctlError):
    """The command line asks for something that does not exist (a fault kind, a region env)."""

    exit_code = 2


class LocalCloudError(GlobalctlError):
    """The local cloud cannot start, stop or answer (a port in use, already running, not running)."""


class LocalCloudNotRunning(LocalCloudError):
    def __init__(self) -> None:
        super().__init__("the local cloud is not running; start it with `globalctl local up`")


class PlanError(GlobalctlError):
    """Rollout or rollback options that cannot make a plan (numbers, release id, region choice)."""

    exit_code = 2
