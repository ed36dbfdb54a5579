"""The topology, read from samconfig.toml: which environments are regions, which are global.

An environment is the table stack when its deploy template is global/table.yaml, the routing
stack when it is global/routing.yaml, and a region otherwise. The table's region is the home
region. Nothing else describes the topology, so adding a region is adding one environment.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from globalctl.exceptions import TopologyError, UnknownEnvironmentError
from globalctl.inputs import shown

TABLE_TEMPLATE = "global/table.yaml"
ROUTING_TEMPLATE = "global/routing.yaml"
REGION_TEMPLATE = "template.yaml"
_PARAMETER_KEY = re.compile(r"[A-Za-z0-9]+")
_PLAIN_VALUE = re.compile(r"[^\s\"'\\]+")


def parse_overrides(text: str) -> dict[str, str]:
    """Parse SAM's `Key=Value Key2="value two"` parameter_overrides string."""
    result: dict[str, str] = {}
    for token in shlex.split(text or ""):
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise TopologyError(f"parameter_overrides entry {token!r} is not Key=Value")
        result[key] = value
    return result


def sam_overrides(params: dict[str, str]) -> list[str]:
    """One `Key=Value` argument per parameter, in the syntax `sam deploy --parameter-overrides`
    parses (samcli/cli/types.py CfnParameterOverridesType): a value with a space or a quote goes in
    double quotes with `\\"` inside. SAM unescapes only `\\ `, `\\"` and `\\'`, so a backslash
    could not come through unchanged: such a value is refused, not mangled."""
    items = []
    for key, value in params.items():
        if not _PARAMETER_KEY.fullmatch(key):
            raise TopologyError(f"parameter name {shown(key)} is not alphanumeric (CloudFormation's rule)")
        if "\\" in value:
            raise TopologyError(f"parameter {key}: value {shown(value)} has a backslash, which sam deploy "
                                f"--parameter-overrides cannot carry unchanged")
        if _PLAIN_VALUE.fullmatch(value):
            items.append(f"{key}={value}")
        else:
            escaped = value.replace('"', '\\"')
            items.append(f'{key}="{escaped}"')
    return items


def render_overrides(params: dict[str, str]) -> str:
    """The overrides as one string, for `--parameter-overrides "$(globalctl params <env>)"`: SAM
    splits it on the spaces outside quotes, and parse_overrides reads it back unchanged."""
    return " ".join(sam_overrides(params))


@dataclass(frozen=True)
class Environment:
    """One samconfig environment's deploy settings."""

    name: str
    region: str
    stack_name: str
    template_file: str
    parameters: dict[str, str] = field(default_factory=dict)
    capabilities: tuple[str, ...] = ()
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def kind(self) -> str:
        template = self.template_file.removeprefix("./")
        if template == TABLE_TEMPLATE:
            return "table"
        if template == ROUTING_TEMPLATE:
            return "routing"
        return "region"


@dataclass(frozen=True)
class Topology:
    config_path: Path
    environments: tuple[Environment, ...]

    @property
    def root(self) -> Path:
        return self.config_path.parent

    @property
    def regions(self) -> tuple[Environment, ...]:
        """Region environments in samconfig order: the first is the default canary."""
        return tuple(env for env in self.environments if env.kind == "region")

    def _single(self, kind: str) -> Environment | None:
        found = [env for env in self.environments if env.kind == kind]
        return found[0] if found else None

    @property
    def table(self) -> Environment | None:
        return self._single("table")

    @property
    def routing(self) -> Environment | None:
        return self._single("routing")

    @property
    def home_region(self) -> str | None:
        return self.table.region if self.table else None

    def env(self, name: str) -> Environment:
        for env in self.environments:
            if env.name == name:
                return env
        known = ", ".join(env.name for env in self.environments) or "none"
        raise UnknownEnvironmentError(f"unknown environment {shown(name)} (known: {known})")


def _overrides_of(env: str, value: object) -> dict[str, str]:
    # SAM accepts a single string or a list of Key=Value strings.
    if isinstance(value, list):
        value = " ".join(shlex.quote(str(item)) for item in value)
    try:
        return parse_overrides(str(value))
    except ValueError as exc:  # shlex: unbalanced quotes
        raise TopologyError(f"environment {env!r}: parameter_overrides: {exc}") from None


def load(config_path: Path) -> Topology:
    """Read samconfig.toml. Structural problems raise TopologyError; the checks in `checks` judge the rest."""
    if config_path.is_dir():
        raise TopologyError(f"{config_path}: is a directory; --config names the samconfig file")
    if not config_path.is_file():
        raise TopologyError(f"{config_path}: no such file (run from the project root or pass --config)")
    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TopologyError(f"{config_path}: not valid TOML: {exc}") from None
    envs = []
    for name, section in data.items():
        if name == "version" or not isinstance(section, dict):
            continue
        deploy = section.get("deploy", {}).get("parameters") if isinstance(section.get("deploy"), dict) else None
        if not isinstance(deploy, dict):
            continue  # e.g. [default.build.parameters]: not a deployable environment
        caps = deploy.get("capabilities", "")
        caps_list = caps.split() if isinstance(caps, str) else list(caps)
        envs.append(
            Environment(
                name=name,
                region=str(deploy.get("region", "")),
                stack_name=str(deploy.get("stack_name", "")),
                template_file=str(deploy.get("template_file", REGION_TEMPLATE)),
                parameters=_overrides_of(name, deploy.get("parameter_overrides", "")),
                capabilities=tuple(caps_list),
                raw=deploy,
            )
        )
    return Topology(config_path=config_path, environments=tuple(envs))
