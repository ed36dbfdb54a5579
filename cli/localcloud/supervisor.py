"""The local cloud's one background process: the AWS endpoint (moto, patched), each region's API
server, the Lambda workers, the stream pollers, replication, Route 53 health checkers and the
global entry, and the console (on the endpoint, at /_localcloud/console/). lifecycle.up starts it
(for `globalctl local up`, the tests, chaos and the benchmarks); it writes its state file once
everything listens and stops everything it started on SIGTERM. It is given its regions: it reads
no samconfig.

    python -m localcloud.supervisor --state-dir <dir> --base-port 4610 \
        --region euw1=eu-west-1 --region use1=us-east-1 --home-region eu-west-1
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .lifecycle import STATE_FILE, Layout

ACCOUNT_ID = "123456789012"  # moto's default account: every local resource lives in it
log = logging.getLogger("localcloud")


class LocalCloud:
    def __init__(self, state_dir: Path, regions: dict[str, str], home_region: str, base_port: int,
                 health_interval_scale: float = 1.0, alarm_period_scale: float = 1.0,
                 records_dir: Path | None = None, containers: bool = False,
                 container_gateway: str | None = None):
        self.state_dir = state_dir
        self.containers = containers
        self.container_gateway = container_gateway
        # Where globalctl keeps history.json and drills/ (the console shows them): beside the state
        # dir, as globalctl keeps its state in .globalctl/local and its records in .globalctl/.
        self.records_dir = records_dir if records_dir is not None else state_dir.parent
        self.health_interval_scale = health_interval_scale
        self.alarm_period_scale = alarm_period_scale
        self.regions = regions
        self.home_region = home_region
        self.base_port = base_port
        self.ports = Layout(base_port, regions).ports()
        self._stopped = threading.Event()
        self._regions_lock = threading.Lock()
        self._parts: list[Any] = []

    def start(self) -> dict[str, Any]:
        from .apigatewayv2.wiring import ApiCatalog, FunctionInvoker, start_servers
        from .awslambda.event_source_mappings.wiring import StreamMappings
        from .awslambda.wiring import Functions, register_public_layers
        from .aws_endpoint import AwsEndpoint
        from .cloudwatch import metrics
        from .cloudwatch.evaluation import AlarmEvaluator
        from .logs.delivery import LogDelivery
        from .console import register_console
        from .control_api import register_control
        from .dynamodb import patch as dynamodb_patch
        from .faults import FaultBoard
        from .hooks import hooks
        from .route53.entry import GlobalEntry
        from .route53.wiring import Dns

        self.endpoint = AwsEndpoint(port=self.ports.get("endpoint", 0), containers=self.containers,
                                    container_gateway=self.container_gateway)
        self._parts.append(self.endpoint)
        hooks.endpoint_url = self.endpoint.url
        hooks.publish_metric = metrics.publish
        self.functions = Functions(_worker_env(self.endpoint.url, self.home_region), self.state_dir,
                                   publish=metrics.publish,
                                   deliver_log=LogDelivery(ACCOUNT_ID, metrics.publish).deliver)
        self._parts.append(self.functions)
        hooks.invoke = self.functions.invoke
        hooks.function_changed = self.functions.changed
        hooks.function_deleted = self.functions.deleted

        self.streams = StreamMappings(ACCOUNT_ID, sorted(set(self.regions.values())), self.functions.invoke,
                                      metrics.publish)
        self._parts.append(self.streams)
        hooks.event_source_mappings_changed = lambda _account, _region: self.streams.sync()
        hooks.stream_record_added = self.streams.notify

        self.faults = FaultBoard(self.regions, dynamodb_patch.set_cut)
        self.catalog = ApiCatalog(ACCOUNT_ID)
        self.api_servers = start_servers(self.regions, self.ports, self.catalog,
                                         FunctionInvoker(self.functions.invoke), self.faults, metrics.publish)
        self._parts.extend(self.api_servers.values())
        region_ports = {self.regions[env]: server.port for env, server in self.api_servers.items()}

        self.dns = Dns(ACCOUNT_ID, region_ports, self.health_interval_scale, metrics.publish)
        self._parts.append(self.dns)
        hooks.health_observations = self.dns.observations
        hooks.routing_changed = self.dns.changed
        self.dns.start()
        self.entry = GlobalEntry("127.0.0.1", self.ports.get("global", 0), resolve=self.dns.answer_for_entry,
                                 upstream=self.dns.upstream, default_location=self.home_region)
        self.entry.start()
        self._parts.append(self.entry)

        # us-east-1 too: Route 53's metrics and alarms live there whichever regions are served.
        self.alarms = AlarmEvaluator(ACCOUNT_ID, {*self.regions.values(), "us-east-1"}, self.alarm_period_scale)
        self._parts.append(self.alarms)
        self.alarms.start()

        register_control(self)
        register_public_layers(self.endpoint)
        register_console(self, self.records_dir, ACCOUNT_ID)
        self.endpoint.start()
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return self.describe()

    def add_region(self, env: str, region: str) -> dict[str, Any]:
        """Serve one more region env without a restart (a region added to a running deployment):
        its API server on the next port of the layout, its stream pollers, health checks, faults and
        alarms, and the state file rewritten. Adding an env already served is a no-op."""
        from .apigatewayv2.wiring import FunctionInvoker, start_servers
        from .cloudwatch import metrics

        with self._regions_lock:
            if self.regions.get(env) == region:
                return self.describe()
            if env in self.regions:
                raise ValueError(f"region env {env!r} is served already, in {self.regions[env]}")
            served = next((e for e, r in self.regions.items() if r == region), None)
            if served is not None:
                raise ValueError(f"{region} is served already, as region env {served!r}")
            ports = Layout(self.base_port, {**self.regions, env: region}).ports()
            server = start_servers({env: region}, ports, self.catalog, FunctionInvoker(self.functions.invoke),
                                   self.faults, metrics.publish)[env]
            self._parts.append(server)
            self.api_servers[env] = server
            self.regions[env] = region  # the fault board shares this mapping
            self.ports = ports
            self.dns.region_ports[region] = server.port
            self.streams.add_region(region)
            self.alarms.regions = sorted({*self.alarms.regions, region})
            state = self.describe()
            _write_state(self.state_dir, state)
            log.info("now serving %s (%s) on port %d", env, region, server.port)
            return state

    @property
    def console_url(self) -> str:
        from .console import CONSOLE_PATH

        return self.endpoint.url + CONSOLE_PATH

    def describe(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "ready": True,
            "started_at": self.started_at,
            "endpoint": self.endpoint.url,
            "container_endpoint": self.endpoint.container_url,
            "global_url": self.entry.url,
            "console_url": self.console_url,
            "home_region": self.home_region,
            "account_id": ACCOUNT_ID,
            "health_interval_scale": self.health_interval_scale,
            "alarm_period_scale": self.alarm_period_scale,
            "regions": {env: {"region": region, "api_url": self.api_servers[env].url}
                        for env, region in self.regions.items()},
            "ports": {"endpoint": self.endpoint.port, "global": self.entry.port,
                      **{env: server.port for env, server in self.api_servers.items()}},
        }

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        from .dynamodb import patch as dynamodb_patch

        for part in reversed(self._parts):
            closer = getattr(part, "stop", None) or getattr(part, "close", None)
            try:
                closer()
            except Exception:  # noqa: BLE001 - stop the rest regardless
                log.exception("stopping %s failed", type(part).__name__)
        for group in list(dynamodb_patch.GROUPS.values()):
            group.close()


def _worker_env(endpoint: str, home_region: str) -> dict[str, str]:
    """What every Lambda worker starts from: the local endpoint and dummy credentials only."""
    keep = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR") if k in os.environ}
    return {**keep, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_TRACE_DISABLED": "true", "PYTHONUNBUFFERED": "1",
            "LOCALCLOUD_HOME_REGION": home_region}


def _write_state(state_dir: Path, state: dict[str, Any]) -> None:
    target = state_dir / STATE_FILE
    partial = target.with_suffix(".tmp")
    partial.write_text(json.dumps(state, indent=2))
    partial.replace(target)  # readers never see half a file


def _region_env(value: str) -> tuple[str, str]:
    env, _, region = value.partition("=")
    if not env or not region:
        raise argparse.ArgumentTypeError(f"{value!r} is not ENV=AWS_REGION")
    return env, region


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localcloud.supervisor")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--region", dest="regions", action="append", type=_region_env, required=True,
                        metavar="ENV=AWS_REGION", help="a region env to serve, in canary-first order; repeat")
    parser.add_argument("--home-region", help="where the cloud's own calls come from (default: the first region)")
    parser.add_argument("--base-port", type=int, default=0)
    # Health checkers probe at the deployed RequestInterval times this; tests use < 1 to fail over fast.
    parser.add_argument("--health-interval-scale", type=float, default=1.0)
    # Alarm periods last this times their deployed Period (60 s x 0.05 = 3 s): alarms fire in seconds.
    parser.add_argument("--alarm-period-scale", type=float, default=1.0)
    # sam local's containers reach the endpoint as host.docker.internal; on Linux that is the Docker
    # network's gateway address on this machine, where the endpoint then listens too.
    parser.add_argument("--containers", action="store_true")
    parser.add_argument("--container-gateway", default=None)
    parser.add_argument("--records-dir", type=Path, default=None,
                        help="where globalctl writes history.json and drills/ (default: the state dir's parent)")
    args = parser.parse_args(argv)
    args.state_dir = args.state_dir.resolve()  # workers run with their code dir as cwd
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)  # "unpublished metrics" on every transform
    args.state_dir.mkdir(parents=True, exist_ok=True)
    regions = dict(args.regions)
    home = args.home_region or next(iter(regions.values()))
    cloud = LocalCloud(args.state_dir, regions, home, args.base_port, args.health_interval_scale,
                       args.alarm_period_scale, args.records_dir.resolve() if args.records_dir else None,
                       args.containers, args.container_gateway)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        state = cloud.start()
    except (OSError, ValueError) as error:  # a port in use, or a --container-gateway not to listen on
        cloud.stop()
        print(f"cannot start the local cloud: {error}", file=sys.stderr, flush=True)
        return 1
    _write_state(args.state_dir, state)
    log.info("local cloud ready: %s", json.dumps(state))
    done.wait()
    log.info("stopping")
    cloud.stop()
    (args.state_dir / STATE_FILE).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
