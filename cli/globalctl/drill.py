"""A failover drill: traffic through the global entry from several client locations, a region taken
out (drained through the routing stack, or an outage on the local cloud), the failover measured
from the traffic itself, the region restored, and every write of the drill read back everywhere.

Timeline (seconds since the traffic started):

    0 ........ T0 = baseline ............................ end = duration ...... restored
    baseline   disruption (drain or outage)                restore (weight / heal)

- failover time: the last request sent at or after T0 that was still routed to the region, minus
  T0 (0 when none was). The failover window is [T0, T0 + failover + WINDOW_GRACE_SECONDS]; errors
  are counted inside it and after it (up to the restore), separately.
- restored time: from the restore until a request from the region's own location is routed to
  it again with a 2xx (bounded by RESTORE_TIMEOUT_SECONDS).

An outage fails over only when Route 53 sees it: FailureThreshold consecutive failed checks, one
every RequestInterval ("How Amazon Route 53 determines whether a health check is healthy",
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html).
A drain is a routing stack update: on AWS clients see it after the record TTL, locally at once.

On AWS there is no entry URL to call without DNS: `--entry https://<RecordName>` sends the traffic
to the routed name (X-Client-Location is then only a label: AWS routes by where this machine is),
and the region serving a request is read from the API's x-served-by-region header.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from globalctl.endpoints import Endpoints, Response
from globalctl.endpoints import http as send
from globalctl.exceptions import GlobalctlError, UsageError

MODES = ("drain", "outage")
MIN_BASELINE_SECONDS = 2.0
BASELINE_SHARE = 0.2
WINDOW_GRACE_SECONDS = 1.0
MIN_OBSERVED_AFTER_SECONDS = 2.0  # traffic keeps going this long after a slow drain, whatever --duration says
RESTORE_TIMEOUT_SECONDS = 120.0  # AWS: a health check back to healthy (up to 10 x 30 s) or a record TTL
VERIFY_BOUND_SECONDS = 15.0
VERIFY_WORKERS = 8
REQUEST_TIMEOUT_SECONDS = 5.0
POLL_SECONDS = 0.1
STATE_DIR = Path(".globalctl") / "drills"
ROUTED_TO = "x-routed-to"  # the local global entry's answer: the region Route 53 picked
SERVED_BY = "x-served-by-region"  # the API's own answer, on AWS as locally

# Client locations near a region, besides the region itself: the clients of a region's users.
NEARBY = {
    "us-east-1": "us-east-2", "us-east-2": "us-east-1", "us-west-1": "us-west-2", "us-west-2": "us-west-1",
    "ca-central-1": "us-east-1", "sa-east-1": "us-east-1", "eu-west-1": "eu-west-2", "eu-west-2": "eu-west-1",
    "eu-west-3": "eu-central-1", "eu-central-1": "eu-west-3", "eu-north-1": "eu-central-1",
    "eu-south-1": "eu-central-1", "ap-southeast-1": "ap-southeast-3", "ap-southeast-2": "ap-southeast-4",
    "ap-northeast-1": "ap-northeast-3", "ap-northeast-2": "ap-northeast-1", "ap-south-1": "ap-south-2",
    "me-central-1": "me-south-1", "af-south-1": "eu-west-1",
}


# --- measuring (pure) --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestRecord:
    at: float  # when it was sent, seconds since the traffic started
    location: str  # X-Client-Location
    method: str
    status: int  # 0: no HTTP answer (refused, reset, timed out)
    routed_to: str | None  # AWS region that served (or was picked to serve) it
    item_id: str | None = None  # writes answered 2xx
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Share:
    requests: int
    failed: int

    @classmethod
    def of(cls, records: list[RequestRecord]) -> Share:
        return cls(len(records), sum(1 for r in records if not r.ok))

    @property
    def share(self) -> float:
        return self.failed / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "failed": self.failed, "share": round(self.share, 4)}


@dataclass(frozen=True)
class Measurement:
    baseline: Share
    baseline_to_region: int
    failover_seconds: float
    window_end: float
    during: Share
    after: Share
    restore: Share
    restored_seconds: float | None
    routed_after_t0: dict[str, int]


def failover_seconds(records: list[RequestRecord], region: str, t0: float, until: float = float("inf")) -> float:
    """The last request sent in [t0, until) still routed to region, minus t0; 0 when none was."""
    last = max((r.at for r in records if t0 <= r.at < until and r.routed_to == region), default=t0)
    return last - t0


def restored_seconds(records: list[RequestRecord], region: str, restore_started: float,
                     location: str | None) -> float | None:
    """From the restore until the first 2xx from `location` (None: any) routed to region again."""
    back = [r.at for r in records if r.at >= restore_started and r.ok and r.routed_to == region
            and (location is None or r.location == location)]
    return min(back) - restore_started if back else None


def measure(records: list[RequestRecord], region: str, t0: float, restore_started: float,
            location: str | None) -> Measurement:
    before = [r for r in records if r.at < t0]
    drilled = [r for r in records if t0 <= r.at < restore_started]
    failover = failover_seconds(drilled, region, t0)
    window_end = t0 + failover + WINDOW_GRACE_SECONDS
    return Measurement(
        baseline=Share.of(before),
        baseline_to_region=sum(1 for r in before if r.routed_to == region),
        failover_seconds=failover,
        window_end=window_end,
        during=Share.of([r for r in drilled if r.at <= window_end]),
        after=Share.of([r for r in drilled if r.at > window_end]),
        restore=Share.of([r for r in records if r.at >= restore_started]),
        restored_seconds=restored_seconds(records, region, restore_started, location),
        routed_after_t0=dict(Counter(r.routed_to or "none" for r in drilled)),
    )


def problems(env: str, m: Measurement, acknowledged: int, missing: int) -> list[str]:
    """Why the drill failed; empty when it passed."""
    found = []
    if m.baseline_to_region == 0:
        found.append(f"no request reached {env} before the disruption: there was nothing to fail over")
    if m.after.requests == 0:
        found.append(f"requests still reached {env} {m.failover_seconds:.1f} s after T0, too close to the "
                     f"end of the drill to call it failed over (a longer --duration?)")
    if m.after.failed:
        found.append(f"{m.after.failed} request(s) failed after the failover window")
    if m.restore.failed:
        found.append(f"{m.restore.failed} request(s) failed while {env} was restored")
    if m.restored_seconds is None:
        found.append(f"{env} took no traffic back within {RESTORE_TIMEOUT_SECONDS:.0f} s of the restore")
    if acknowledged == 0:
        found.append("no write succeeded: nothing to verify")
    if missing:
        found.append(f"{missing} of {acknowledged} write(s) not readable in every region "
                     f"within {VERIFY_BOUND_SECONDS:.0f} s")
    return found


def client_locations(drilled_region: str, regions: list[str]) -> list[str]:
    """The drilled region's own location first (client 0 measures the restore), then its neighbour,
    then every other region and its neighbour."""
    ordered = [drilled_region] + [r for r in regions if r != drilled_region]
    locations = list(ordered) + [NEARBY[r] for r in ordered if r in NEARBY]
    near = NEARBY.get(drilled_region)
    if near:
        locations.remove(near)
        locations.insert(1, near)
    return list(dict.fromkeys(locations))


# --- traffic -----------------------------------------------------------------------------------------

def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = REQUEST_TIMEOUT_SECONDS) -> Response:
    return send(method, url, body, headers, timeout)


class Traffic:
    """Client threads sending, each from its location at `rate` requests/s, alternately
    PUT /items/drill-<run id>-<n> and GET /health through the entry."""

    def __init__(self, entry: str, locations: list[str], clients: int, rate: float, run_id: str,
                 host: str | None = None):
        self.entry = entry.rstrip("/")
        self.locations = [locations[i % len(locations)] for i in range(clients)]
        self.interval = 1.0 / rate
        self.run_id = run_id
        self.host = host
        self.written: dict[str, dict[str, Any]] = {}  # item id -> data, for 2xx writes
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._next_item = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started = 0.0

    def start(self) -> None:
        self.started = time.monotonic()
        for index, location in enumerate(self.locations):
            thread = threading.Thread(target=self._client, args=(index, location), daemon=True,
                                      name=f"drill-client-{index}")
            self._threads.append(thread)
            thread.start()

    def now(self) -> float:
        return time.monotonic() - self.started

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT_SECONDS + 1)

    def _item(self, location: str) -> tuple[str, dict[str, Any]]:
        with self._lock:
            n = self._next_item
            self._next_item += 1
        return f"drill-{self.run_id}-{n}", {"drill": self.run_id, "n": n, "from": location}

    def _client(self, index: int, location: str) -> None:
        headers = {"X-Client-Location": location, **({"Host": self.host} if self.host else {})}
        # Clients start spread over one interval so their requests interleave.
        next_at = time.monotonic() + self.interval * index / max(1, len(self.locations))
        write = True
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += self.interval
            sent = self.now()
            if write:
                item_id, data = self._item(location)
                response = http("PUT", f"{self.entry}/items/{item_id}", {"data": data}, headers)
            else:
                item_id, data = None, None
                response = http("GET", f"{self.entry}/health", None, headers)
            record = RequestRecord(sent, location, "PUT" if write else "GET", response.status,
                                   response.headers.get(ROUTED_TO) or response.headers.get(SERVED_BY),
                                   item_id if 200 <= response.status < 300 else None, self.now() - sent)
            with self._lock:
                self._records.append(record)
                if record.item_id:
                    self.written[record.item_id] = data  # type: ignore[assignment]
            write = not write
            next_at = max(next_at, time.monotonic())  # a slow answer does not cause a burst after it


# --- disruptions -------------------------------------------------------------------------------------

class Drain:
    """Weight 0 through the routing stack; restore puts the weight the region had back."""

    def __init__(self, topology: Any, env: str, weight: int):
        self.topology, self.env, self.weight = topology, env, weight

    def apply(self) -> None:
        from globalctl import routing

        routing.set_weight(self.topology, self.env, 0)

    def restore(self) -> None:
        from globalctl import routing

        routing.set_weight(self.topology, self.env, self.weight)


class Outage:
    """The local cloud's outage fault: the region's API and health endpoint drop every connection."""

    def __init__(self, config_path: Path, env: str):
        from globalctl.localcloud import LocalCloudContext

        self.cloud, self.env = LocalCloudContext(config_path), env

    def apply(self) -> None:
        self.cloud.call("fault", {"env": self.env, "kind": "outage"})

    def restore(self) -> None:
        self.cloud.call("heal", {"env": self.env})


@contextlib.contextmanager
def _shielded(say: Callable[[str], None], message: str = "restoring first; the drill stops right after") -> Iterator[None]:
    """Ctrl-C must not cut a routing change short: a restore cut short leaves the region out of the
    routing, and a drain cut short is a stack update still landing while the restore reads the
    weights (it would see nothing to restore). It is held until the change is done, then raised."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    interrupted = []

    def hold(*_: object) -> None:
        interrupted.append(True)
        say(f"  {message}")

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt


# --- verification ------------------------------------------------------------------------------------

def verify_writes(endpoints: Endpoints, apis: list[Any], written: dict[str, dict[str, Any]],
                  bound: float = VERIFY_BOUND_SECONDS) -> list[str]:
    """Item ids not readable, with the data written, through every region's own API within bound."""
    pending = {(item_id, index) for item_id in written for index in range(len(apis))}
    deadline = time.monotonic() + bound

    def readable(pair: tuple[str, int]) -> bool:
        item_id, index = pair
        api = apis[index]
        timeout = max(0.5, min(REQUEST_TIMEOUT_SECONDS, deadline - time.monotonic()))
        response = endpoints.request("GET", api.endpoint, api.region, f"/items/{item_id}", timeout=timeout)
        return response.status == 200 and (response.json() or {}).get("data") == written[item_id]

    with ThreadPoolExecutor(VERIFY_WORKERS, thread_name_prefix="drill-verify") as pool:
        while pending:
            order = sorted(pending)
            pending -= {pair for pair, ok in zip(order, pool.map(readable, order)) if ok}
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    return sorted({item_id for item_id, _ in pending})


# --- the drill ---------------------------------------------------------------------------------------

@dataclass
class Options:
    env: str
    duration: float = 30.0
    mode: str = "drain"
    clients: int = 6
    rate: float = 5.0  # requests per second per client
    entry: str | None = None


@dataclass
class Setup:
    """What the preconditions found: where to send traffic and what to read back from."""

    region: str
    entry: str
    host: str | None
    local: bool
    weight: int
    apis: list[Any] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)


def _check(context: Any, options: Options, endpoints: Endpoints) -> Setup:
    from globalctl import aws
    from globalctl import gates, regions, routing

    topology = context.topology
    env = topology.env(options.env)
    if env.kind != "region":
        raise UsageError(f"{options.env} is the {env.kind} stack, not a region: drill a region env "
                         f"({', '.join(e.name for e in topology.regions)})")
    if options.mode not in MODES:
        raise UsageError(f"unknown --mode {options.mode!r}; choose drain or outage")
    if options.mode == "outage" and not endpoints.local:
        raise UsageError("--mode outage needs the local cloud (it injects the outage); use --mode drain on AWS")
    entry = options.entry or (endpoints.state["global_url"] if endpoints.state else None)
    if not entry:
        raise GlobalctlError("drills need the local cloud's global entry, or --entry URL")
    weights = routing.weights(topology)  # RoutingMissing: the routing stack is not deployed
    if weights[env.name] == 0:
        raise GlobalctlError(f"{env.name} is drained already: restore it before a drill")
    apis = []
    for region_env in topology.regions:
        outputs = {o["OutputKey"]: o["OutputValue"]
                   for o in (aws.describe_stack(region_env.stack_name, region_env.region) or {}).get("Outputs", [])}
        if "ApiEndpoint" not in outputs:
            raise GlobalctlError(f"{region_env.name}: the region stack {region_env.stack_name} is not deployed "
                                 f"in {region_env.region} (no ApiEndpoint output)")
        apis.append(regions.RegionApi(region_env.name, region_env.region, outputs["ApiEndpoint"]))
    healthy_others = [api.env for api in apis if api.env != env.name and weights.get(api.env, 0) > 0
                      and endpoints.request("GET", api.endpoint, api.region, "/health", timeout=5).status == 200]
    if not healthy_others:
        raise GlobalctlError(f"no other region serves and is healthy: "
                             f"taking {env.name} out would take the service down")
    host = None
    if endpoints.local:
        fault = _local_faults(context.config_path).get(env.name)
        if fault:
            raise GlobalctlError(f"{env.name} has a {fault} fault already: `globalctl local heal {env.name}` first")
        if not options.entry:
            # The entry routes by Host, as Route 53 answers for the name clients resolve.
            routing = topology.routing
            host = aws.stack_parameters(routing.stack_name, routing.region).get("RecordName") or None
    return Setup(region=env.region, entry=entry, host=host, local=endpoints.local, weight=weights[env.name],
                 apis=apis, locations=client_locations(env.region, [e.region for e in topology.regions]))


def _local_faults(config_path: Path) -> dict[str, str | None]:
    from globalctl.localcloud import LocalCloudContext

    return {env: info.get("fault") for env, info in LocalCloudContext(config_path).status()["regions"].items()}


def run(context: Any, options: Options, say: Callable[[str], None]) -> dict[str, Any]:
    """Run the drill; the report (a JSON-ready dict with `ok` and `problems`)."""
    endpoints = Endpoints(context.config_path)
    setup = _check(context, options, endpoints)
    disruption = (Outage(context.config_path, options.env) if options.mode == "outage"
                  else Drain(context.topology, options.env, setup.weight))
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)
    baseline = max(MIN_BASELINE_SECONDS, BASELINE_SHARE * options.duration)
    load = Traffic(setup.entry, setup.locations, options.clients, options.rate, run_id, setup.host)
    # Locally the entry routes by X-Client-Location; on AWS by where this machine is, so any client counts.
    own_location = setup.region if setup.local else None
    say(f"drill {run_id}: {options.mode} {options.env} ({setup.region}) for {options.duration:.0f} s, "
        f"{options.clients} client(s) at {options.rate:g} req/s through {setup.entry}")
    applied = restored = False
    t0 = restore_started = 0.0
    try:
        load.start()
        _wait_until(load, baseline)
        t0 = load.now()
        say(f"  T0 {t0:.1f} s: {'draining' if options.mode == 'drain' else 'outage of'} {options.env}")
        applied = True  # before apply(): a half-done drain is undone too
        with _shielded(say, f"finishing the change to {options.env}, then restoring it"):
            disruption.apply()
        _wait_until(load, max(options.duration, load.now() + MIN_OBSERVED_AFTER_SECONDS))
        restore_started = load.now()
        say(f"  {restore_started:.1f} s: restoring {options.env}")
        with _shielded(say):
            disruption.restore()
        restored = True
        deadline = time.monotonic() + RESTORE_TIMEOUT_SECONDS
        while (restored_seconds(load.records(), setup.region, restore_started, own_location) is None
               and time.monotonic() < deadline):
            time.sleep(POLL_SECONDS)
    finally:
        load.stop()
        if applied and not restored:
            say(f"  restoring {options.env}")
            with _shielded(say):
                disruption.restore()
    records = load.records()
    m = measure(records, setup.region, t0, restore_started, own_location)
    say(f"  verifying {len(load.written)} write(s) in {len(setup.apis)} region(s)")
    missing = verify_writes(endpoints, setup.apis, load.written)
    found = problems(options.env, m, len(load.written), len(missing))
    return {
        "env": options.env, "region": setup.region, "mode": options.mode, "run_id": run_id,
        "entry": setup.entry, "duration_s": options.duration, "clients": options.clients, "rate": options.rate,
        "locations": load.locations, "t0_s": round(t0, 3), "restore_started_s": round(restore_started, 3),
        "requests": len(records), "baseline": {**m.baseline.to_dict(), "to_region": m.baseline_to_region},
        "failover_s": round(m.failover_seconds, 3), "window_end_s": round(m.window_end, 3),
        "during_window": m.during.to_dict(), "after_window": m.after.to_dict(),
        "routed_after_t0": m.routed_after_t0,
        "restore": {**m.restore.to_dict(), "restored_s": None if m.restored_seconds is None
                    else round(m.restored_seconds, 3)},
        "writes": {"acknowledged": len(load.written), "verified": len(load.written) - len(missing),
                   "missing": missing, "regions": [api.env for api in setup.apis],
                   "bound_s": VERIFY_BOUND_SECONDS},
        "ok": not found, "problems": found,
        "records": [asdict(r) for r in records],
    }


def _wait_until(load: Traffic, at: float) -> None:
    """Let the traffic run until `at` seconds after it started (the pacing of the drill, not a
    condition: nothing is being waited for)."""
    while (left := at - load.now()) > 0:
        time.sleep(min(POLL_SECONDS, left))


def save_report(config_path: Path, report: dict[str, Any]) -> Path:
    """.globalctl/drills/<env>-<UTC stamp>.json beside samconfig."""
    from globalctl.inputs import inside

    folder = config_path.resolve().parent / STATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    # The env is a samconfig name: checked as a plain file name before it is joined to a path.
    path = inside(folder, (f"{report['env']}-{report['run_id'].split('-')[0]}.json", "drill report"))
    if path.exists():  # two drills in one second
        path = inside(folder, (f"{report['env']}-{report['run_id']}.json", "drill report"))
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(report, indent=2))
    partial.replace(path)
    return path
