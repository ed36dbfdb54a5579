"""What a user types, checked at the edge: a bad value is one line naming it and what is allowed.

Release ids travel furthest, so their grammar is the intersection of every place they land:

- the Release parameter of template.yaml (AllowedPattern "[A-Za-z0-9._-]{1,64}");
- the stack tag `release`: a CloudFormation tag value is 1-256 characters
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Tag.html) of letters,
  digits, spaces and `_ . : / = + - @`, and `sam deploy --tags` reads `k=v` pairs split on spaces
  (samcli/cli/types.py CfnTags.TAG_REGEX);
- a folder name under .globalctl/releases/.

So: an ASCII letter or digit first (never `.`, so never `.`, `..` or a hidden file; never `-`, so
never read as an option), then letters, digits, `.`, `_`, `-`; at most 64 characters. No `/`,
no space, no quote, nothing a shell or a path gives meaning to.

Typer callbacks here raise typer.BadParameter (globalctl.errors prints it as one line, exit 2);
the checks used past the command line raise GlobalctlError subclasses.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import typer

from globalctl.exceptions import GlobalctlError, UsageError

RELEASE_MAX = 64
RELEASE_RULE = rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{RELEASE_MAX - 1}}}$"
RELEASE_HELP = f"a letter or digit, then up to {RELEASE_MAX - 1} letters, digits, '.', '_' or '-'"
_RELEASE = re.compile(RELEASE_RULE.strip("^$"))
# A file or folder name globalctl writes under .globalctl/: the release grammar, a little longer.
_COMPONENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# AWS region codes (checks.REGION_CODE), and DNS names (RFC 1035 labels, 253 characters in all).
_REGION_CODE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
SHOWN_MAX = 200


def shown(value: Any) -> str:
    """repr() of a value for an error line: escapes control characters, cut short when long."""
    text = repr(value)
    if len(text) <= SHOWN_MAX:
        return text
    return f"{text[:SHOWN_MAX - 3]}...' ({len(str(value))} characters)"


# --- release ids -------------------------------------------------------------------------------------


def release_problem(value: Any) -> str | None:
    """Why `value` is not a release id, or None when it is one."""
    if isinstance(value, str) and _RELEASE.fullmatch(value):
        return None
    return f"release id {shown(value)} is invalid: it must match {RELEASE_RULE} ({RELEASE_HELP})"


def check_release(value: Any, error: type[GlobalctlError] = UsageError, where: str = "") -> str:
    problem = release_problem(value)
    if problem:
        raise error(f"{where}{problem}")
    return value


def release_option(value: str | None) -> str | None:
    """Typer callback for --release / --to (None: the command's default)."""
    if value is not None and (problem := release_problem(value)):
        raise typer.BadParameter(problem)
    return value


# --- environments ------------------------------------------------------------------------------------


def env_list_option(value: str | None) -> str | None:
    """Typer callback for --regions: an explicit empty list is a mistake, not 'all regions'."""
    if value is not None and not split_envs(value):
        raise typer.BadParameter(f"{shown(value)} names no environment (e.g. euw1,use1)")
    return value


def split_envs(value: str | None) -> list[str] | None:
    """Comma-separated env names; None when the option was not given. Names are checked against
    the topology by whoever uses them (UnknownEnvironmentError lists the known ones)."""
    if value is None:
        return None
    return [name.strip() for name in value.split(",") if name.strip()]


def region_env(topology: Any, name: str) -> Any:
    """The region environment called `name`; the local cloud's own wording when it is not one."""
    regions = [env.name for env in topology.regions]
    if name not in regions:
        raise UsageError(f"unknown region env {shown(name)}; known: {', '.join(regions) or 'none'}")
    return topology.env(name)


# --- files under .globalctl/ -------------------------------------------------------------------------


def path_component(value: Any, what: str) -> str:
    """A single, plain file name component (no separator, no '..', not hidden) or GlobalctlError."""
    if isinstance(value, str) and _COMPONENT.fullmatch(value):
        return value
    raise GlobalctlError(f"{what} {shown(value)} cannot be a file name under .globalctl/ "
                         f"(letters, digits, '.', '_', '-'; a letter or digit first)")


def inside(root: Path, *parts: tuple[str, str]) -> Path:
    """root/part/...: each (value, what) a checked component, and the result still under root
    once symlinks are resolved (a planted link must not carry a write outside .globalctl/)."""
    path = root
    for value, what in parts:
        path = path / path_component(value, what)
    resolved_root = root.resolve()
    if not path.resolve().is_relative_to(resolved_root):
        raise GlobalctlError(f"{path} resolves outside {resolved_root}; refusing to use it")
    return path


# --- locations and URLs ------------------------------------------------------------------------------


def aws_region(value: str | None) -> str | None:
    """Typer callback for a client location (--from): an AWS region code the local cloud knows."""
    if value is None:
        return None
    from localcloud.route53 import latency

    if not _REGION_CODE.fullmatch(value) or not latency.is_region(value):
        known = ", ".join(sorted(latency.REGIONS))
        raise typer.BadParameter(f"{shown(value)} is not an AWS region the local cloud knows ({known})")
    return value


def dns_name(value: str) -> str:
    """Typer callback for a routed name: letters, digits and '-' in dot-separated labels."""
    name = value[:-1] if value.endswith(".") else value
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise typer.BadParameter(f"{shown(value)} is not a DNS name (labels of letters, digits and '-', "
                                 f"separated by '.', at most 253 characters)")
    return value


def entry_url(value: str | None) -> str | None:
    """Typer callback for --entry: an http(s) URL with a host and nothing after the path."""
    if value is None:
        return None
    problem = _url_problem(value)
    if problem:
        raise typer.BadParameter(f"{shown(value)} is not a usable entry URL: {problem} "
                                 f"(e.g. https://api.example.com)")
    return value


def _url_problem(value: str) -> str | None:
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "it contains whitespace or control characters"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port outside 0-65535 or not a number
    except ValueError as error:
        return str(error)
    if parts.scheme not in ("http", "https"):
        return "the scheme must be http or https"
    if not parts.hostname:
        return "it has no host"
    if parts.username or parts.password:
        return "credentials do not belong in it"
    if parts.query or parts.fragment:
        return "it must not carry a query or fragment (the drill appends its own paths)"
    return None
