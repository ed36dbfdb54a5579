"""The rollout planner: a topology and options in, an ordered plan of waves out. Pure: no AWS, no clock.

A rollout goes table stack (home region) -> canary region alone -> the other regions in samconfig
order, `max_concurrent` at a time -> routing stack. A rollback mirrors the region waves (last region
first, canary last), leaves the table alone unless asked, and still ends with routing.

Failure tolerance follows CloudFormation StackSets' FailureToleranceCount: "the number of accounts,
per Region, for which this operation can fail before CloudFormation stops the operation"
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html),
read here with regions in place of accounts: up to `failure_tolerance` failed regions are tolerated,
one more stops the rollout. Unlike StackSets, a failed canary always stops it, whatever the
tolerance: the canary exists to stop a bad release before it spreads. Concurrency is not lowered by
the tolerance (StackSets' SOFT_FAILURE_TOLERANCE), so a wave already in flight may end with more
failures than tolerated; the executor stops after that wave.

The release id is a CloudFormation parameter value, a stack tag value and a folder name under
.globalctl/releases/: its grammar (globalctl.inputs.RELEASE_RULE, and why) is checked here too, so
a plan made from a hand-edited state file is held to it as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any, Literal

from globalctl.bake import AlarmBound
from globalctl.bake_traffic import MAX_RPS as MAX_PROBE_RPS
from globalctl.exceptions import PlanError
from globalctl.inputs import RELEASE_RULE, check_release  # noqa: F401 - RELEASE_RULE re-exported
from globalctl.topology import Environment, Topology

TargetKind = Literal["table", "region", "routing"]
Action = Literal["rollout", "rollback"]

_GIT_SHA = re.compile(r"[0-9a-fA-F]{7,64}")
_KINDS = ("table", "region", "routing")
_ACTIONS = ("rollout", "rollback")


class Phase(StrEnum):
    """The steps of one target, in the order the executor runs them."""

    RECORD = "record"  # save the stack's current template and parameters: what a rollback restores
    DRAIN = "drain"  # take the region's traffic out while another region serves
    DEPLOY = "deploy"  # sam deploy --config-env <env> with the release
    GATE = "gate"  # health, smoke write/read, replication canary: still drained, before any client
    RESTORE = "restore"  # traffic back; a rollback's one phase: the stack back to the release's record
    BAKE = "bake"  # the region's alarms watched under live traffic; one firing undoes the region


@dataclass(frozen=True)
class Target:
    """One stack the plan deploys: a samconfig environment and its role in the rollout."""

    env: str
    kind: TargetKind
    region: str
    stack_name: str
    canary: bool = False
    new: bool = False  # a region added to a running deployment: no stack yet, not routed

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"target kind {self.kind!r} is not one of {', '.join(_KINDS)}")
        if self.canary and self.kind != "region":
            raise ValueError("only a region target can be the canary")
        if self.new and self.kind != "region":
            raise ValueError("only a region target can be new")

    def label(self) -> str:
        if self.kind != "region":
            return f"{self.kind} {self.stack_name} ({self.region})"
        return f"{'canary ' if self.canary else 'new ' if self.new else ''}{self.env} ({self.region})"


def phases(target: Target, drain: bool, bake: bool = True) -> tuple[Phase, ...]:
    """The steps for `target`; drain=False (no routing stack, or one serving region) skips drain/restore,
    bake=False (--bake 0) skips the alarm gate.

    The bake comes after the restore on purpose: a drained region serves nothing but the gates'
    own requests, so a release that breaks a route the smoke gate never calls would bake clean and
    go everywhere. Under its share of live traffic, that route's errors reach the alarms.
    """
    if target.kind != "region":
        return (Phase.RECORD, Phase.DEPLOY, Phase.GATE)
    if target.new:
        # Nobody to drain and no live traffic to bake under until the routing wave routes it; its
        # gates add the backfill and replication both ways, and the canary baked the release.
        return (Phase.RECORD, Phase.DEPLOY, Phase.GATE)
    steps = (Phase.RECORD, Phase.DRAIN, Phase.DEPLOY, Phase.GATE, Phase.RESTORE) if drain else (
        Phase.RECORD, Phase.DEPLOY, Phase.GATE)
    return (*steps, Phase.BAKE) if bake else steps


@dataclass(frozen=True)
class Wave:
    """Targets deployed at the same time. `number` is the wave's place in the original plan."""

    number: int
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class Plan:
    release: str
    waves: tuple[Wave, ...]
    max_concurrent: int
    failure_tolerance: int
    # Seconds each region bakes at least; None: the minimum its deployed alarms need (derived after
    # its deploy, from the alarms the release deployed); 0: no bake, no alarm gate.
    bake_seconds: int | None
    drain: bool
    action: Action = "rollout"
    bake_basis: str = ""  # why this bake: the alarm behind the minimum, as the planner saw it
    bake_traffic_rps: float = 0.0  # synthetic requests per second through a baking region's API (0: none)

    def __post_init__(self) -> None:
        if self.action not in _ACTIONS:
            raise ValueError(f"plan action {self.action!r} is not one of {', '.join(_ACTIONS)}")

    @property
    def targets(self) -> tuple[Target, ...]:
        return tuple(target for wave in self.waves for target in wave.targets)

    @property
    def region_targets(self) -> tuple[Target, ...]:
        return tuple(target for target in self.targets if target.kind == "region")

    @property
    def new_envs(self) -> frozenset[str]:
        """The region envs this plan adds to a running deployment."""
        return frozenset(target.env for target in self.region_targets if target.new)

    @property
    def canary(self) -> Target | None:
        return next((target for target in self.targets if target.canary), None)

    def phases(self, target: Target) -> tuple[Phase, ...]:
        return phases(target, self.drain, bake=self.action == "rollout" and self.bake_seconds != 0)

    def bake_text(self) -> str:
        if self.bake_seconds == 0:
            return "no bake (--bake 0): alarms not watched"
        amount = "the alarms' minimum" if self.bake_seconds is None else f"{self.bake_seconds} s"
        traffic = f", with {self.bake_traffic_rps:g} probe requests/s" if self.bake_traffic_rps else ""
        return f"bake {amount}{traffic}" + (f" ({self.bake_basis})" if self.bake_basis else "")

    def without(self, done_envs: Iterable[str]) -> Plan:
        """The plan left to run once `done_envs` are done (for --resume).

        Wave numbers are kept, not renumbered: wave 3 of a resumed rollout is the wave 3 the first
        run printed and recorded, so the two runs' output and state file read together. A name
        that is not in the plan is an error: it means the state belongs to another plan.
        """
        done = set(done_envs)
        unknown = sorted(done - {target.env for target in self.targets})
        if unknown:
            raise PlanError(f"{', '.join(unknown)}: not in this {self.action} plan (state from another plan?)")
        waves = []
        for wave in self.waves:
            left = tuple(target for target in wave.targets if target.env not in done)
            if left:
                waves.append(Wave(wave.number, left))
        return replace(self, waves=tuple(waves))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with a fixed key order, for --json and the state file."""
        return {
            "action": self.action,
            "release": self.release,
            "max_concurrent": self.max_concurrent,
            "failure_tolerance": self.failure_tolerance,
            "bake_seconds": self.bake_seconds,
            "bake_basis": self.bake_basis,
            "bake_traffic_rps": self.bake_traffic_rps,
            "drain": self.drain,
            "waves": [
                {
                    "number": wave.number,
                    "targets": [
                        {
                            "env": t.env,
                            "kind": t.kind,
                            "region": t.region,
                            "stack_name": t.stack_name,
                            "canary": t.canary,
                            "new": t.new,
                        }
                        for t in wave.targets
                    ],
                }
                for wave in self.waves
            ],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Plan:
        """The inverse of to_dict. A malformed document (a hand-edited state file) raises PlanError."""
        try:
            plan = cls(
                release=_release(data["release"]),
                waves=tuple(
                    Wave(
                        number=_int(wave["number"], "wave number", minimum=1),
                        targets=tuple(_target(t) for t in wave["targets"]),
                    )
                    for wave in data["waves"]
                ),
                max_concurrent=_int(data["max_concurrent"], "max concurrent", minimum=1),
                failure_tolerance=_int(data["failure_tolerance"], "failure tolerance", minimum=0),
                bake_seconds=None if data["bake_seconds"] is None else _int(data["bake_seconds"], "bake seconds",
                                                                            minimum=0),
                drain=_bool(data["drain"], "drain"),
                action=data["action"],
                bake_basis=str(data.get("bake_basis", "")),
                bake_traffic_rps=float(data.get("bake_traffic_rps", 0.0)),
            )
        except PlanError as exc:
            raise PlanError(f"malformed plan: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanError(f"malformed plan: {type(exc).__name__}: {exc}") from None
        envs = [target.env for target in plan.targets]
        if len(set(envs)) != len(envs):
            raise PlanError("malformed plan: an environment appears more than once")
        if any(not wave.targets for wave in plan.waves):
            raise PlanError("malformed plan: a wave has no targets")
        return plan

    def describe(self) -> list[str]:
        """Human lines: a summary, one line per wave, then the steps each kind of target goes through."""
        regions = len(self.region_targets)
        lines = [
            f"{self.action} {self.release}: {regions} region{'s' if regions != 1 else ''} "
            f"in {len(self.waves)} wave{'s' if len(self.waves) != 1 else ''} "
            f"(max concurrent {self.max_concurrent}, failure tolerance {self.failure_tolerance}, "
            f"drain {'planned' if self.drain else 'not planned'})"
        ]
        if self.action == "rollout":
            lines.append(self.bake_text())
        if not self.waves:
            return [*lines, "nothing left to do"]
        lines += [f"wave {wave.number}: {', '.join(t.label() for t in wave.targets)}" for wave in self.waves]
        serving = [t for t in self.region_targets if not t.new]
        if serving:
            lines.append("each region: " + " -> ".join(self.phases(serving[0])))
        added = [t for t in self.region_targets if t.new]
        if added and self.action == "rollout":
            lines.append(f"new region{'s' if len(added) > 1 else ''} {', '.join(t.env for t in added)}: "
                         + " -> ".join(self.phases(added[0]))
                         + " (backfilled replica, replication both ways; routed by the routing wave, last)")
        stack = next((t for t in self.targets if t.kind != "region"), None)
        if stack:
            lines.append("each global stack: " + " -> ".join(self.phases(stack)))
        return lines


def plan_rollout(
    topology: Topology,
    release: str,
    *,
    regions: list[str] | None = None,
    canary: str | None = None,
    max_concurrent: int = 1,
    failure_tolerance: int = 0,
    bake_seconds: int | None = None,
    include_table: bool = True,
    include_routing: bool = True,
    drain: bool = True,
    bake_minimum: AlarmBound | None = None,
    bake_traffic_rps: float = 0.0,
    new_regions: Iterable[str] = (),
) -> Plan:
    """Plan a rollout of `release` (see the module docstring for the order).

    `bake_minimum` is the largest bound of the alarms deployed now (globalctl.bake): a positive
    bake shorter than it is refused, since those alarms could not fire before it ends. None as the
    bake means that minimum, derived again for each region from the alarms its deploy leaves.

    `regions` picks region envs by name; their order still comes from samconfig, but the first
    name given is the default canary (otherwise the first region env in samconfig). `drain=False`
    plans no draining at all; draining is planned only when the topology has a routing stack and
    at least two region envs, since a drained region needs another one serving.

    `new_regions` are region envs with no stack yet, added to a running deployment: each is planned
    without drain or bake, and is never the canary while a region that already serves is selected
    (the canary exists to test the release on live traffic).
    """
    _release(release)
    _int(max_concurrent, "max concurrent", minimum=1)
    _int(failure_tolerance, "failure tolerance", minimum=0)
    basis = _bake_basis(bake_seconds, bake_minimum)
    if not 0 <= bake_traffic_rps <= MAX_PROBE_RPS or (bake_traffic_rps and bake_seconds == 0):
        raise PlanError(f"bake traffic must be 0 to {MAX_PROBE_RPS:g} requests/s, and needs a bake "
                        f"(got {bake_traffic_rps:g} with bake {bake_seconds})")
    selected = _select(topology, regions)
    added = {name for name in new_regions if name in {env.name for env in topology.regions}}
    canary_env = _canary(topology, selected, canary, regions, added)
    if failure_tolerance >= len(selected):
        raise PlanError(
            f"failure tolerance {failure_tolerance} must be less than the number of regions selected "
            f"({len(selected)}): otherwise no failure could stop the rollout"
        )

    waves: list[tuple[Target, ...]] = []
    if include_table and topology.table:
        waves.append((_as_target(topology.table),))
    waves.append((_as_target(canary_env, canary=True, new=canary_env.name in added),))
    rest = [_as_target(env, new=env.name in added) for env in selected if env.name != canary_env.name]
    waves += [tuple(rest[i : i + max_concurrent]) for i in range(0, len(rest), max_concurrent)]
    if include_routing and topology.routing:
        waves.append((_as_target(topology.routing),))

    return Plan(
        release=release,
        waves=tuple(Wave(number, targets) for number, targets in enumerate(waves, start=1)),
        max_concurrent=max_concurrent,
        failure_tolerance=failure_tolerance,
        bake_seconds=bake_seconds,
        drain=drain and topology.routing is not None and len(topology.regions) >= 2,
        action="rollout",
        bake_basis=basis,
        bake_traffic_rps=float(bake_traffic_rps),
    )


def _bake_basis(bake_seconds: int | None, minimum: AlarmBound | None) -> str:
    if bake_seconds is not None:
        _int(bake_seconds, "bake seconds", minimum=0)
    if minimum is None or bake_seconds == 0:
        return ""
    if bake_seconds is not None and bake_seconds < minimum.seconds:
        raise PlanError(f"bake {bake_seconds} s is shorter than the {minimum.seconds} s alarm {minimum.alarm} needs "
                        f"to fire ({minimum.explain()}): bake at least {minimum.seconds} s, or 0 to skip the alarm gate")
    return f"{'now ' if bake_seconds is None else 'minimum '}{minimum.seconds} s for {minimum.explain()}"


def plan_rollback(
    topology: Topology,
    release: str,
    *,
    regions: list[str] | None = None,
    canary: str | None = None,
    max_concurrent: int = 1,
    failure_tolerance: int = 0,
    bake_seconds: int | None = 0,
    include_table: bool = False,
    include_routing: bool = True,
    drain: bool = True,
) -> Plan:
    """Plan a rollback to `release`: the rollout's region waves mirrored, then table (if asked), routing.

    Mirrored means the wave list and each wave's targets are reversed, so rollback wave k undoes
    exactly the regions of one rollout wave and the canary comes back last, alone. The table's data
    stack is touched only with include_table=True; it then follows the regions, because in a rollout
    it precedes them.
    """
    forward = plan_rollout(
        topology, release, regions=regions, canary=canary, max_concurrent=max_concurrent,
        failure_tolerance=failure_tolerance, bake_seconds=bake_seconds,
        include_table=False, include_routing=False, drain=drain,
    )
    waves: list[tuple[Target, ...]] = [tuple(reversed(wave.targets)) for wave in reversed(forward.waves)]
    if include_table and topology.table:
        waves.append((_as_target(topology.table),))
    if include_routing and topology.routing:
        waves.append((_as_target(topology.routing),))
    return replace(
        forward,
        waves=tuple(Wave(number, targets) for number, targets in enumerate(waves, start=1)),
        action="rollback",
    )


def stop_after_failures(plan: Plan, failed_regions: int, canary_failed: bool) -> bool:
    """True when the rollout must stop: the canary failed, or more regions failed than tolerated.

    `failed_regions` counts every failed region so far, the canary included. Table and routing
    failures are not regions: the executor stops on them unconditionally.
    """
    if failed_regions < 0:
        raise ValueError(f"failed_regions must be >= 0, got {failed_regions}")
    return canary_failed or failed_regions > plan.failure_tolerance


def release_id(git_sha: str | None, now_utc: datetime) -> str:
    """The default release id: '<sha7>-<YYYYMMDDTHHMMSSZ>', or 'local-<timestamp>' outside git.

    `now_utc` must carry a timezone (it is converted to UTC): a naive time would silently label
    the release with the machine's local time.
    """
    if now_utc.tzinfo is None or now_utc.utcoffset() is None:
        raise ValueError("now_utc must be timezone-aware (datetime.now(timezone.utc))")
    stamp = now_utc.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    if not git_sha:
        return f"local-{stamp}"
    if not _GIT_SHA.fullmatch(git_sha):
        raise ValueError(f"git sha {git_sha!r} is not 7 to 64 hexadecimal digits")
    return f"{git_sha[:7].lower()}-{stamp}"


# -- validation and construction helpers ----------------------------------------------------------


def _release(release: Any) -> str:
    return check_release(release, PlanError)


def _int(value: Any, name: str, *, minimum: int) -> int:
    # bool is an int in Python; True as a concurrency is a mistake, not 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise PlanError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise PlanError(f"{name} must be >= {minimum}, got {value}")
    return value


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise PlanError(f"{name} must be true or false, got {value!r}")
    return value


def _target(data: Any) -> Target:
    return Target(
        env=str(data["env"]),
        kind=data["kind"],
        region=str(data["region"]),
        stack_name=str(data["stack_name"]),
        canary=_bool(data["canary"], "canary"),
        new=_bool(data.get("new", False), "new"),
    )


def _as_target(env: Environment, *, canary: bool = False, new: bool = False) -> Target:
    kind: TargetKind = env.kind  # type: ignore[assignment]  # Environment.kind returns one of _KINDS
    return Target(env=env.name, kind=kind, region=env.region, stack_name=env.stack_name, canary=canary,
                  new=new and kind == "region")


def _select(topology: Topology, names: list[str] | None) -> list[Environment]:
    """The region envs to deploy, in samconfig order."""
    if not topology.regions:
        raise PlanError(f"{topology.config_path}: no region environment to deploy")
    if names is None:
        return list(topology.regions)
    wanted = set()
    for name in names:
        env = topology.env(name)  # UnknownEnvironmentError lists the known names
        if env.kind != "region":
            raise PlanError(f"{name!r} is not a region environment (it deploys the {env.kind} stack)")
        wanted.add(name)
    if not wanted:
        raise PlanError("no region selected (--regions is empty)")
    return [env for env in topology.regions if env.name in wanted]


def _canary(
    topology: Topology, selected: list[Environment], canary: str | None, names: list[str] | None,
    added: set[str] = frozenset(),  # type: ignore[assignment]
) -> Environment:
    serving = [env for env in selected if env.name not in added]
    if canary is None:
        first = names[0] if names else selected[0].name
        chosen = next(env for env in selected if env.name == first)
        if chosen.name in added and serving:  # a new region serves nobody: it cannot test the release
            return serving[0]
        return chosen
    env = topology.env(canary)
    if env.name in added and serving:
        raise PlanError(f"canary {canary!r} is a new region, which serves nobody yet: the canary must be a "
                        f"region that already serves ({', '.join(e.name for e in serving)})")
    if env.name not in {chosen.name for chosen in selected}:
        raise PlanError(
            f"canary {canary!r} is not one of the selected regions "
            f"({', '.join(chosen.name for chosen in selected)})"
        )
    return env
