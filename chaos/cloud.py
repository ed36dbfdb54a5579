"""The local cloud the chaos scenarios run on: a copy of the project, `globalctl.localcloud.start`,
one `globalctl rollout`, the replicas read straight from each region's DynamoDB, faults and heal
through the control endpoint. Everything is loopback; `close()` stops every process it started."""

from __future__ import annotations

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
    def __init__(self, health_interval_scale: float, keep: bool = False) -> None:
        self._folder = tempfile.mkdtemp(prefix="chaos-")
        self.project = Path(self._folder)
        self.keep = keep
        project.copy_project(ROOT, self.project)
        self.config = self.project / "samconfig.toml"
        self.topology = topology.load(self.config)
        self.state_dir = localcloud.state_dir(self.project)
        self.state: dict[str, Any] = {}
        try:
            self.state = localcloud.start(self.config, 0, timeout=60, health_interval_scale=health_interval_scale)
        except BaseException:
            self.close()
            raise

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
