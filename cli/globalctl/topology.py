"""The topology, read from samconfig.toml: which environments are regions, which are global.

An environment is the table stack when its deploy template is global/table.yaml, the routing
stack when it is global/routing.yaml, and a region otherwise. The table's region is the home
region. Nothing else describes the topology, so adding a region is adding one environment.
"""

from __future__ import annotations

import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from globalctl.exceptions import TopologyError, UnknownEnvironmentError

TABLE_TEMPLATE = "global/table.yaml"
ROUTING_TEMPLATE = "global/routing.yaml"
REGION_TEMPLATE = "template.yaml"


def parse_overrides(text: str) -> dict[str, str]:
    """Parse SAM's `Key=Value Key2="value two"` parameter_overrides string."""
    result: dict[str, str] = {}
    for token in shlex.split(text or ""):
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise TopologyError(f"parameter_overrides entry {token!r} is not Key=Value")
        result[key] = value
    return result


def render_overrides(params: dict[str, str]) -> str:
    """The inverse of parse_overrides, quoted so a shell and SAM read it back unchanged."""
    return " ".join(shlex.quote(f"{key}={value}") for key, value in params.items())


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
        raise UnknownEnvironmentError(f"unknown environment {name!r} (known: {known})")


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
