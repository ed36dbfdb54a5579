"""The local cloud the chaos scenarios run on: a copy of the project, `globalctl.localcloud.start`,
one `globalctl rollout`, the replicas read straight from each region's DynamoDB, faults and heal
through the control endpoint. Everything is loopback; `close()` stops every process it started."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config

from globalctl import localcloud, topology
from globalctl.endpoints import http
from harness import project
from localcloud import lifecycle

ROOT = Path(__file__).resolve().parents[1]
ROLLOUT = ("--yes", "--bake", "0", "--gate-timeout", "10", "--skip-validate")


class ChaosSetupFailed(Exception):
    pass


class ChaosCloud:
    def __init__(self, health_interval_scale: float, keep: bool = False, alarm_period_scale: float = 1.0) -> None:
        self._folder = tempfile.mkdtemp(prefix="chaos-")
        self.project = Path(self._folder)
        self.keep = keep
        project.copy_project(ROOT, self.project)
        self.config = self.project / "samconfig.toml"
        self.topology = topology.load(self.config)
        self.state_dir = localcloud.state_dir(self.project)
        self.state: dict[str, Any] = {}
        try:
            self.state = localcloud.start(self.config, 0, timeout=60, health_interval_scale=health_interval_scale,
                                          alarm_period_scale=alarm_period_scale)
        except BaseException:
            self.close()
            raise
        # This process too talks to the local cloud only: anything in it that builds an AWS client
        # from the environment (globalctl's helpers do) gets the loopback endpoint and dummy keys.
        os.environ.update(lifecycle.client_environment(self.state))

    @property
    def env(self) -> dict[str, str]:
        return lifecycle.process_environment(self.state)

    def rollout(self, release: str) -> None:
        globalctl = Path(sys.executable).with_name("globalctl")
        command = [str(globalctl), "--config", str(self.config), "rollout", "--release", release, *ROLLOUT]
        result = subprocess.run(command, cwd=self.project, env=self.env, capture_output=True, text=True,
                                timeout=900, check=False)
        if result.returncode != 0:
            raise ChaosSetupFailed(f"globalctl rollout failed ({result.returncode}):\n"
                                   f"{result.stdout[-3000:]}\n{result.stderr[-2000:]}")

    def rollout_default(self, release: str, canary: str) -> dict[str, Any]:
        """`globalctl rollout` as an operator runs it (the default bake): its exit and failure reason."""
        globalctl = Path(sys.executable).with_name("globalctl")
        command = [str(globalctl), "--config", str(self.config), "rollout", "--release", release, "--canary", canary,
                   "--yes", "--skip-validate", "--gate-timeout", "10"]
        result = subprocess.run(command, cwd=self.project, env=self.env, capture_output=True, text=True,
                                timeout=900, check=False)
        reason = next((line.strip() for line in result.stdout.splitlines() if "alarms gate" in line), "")
        return {"exit": result.returncode, "reason": reason, "output": result.stdout[-3000:] + result.stderr[-1000:]}

    def add_region(self, env: str, region: str, release: str) -> dict[str, Any]:
        """A region added as a user adds one: an environment block like the first region's, then
        `globalctl rollout`; its exit and output. The cloud's state then serves it too."""
        first = self.topology.regions[0]
        text = self.config.read_text()
        block = re.search(rf"\[{first.name}\.deploy\.parameters\][^\[]*", text)
        if block is None:
            raise ChaosSetupFailed(f"no [{first.name}.deploy.parameters] block to copy in {self.config}")
        added = block.group(0).replace(f"[{first.name}.", f"[{env}.").replace(f'region = "{first.region}"',
                                                                             f'region = "{region}"')
        self.config.write_text(text.replace("[routing.deploy.parameters]", added + "[routing.deploy.parameters]"))
        globalctl = Path(sys.executable).with_name("globalctl")
        command = [str(globalctl), "--config", str(self.config), "rollout", "--release", release, *ROLLOUT]
        result = subprocess.run(command, cwd=self.project, env=self.env, capture_output=True, text=True,
                                timeout=900, check=False)
        self.topology = topology.load(self.config)
        self.state = lifecycle.running_state(self.state_dir) or self.state
        return {"exit": result.returncode, "output": result.stdout[-3000:] + result.stderr[-1000:]}

    def route_by(self, policy: str) -> None:
        """Declare a routing policy in samconfig's routing environment and deploy the routing as a
        user does: sam deploy --config-env routing --parameter-overrides "$(globalctl params routing)"."""
        text = self.config.read_text()
        declared = re.sub(r'(\[routing\.deploy\.parameters\][^\[]*?parameter_overrides = "RoutingMode=[a-z-]+)',
                          lambda m: f"{m.group(1)} {policy}", text, count=1)
        if declared == text:
            raise ChaosSetupFailed(f"no routing parameter_overrides to declare {policy!r} in {self.config}")
        self.config.write_text(declared)
        self.topology = topology.load(self.config)
        bin_dir = Path(sys.executable).parent
        params = subprocess.run([str(bin_dir / "globalctl"), "--config", str(self.config), "params", "routing"],
                                cwd=self.project, env=self.env, capture_output=True, text=True, timeout=120, check=False)
        deployed = params if params.returncode != 0 else subprocess.run(
            [str(bin_dir / "sam"), "deploy", "--config-file", str(self.config), "--config-env", "routing",
             "--parameter-overrides", params.stdout.strip()],
            cwd=self.project, env=self.env, capture_output=True, text=True, timeout=300, check=False)
        if deployed.returncode != 0:
            raise ChaosSetupFailed(f"deploying the routing with {policy!r} failed ({deployed.returncode}):\n"
                                   f"{deployed.stdout[-3000:]}\n{deployed.stderr[-2000:]}")

    def releases(self) -> dict[str, str | None]:
        """Each region's release as its own /health reports it."""
        found = {}
        for env, info in self.state["regions"].items():
            answer = http("GET", f"{info['api_url']}/health")
            found[env] = (answer.json() or {}).get("release") if answer.status == 200 else None
        return found

    def _region_alarms(self, region: str) -> list[dict[str, Any]]:
        # Through this cloud's own clients (its endpoint, dummy credentials): globalctl's helpers
        # read the process environment, which here names no endpoint.
        env = next(e for e in self.topology.regions if e.region == region)
        stack = self.client("cloudformation", region).describe_stacks(StackName=env.stack_name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        names = [n for n in outputs.get("AlarmNames", "").split(",") if n]
        cloudwatch = self.client("cloudwatch", region)
        return [alarm for start in range(0, len(names), 100)  # DescribeAlarms takes 100 names a call
                for alarm in cloudwatch.describe_alarms(AlarmNames=names[start:start + 100])["MetricAlarms"]]

    def alarm_fired_at(self, region: str, logical_name: str) -> float | None:
        """When the region's alarm (by its logical name) last went to ALARM, epoch seconds."""
        cloudwatch = self.client("cloudwatch", region)
        for alarm in self._region_alarms(region):
            if logical_name not in alarm["AlarmName"]:
                continue
            items = cloudwatch.describe_alarm_history(AlarmName=alarm["AlarmName"], HistoryItemType="StateUpdate")
            fired = [i["Timestamp"] for i in items["AlarmHistoryItems"] if i["HistorySummary"].endswith("to ALARM")]
            return max(fired).timestamp() if fired else None
        return None

    def alarm_bound(self, env: str, logical_name: str) -> float:
        """How long the region's alarm (by its logical name) may take to fire, as globalctl derives
        a bake's minimum from it (globalctl.bake)."""
        from globalctl import bake

        alarms = [a for a in self._region_alarms(self.region_of(env)) if logical_name in a["AlarmName"]]
        bound = bake.minimum(alarms, float(self.state.get("alarm_period_scale", 1.0)), local=True)
        return float(bound.seconds) if bound else 0.0

    @property
    def entry_url(self) -> str:
        return self.state["global_url"]

    def region_of(self, env: str) -> str:
        return self.state["regions"][env]["region"]

    def client(self, service: str, region: str) -> Any:
        # Dummy credentials, explicitly: the local cloud never checks them and nothing real is used.
        return boto3.client(service, region_name=region, endpoint_url=self.state["endpoint"],
                            aws_access_key_id="testing", aws_secret_access_key="testing", aws_session_token="testing",
                            config=Config(retries={"mode": "standard", "max_attempts": 3}))

    def table_name(self) -> str:
        table = self.topology.table
        stack = self.client("cloudformation", table.region).describe_stacks(StackName=table.stack_name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return outputs["GlobalTableName"]

    def replica(self, region: str, table: str) -> dict[str, dict[str, Any]]:
        """Every item of one region's replica, as plain Python values, by id."""
        deserializer = TypeDeserializer()
        items: dict[str, dict[str, Any]] = {}
        for page in self.client("dynamodb", region).get_paginator("scan").paginate(TableName=table,
                                                                                   ConsistentRead=True):
            for raw in page["Items"]:
                item = {k: deserializer.deserialize(v) for k, v in raw.items()}
                items[str(item["id"])] = item
        return items

    def health_checks(self) -> list[dict[str, Any]]:
        """The deployed Route 53 health checks' configs (interval and failure threshold)."""
        route53 = self.client("route53", "us-east-1")
        return [check["HealthCheckConfig"] for check in route53.list_health_checks()["HealthChecks"]]

    def fault(self, env: str, kind: str) -> None:
        self._control("fault", {"env": env, "kind": kind})

    def heal(self, env: str = "all") -> None:
        self._control("heal", {"env": env})

    def _control(self, name: str, body: dict[str, Any]) -> None:
        response = http("POST", f"{self.state['endpoint']}/_localcloud/{name}", body)
        if response.status != 200:
            raise ChaosSetupFailed(f"{name} {body} failed: {response.status} {response.body[:300]!r}")

    def close(self) -> None:
        try:
            lifecycle.down(self.state_dir)
        except lifecycle.LocalCloudError:
            pass
        if not self.keep:
            shutil.rmtree(self._folder, ignore_errors=True)
