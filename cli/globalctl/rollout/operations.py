"""The executor's operations on the real cloud (AWS, or the local cloud through AWS_ENDPOINT_URL):
each one a call into the engines, stacks, routing, regions and gates, for a samconfig env."""

from __future__ import annotations

from globalctl import aws, bake_traffic, build, gates, regions, routing, site, stacks
from globalctl.bake import AlarmBound, minimum
from globalctl.context import Context
from globalctl.endpoints import Endpoints
from globalctl.regions import RegionApi
from globalctl.stacks import Snapshot


class AwsOperations:
    """rollout.executor.Operations for the topology of `context`."""

    def __init__(self, context: Context):
        self.context = context
        self.topology = context.topology
        self.endpoints = Endpoints(context.config_path)
        self._build: build.Build | None = None
        self._drained_from: dict[str, int] = {}

    def parameters(self, env: str, leave_out: frozenset[str] = frozenset()) -> dict[str, str]:
        return self.context.stack_parameters(env, leave_out)

    def snapshot(self, env: str) -> Snapshot:
        return stacks.snapshot(self.topology.env(env))

    def stack_exists(self, env: str) -> bool:
        found = self.topology.env(env)
        return aws.describe_stack(found.stack_name, found.region) is not None

    def check_deployable(self, env: str) -> None:
        stacks.check_deployable(self.topology.env(env))

    def build(self, release: str, fresh: bool) -> None:
        """`sam build` of the release, once per rollout; a resumed rollout deploys the build it made."""
        self._build = (None if fresh else build.existing(self.topology, release)) or build.sam_build(
            self.topology, release)

    def deploy(self, env: str, parameters: dict[str, str], release: str) -> None:
        target = self.topology.env(env)
        if target.kind == "region":
            self.endpoints.serve(target.name, target.region)  # a new region on the local cloud: its API
        template = self._build.template if target.kind == "region" and self._build else None
        stacks.sam_deploy(self.topology, target, parameters, release, template)

    def deployed_code(self, env: str) -> dict[str, str]:
        return build.deployed_code(self.topology.env(env))

    def wait_settled(self, env: str) -> str:
        found = self.topology.env(env)
        return stacks.wait_settled(found.region, found.stack_name)

    def publish_site(self, routed: list[str]) -> list[str]:
        return site.publish(self.topology, self.endpoints, routed)

    def serving(self) -> dict[str, bool]:
        return routing.serving(self.topology)

    def drain(self, env: str) -> bool:
        # Its weight comes back after the deploy, so a traffic shift survives a rollout.
        weight = routing.weights(self.topology).get(env)
        if weight:
            self._drained_from[env] = weight
        return routing.set_weight(self.topology, env, 0)

    def restore_traffic(self, env: str) -> bool:
        weight = self._drained_from.pop(env, None) or routing.serving_weight(self.topology, env)
        return routing.set_weight(self.topology, env, weight)

    def wait_observed(self, env: str, drained: bool) -> float:
        return routing.wait_observed(self.topology, self.endpoints, env, drained=drained)

    def api(self, env: str) -> RegionApi | None:
        return regions.region_api(self.topology.env(env))

    def healthy(self, env: str) -> bool:
        return regions.health_problem(self.endpoints, self.topology.env(env)) is None

    def gate_health(self, api: RegionApi, release: str, timeout: float) -> float:
        return gates.health(self.endpoints, api, release, timeout)

    def gate_smoke(self, api: RegionApi, release: str) -> str:
        return gates.smoke(self.endpoints, api, release)

    def gate_replication(self, api: RegionApi, other: RegionApi, item_id: str, release: str) -> float:
        return gates.replication(self.endpoints, api, other, item_id, release)

    def write_item(self, api: RegionApi, item_id: str, release: str) -> None:
        gates.smoke(self.endpoints, api, release, item_id)

    def remove_item(self, api: RegionApi, item_id: str) -> bool:
        return gates.remove(self.endpoints, api, item_id)

    def gate_alarms(self, api: RegionApi, bake_seconds: float, traffic_rps: float = 0.0) -> int:
        with bake_traffic.probing(self.endpoints, api, traffic_rps):
            return gates.alarms_quiet(api, bake_seconds)

    def bake_minimum(self, api: RegionApi) -> AlarmBound | None:
        return alarm_minimum(self.endpoints, api.region, api.alarms)

    def gate_table(self, env: str) -> None:
        table = self.topology.env(env)
        name = self.parameters(env).get("TableName") or table.parameters.get("TableName")
        gates.table(table.region, name, {e.region for e in self.topology.regions})

    def restore(self, snapshot: Snapshot) -> None:
        stacks.restore(snapshot)


def alarm_minimum(endpoints: Endpoints, region: str, alarms: list[str]) -> AlarmBound | None:
    """The largest bound of these deployed alarms, on AWS or on the local cloud (its period scale)."""
    if not alarms:
        return None
    scale = float((endpoints.state or {}).get("alarm_period_scale", 1.0))
    return minimum(gates.describe_alarms(region, alarms), scale, local=endpoints.local)
