"""The object commands work through: which samconfig, debug or not, and the operations."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import typer

from globalctl import parameters, topology
from globalctl.checks import Finding, check_topology


@dataclass
class Context:
    config_path: Path
    debug: bool = False

    @classmethod
    def from_typer(cls, ctx: typer.Context) -> Context:
        obj = ctx.find_root().obj or {}
        return cls(config_path=Path(obj.get("config", "samconfig.toml")), debug=bool(obj.get("debug")))

    @cached_property
    def topology(self) -> topology.Topology:
        return topology.load(self.config_path)

    def validate(self, lint: bool = True) -> list[Finding]:
        from globalctl import lint as template_lint

        findings = check_topology(self.topology)
        if lint:
            findings += template_lint.run_cfn_lint(self.topology)
            findings += template_lint.run_sam_validate(self.topology)
        return findings

    def stack_parameters(self, env_name: str, leave_out: frozenset[str] = frozenset()) -> dict[str, str]:
        """The complete parameter overrides for `sam deploy --config-env <env>`; the routing's leave
        out the region envs in `leave_out` (a region whose add failed is never routed)."""
        env = self.topology.env(env_name)
        if env.kind == "table":
            return parameters.table_parameters(self.topology)
        if env.kind == "routing":
            from globalctl import aws

            outputs = {r.name: aws.stack_outputs(r.stack_name, r.region) for r in self.topology.regions
                       if r.name not in leave_out}
            deployed = aws.stack_parameters(env.stack_name, env.region)
            return parameters.routing_parameters(self.topology, outputs, parameters.weights_from_deployed(deployed),
                                                 leave_out=leave_out, deployed=deployed)
        from globalctl import site
        from globalctl.endpoints import Endpoints

        return {**env.parameters, **site.region_parameters(self.topology, env, Endpoints(self.config_path))}
