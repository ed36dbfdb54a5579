"""`globalctl region remove <env>`: a region retired from a running deployment, step by step.

1. drain: its routing weight 0, while another healthy region serves, seen in the routing;
2. unroute: the routing stack deployed without it (its record and health check go);
3. settle stream: wait until the region's stream processor has processed its last records (its
   writes, which only it announces): no batch for two metric periods (IteratorAge, one minute on
   AWS, scaled on the local cloud), so no change is left unannounced when its stack goes;
4. keep dead letters: the stream processor's dead-letter queue copied to .globalctl/retired/<env>/
   (the queue itself is kept too: DeletionPolicy Retain in regional/stream.yaml);
5. delete stack: the regional stack deleted (its log groups and queue are kept, its key scheduled
   for deletion after KMS's waiting period);
6. unprotect replica: the table stack deployed with RetiringRegion=<region>, so that replica alone
   loses deletion protection;
7. remove replica: the table stack deployed without the region; DynamoDB deletes that replica.

Every step is idempotent and recorded in .globalctl/retirements/<env>.json, so an interrupted or
failed retirement is resumed by running the command again; until the last step it can be undone
(`--undo`: the region routed and serving again, or, once its stack is gone, `globalctl rollout`
after `--undo` clears the record). The user's samconfig.toml is never edited: the end says which
block to delete, and until it is deleted a rollout refuses to run (it would add the region back).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from globalctl import aws, regions, routing, stacks, tables
from globalctl.context import Context
from globalctl.endpoints import Endpoints
from globalctl.exceptions import GlobalctlError, UsageError
from globalctl.inputs import region_env
from globalctl.tables import check_replicas_can_change
from globalctl.topology import Environment

STEPS = ("drain", "unroute", "settle stream", "keep dead letters", "delete stack", "unprotect replica",
         "remove replica")
SETTLE_PERIODS = 2  # idle metric periods that mean the stream processor has nothing left
SETTLE_TIMEOUT_SECONDS = 600.0
REPLICA_GONE_TIMEOUT_SECONDS = 600.0
Say = Callable[[str], None]


@dataclass
class Retirement:
    env: str
    region: str
    done: list[str] = field(default_factory=list)
    status: str = "planned"  # planned, in progress, complete, failed, undone
    dead_letters: int | None = None

    @property
    def left(self) -> list[str]:
        return [step for step in STEPS if step not in self.done]

    def describe(self) -> list[str]:
        lines = [f"retire {self.env} ({self.region}):"]
        lines += [f"  {n}. {step}{' (done)' if step in self.done else ''}" for n, step in enumerate(STEPS, 1)]
        return lines


class RetirementRecords:
    def __init__(self, config_path: Path):
        self.root = config_path.resolve().parent / ".globalctl"

    def path(self, env: str) -> Path:
        return self.root / "retirements" / f"{env}.json"

    def load(self, env: str) -> Retirement | None:
        path = self.path(env)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            return Retirement(str(data["env"]), str(data["region"]), [str(s) for s in data.get("done", [])],
                              str(data.get("status", "in progress")), data.get("dead_letters"))
        except (ValueError, KeyError, TypeError) as error:
            raise GlobalctlError(f"{path}: not a retirement record ({error})") from None

    def save(self, retirement: Retirement) -> None:
        path = self.path(retirement.env)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(retirement.__dict__, indent=2))
        partial.replace(path)

    def forget(self, env: str) -> None:
        self.path(env).unlink(missing_ok=True)

    def settle(self, region_envs: set[str]) -> None:
        """A complete retirement whose samconfig block is gone is over: its record goes, so the env
        can be added again later like any new region."""
        for retirement in self.active():
            if retirement.status == "complete" and retirement.env not in region_envs:
                self.forget(retirement.env)

    def active(self) -> list[Retirement]:
        folder = self.root / "retirements"
        found = [self.load(p.stem) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
        return [r for r in found if r is not None and r.status != "undone"]


def refuse_while_retired(context: Context) -> None:
    """A rollout of a topology that still lists a retired (or retiring) region would add it back."""
    records = RetirementRecords(context.config_path)
    records.settle({env.name for env in context.topology.regions})
    for retirement in records.active():
        if retirement.env in {env.name for env in context.topology.regions}:
            what = "was retired" if retirement.status == "complete" else "is being retired"
            raise GlobalctlError(f"{retirement.env} {what} (globalctl region remove): delete its "
                                 f"[{retirement.env}.deploy.parameters] block from {context.config_path.name}"
                                 + ("" if retirement.status == "complete" else
                                    f", or finish or undo it (globalctl region remove {retirement.env} [--undo])"))


def plan(context: Context, env_name: str) -> Retirement:
    """The retirement of env_name, refused (one line) when it would break the deployment."""
    topology = context.topology
    env = region_env(topology, env_name)
    table = topology.table
    if table is not None and table.region == env.region:
        raise UsageError(f"{env.name} is in the home region ({env.region}), where the table stack and the lease "
                         f"live: retiring it first needs a new home (the table stack deployed from another "
                         f"replica region, with the table imported into it), which globalctl does not do")
    if table is not None:
        check_replicas_can_change(context.stack_parameters(table.name), f"retiring {env.name}")
    others = [other.name for other in topology.regions if other.name != env.name]
    if not others:
        raise UsageError(f"{env.name} is the only region: it cannot be retired (globalctl destroy removes everything)")
    existing = RetirementRecords(context.config_path).load(env.name)
    if existing is not None and existing.status not in ("undone",):
        return existing
    try:
        serving = routing.serving(topology)
    except routing.RoutingMissing:
        serving = {}
    if serving and not any(on for name, on in serving.items() if name != env.name):
        raise UsageError(f"{env.name} is the last serving region: retiring it would leave no region serving")
    return Retirement(env.name, env.region)


def execute(context: Context, retirement: Retirement, say: Say) -> Retirement:
    records = RetirementRecords(context.config_path)
    env = context.topology.env(retirement.env)
    retirement.status = "in progress"
    records.save(retirement)
    for step in retirement.left:
        say(f"{env.name}: {step}")
        try:
            detail = _STEPS[step](context, env, retirement)
        except Exception:
            retirement.status = "failed"
            records.save(retirement)
            raise
        if detail:
            say(f"{env.name}: {step}: {detail}")
        retirement.done.append(step)
        records.save(retirement)
    retirement.status = "complete"
    records.save(retirement)
    return retirement


def undo(context: Context, env_name: str, say: Say) -> None:
    """Back to serving, while the region's stack exists; otherwise the record is cleared, so that
    `globalctl rollout` adds the region again."""
    records = RetirementRecords(context.config_path)
    retirement = records.load(env_name)
    if retirement is None or retirement.status == "undone":
        raise UsageError(f"no retirement of {env_name} to undo")
    env = region_env(context.topology, env_name)
    if "unprotect replica" in retirement.done and "remove replica" not in retirement.done:
        say(f"{env.name}: its replica protected again")
        _deploy_table(context, env, keep_replica=True, retiring="")
    if "delete stack" in retirement.done:
        say(f"{env.name}: its stack is deleted: the record is cleared; `globalctl rollout` adds the region again")
    else:
        if "unroute" in retirement.done:
            say(f"{env.name}: routed again")
            _deploy_routing(context, frozenset())
        say(f"{env.name}: serving again")
        routing.set_weight(context.topology, env.name, routing.serving_weight(context.topology, env.name))
        routing.wait_observed(context.topology, Endpoints(context.config_path), env.name, drained=False)
    retirement.status = "undone"
    records.save(retirement)


# --- the steps ---------------------------------------------------------------------------------------


def _drain(context: Context, env: Environment, _retirement: Retirement) -> str:
    topology = context.topology
    try:
        serving = routing.serving(topology)
    except routing.RoutingMissing:
        return "no routing stack: nothing routes to it"
    if env.name not in serving:
        return "not routed"
    endpoints = Endpoints(context.config_path)
    healthy = [name for name, on in serving.items() if on and name != env.name
               and regions.health_problem(endpoints, topology.env(name), regions.PROBE_TIMEOUT_SECONDS) is None]
    if not healthy:
        raise GlobalctlError(f"no other serving region is healthy: {env.name} stays in service; heal one first")
    routing.set_weight(topology, env.name, 0)
    seconds = routing.wait_observed(topology, endpoints, env.name, drained=True)
    return f"{', '.join(healthy)} serve its clients ({seconds:.1f} s)"


def _unroute(context: Context, env: Environment, _retirement: Retirement) -> str:
    if context.topology.routing is None or aws.describe_stack(context.topology.routing.stack_name,
                                                              context.topology.routing.region) is None:
        return "no routing stack"
    _deploy_routing(context, frozenset({env.name}))
    return "its record and health check are gone"


def _settle_stream(context: Context, env: Environment, _retirement: Retirement) -> str:
    stack = aws.describe_stack(env.stack_name, env.region)
    function = aws.outputs_of(stack).get("StreamProcessorFunctionName")
    if not function:
        return "no stream processor deployed"
    endpoints = Endpoints(context.config_path)
    scale = float((endpoints.state or {}).get("alarm_period_scale", 1.0)) if endpoints.local else 1.0
    period = max(1, round(60 * scale))  # CloudWatch's Lambda metrics come in one-minute periods
    cloudwatch = aws.client("cloudwatch", env.region)
    started = time.monotonic()
    time.sleep(SETTLE_PERIODS * period)  # what the drain left in flight gets its chance to start
    while True:
        now = time.time()
        batches = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName="IteratorAge", Dimensions=[{"Name": "FunctionName", "Value": function}],
            StartTime=now - SETTLE_PERIODS * period, EndTime=now, Period=period, Statistics=["SampleCount"])
        if not any(point.get("SampleCount") for point in batches["Datapoints"]):
            return f"no batch for {SETTLE_PERIODS * period} s: nothing left unannounced"
        if time.monotonic() - started > SETTLE_TIMEOUT_SECONDS:
            raise GlobalctlError(f"{function} still processes records after {SETTLE_TIMEOUT_SECONDS:.0f} s; "
                                 f"run the command again to wait more (the region is drained and unrouted)")
        time.sleep(period)


def _keep_dead_letters(context: Context, env: Environment, retirement: Retirement) -> str:
    if aws.describe_stack(env.stack_name, env.region) is None:  # e.g. a region whose add failed
        retirement.dead_letters = 0
        return "no stack: nothing to keep"
    queue = aws.outputs_of(aws.describe_stack(env.stack_name, env.region)).get("DeadLetterQueueUrl")
    queues = [queue] if queue else []
    messages: list[dict[str, Any]] = []
    sqs = aws.client("sqs", env.region)
    for queue_url in queues:
        while True:  # received, not deleted: the queue is kept as well; hidden while this runs
            batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=600,
                                        WaitTimeSeconds=0, AttributeNames=["All"]).get("Messages", [])
            if not batch:
                break
            messages += [{"queue": queue_url, "id": m["MessageId"], "body": m["Body"],
                          "attributes": m.get("Attributes", {})} for m in batch]
    folder = context.config_path.resolve().parent / ".globalctl" / "retired" / env.name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dead-letters.json").write_text(json.dumps(messages, indent=2))
    retirement.dead_letters = len(messages)
    return f"{len(messages)} message(s) copied to {folder / 'dead-letters.json'} (the queue is kept too)"


def _delete_stack(context: Context, env: Environment, _retirement: Retirement) -> str:
    from globalctl import site

    seconds = stacks.delete(env)
    site.forget(env)
    return "not deployed" if seconds is None else f"deleted in {seconds:.0f} s"


def _unprotect_replica(context: Context, env: Environment, _retirement: Retirement) -> str:
    return _deploy_table(context, env, keep_replica=True)


def _remove_replica(context: Context, env: Environment, _retirement: Retirement) -> str:
    return _deploy_table(context, env, keep_replica=False)


_STEPS: dict[str, Callable[[Context, Environment, Retirement], str]] = {
    "drain": _drain, "unroute": _unroute, "settle stream": _settle_stream, "keep dead letters": _keep_dead_letters, "delete stack": _delete_stack,
    "unprotect replica": _unprotect_replica, "remove replica": _remove_replica,
}


# --- helpers ------------------------------------------------------------------------------------------


def _release_of(env: Environment) -> str:
    stack = aws.describe_stack(env.stack_name, env.region)
    return aws.tags_of(stack).get("release", "unreleased") if stack else "unreleased"


def _deploy(context: Context, env: Environment, params: dict[str, str]) -> None:
    """sam deploy of a global stack with these parameters, under its current release tag; the
    failed resource's reason in the error."""
    try:
        stacks.sam_deploy(context.topology, env, params, _release_of(env))
    except stacks.DeployFailed as failed:
        raise GlobalctlError(f"{failed}{_failed_because(env)}") from None
    status = stacks.wait_settled(env.region, env.stack_name)
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise GlobalctlError(f"the {env.kind} stack update ended {status}{_failed_because(env)}")


def _deploy_routing(context: Context, leave_out: frozenset[str]) -> None:
    """The routing without (or, undone, with) the region, and the demo site's region directory after it."""
    from globalctl import site
    from globalctl.endpoints import Endpoints

    routing_env = context.topology.routing
    if routing_env is not None:
        _deploy(context, routing_env, context.stack_parameters(routing_env.name, leave_out))
    routed = [env.name for env in context.topology.regions if env.name not in leave_out]
    site.publish(context.topology, Endpoints(context.config_path), routed)


def _deploy_table(context: Context, env: Environment, keep_replica: bool, retiring: str | None = None) -> str:
    table_env = context.topology.table
    if table_env is None:
        return "no table stack"
    params = context.stack_parameters(table_env.name)
    replicas = [r for r in params["ReplicaRegions"].split(",") if r and (keep_replica or r != env.region)]
    if retiring is None:
        retiring = env.region if keep_replica else ""
    params.update(ReplicaRegions=",".join(replicas), RetiringRegion=retiring)
    _deploy(context, table_env, params)
    if keep_replica:
        return f"deletion protection {'off for the ' + env.region + ' replica only' if retiring else 'back on'}"
    tables.wait_replica_gone(table_env.region, params.get("TableName", "global-items"), env.region,
                             timeout=REPLICA_GONE_TIMEOUT_SECONDS)
    return f"replicas now {', '.join(replicas)}"


def _failed_because(env: Environment) -> str:
    return stacks.failure_reason(aws.client("cloudformation", env.region), env.stack_name, failing="FAILED")
