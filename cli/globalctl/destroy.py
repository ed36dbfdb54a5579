"""What `globalctl destroy` deletes, planned then done: every stack of the topology, routing first,
then the regions (last in samconfig first), then the table stack and the table itself.

The routing goes first so no client is sent to a region that is about to disappear. The table's
GlobalTable resource has DeletionPolicy Retain (global/table.yaml), so deleting its stack leaves
the table and its data behind: destroy then deletes the table, replica by replica (tables.delete).

Deletion protection (the replicas' DeletionProtectionEnabled, the table stack's DeletionProtection
parameter) makes destroy refuse; --force turns it off first through the table stack, so the
stack and the table agree. The SAM managed stack aws-sam-cli-managed-default is never touched:
every SAM application of the account and region shares it.

plan_destroy reads what is deployed and refuses what cannot be deleted as it is, before anything
is asked or changed; the DestroyPlan it returns says which stacks go in which order, which table
replicas go, and what deletion protection is turned off; execute carries it out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from globalctl import aws, site, stacks, tables
from globalctl.exceptions import GlobalctlError
from globalctl.tables import TableState
from globalctl.topology import Environment, Topology

# Stacks that can be deleted as they are (a REVIEW_IN_PROGRESS stack is only a change set's shell).
DELETABLE_WHILE = ("DELETE_IN_PROGRESS", "REVIEW_IN_PROGRESS")
SAM_MANAGED_STACK = "aws-sam-cli-managed-default"

Say = Callable[[str], None]


@dataclass
class DestroyPlan:
    stacks: list[Environment]  # in deletion order, deployed or not (the ones not deployed are skipped)
    deployed: dict[str, dict | None]  # env name -> its stack as described, None when not deployed
    keep_table: bool
    table_env: Environment | None
    table_stack: dict | None
    table_name: str | None
    table: TableState | None  # the table to delete; None when kept or absent
    protection: list[str] = field(default_factory=list)  # deletion protection found on, turned off first

    @property
    def empty(self) -> bool:
        return not any(self.deployed.values()) and self.table is None

    @property
    def stack_protected(self) -> bool:
        return not self.keep_table and _stack_protection(self.table_stack)

    def nothing(self) -> str:
        return ("nothing to destroy: no stack of the topology is deployed" +
                ("" if self.keep_table or not self.table_name else f" and there is no table {self.table_name}"))

    def describe(self) -> str:
        gone = [f"{env.stack_name} ({env.region})" for env in self.stacks if self.deployed[env.name]]
        return (f"destroy: {', '.join(gone) or 'no stack'}" +
                (f"; table {self.table_name} in {', '.join(self.table.regions)}" if self.table else ""))

    @property
    def confirmation(self) -> str:
        """What the user types to confirm: the table's name, else the first stack's."""
        return self.table_name or next(env.stack_name for env in self.stacks if self.deployed[env.name])

    def done(self) -> str:
        return ("destroyed" + (f"; table {self.table_name} kept" if self.keep_table and self.table_name else "") +
                f"; {SAM_MANAGED_STACK} is left in place")


def plan_destroy(topology: Topology, keep_table: bool, force: bool) -> DestroyPlan:
    """What is deployed and what destroy would delete; refuses a stack in flight, and deletion
    protection unless `force`."""
    targets = [topology.routing] if topology.routing else []
    targets += list(reversed(topology.regions))
    if topology.table and not keep_table:
        targets.append(topology.table)
    deployed = {env.name: aws.describe_stack(env.stack_name, env.region) for env in targets}
    for env in targets:
        status = (deployed[env.name] or {}).get("StackStatus", "")
        if status.endswith("_IN_PROGRESS") and status not in DELETABLE_WHILE:
            raise GlobalctlError(f"{env.name}: stack {env.stack_name} in {env.region} is {status}; "
                                 f"wait for it to finish")
    table_env = topology.table
    table_stack = aws.describe_stack(table_env.stack_name, table_env.region) if table_env else None
    name = None
    if table_env is not None:
        name = aws.outputs_of(table_stack).get("GlobalTableName") or table_env.parameters.get("TableName")
    state = tables.table_state(table_env.region, name) if table_env and name and not keep_table else None
    plan = DestroyPlan(targets, deployed, keep_table, table_env, table_stack, name, state)
    if plan.empty:
        return plan
    if state and state.protected:
        plan.protection.append(f"table {name} in {', '.join(state.protected)}")
    if plan.stack_protected:
        plan.protection.append(f"stack {table_env.stack_name}: DeletionProtection=true")
    if plan.protection and not force:
        raise GlobalctlError(f"deletion protection is on ({'; '.join(plan.protection)}): `globalctl destroy --force` "
                             f"turns it off first, --keep-table leaves the table")
    return plan


def execute(plan: DestroyPlan, say: Say) -> None:
    """Deletion protection off (when found on), every stack deleted in order, then the table."""
    if plan.protection:
        _unprotect(plan, say)
    for env in plan.stacks:
        seconds = stacks.delete(env)
        if env.kind == "region":
            site.forget(env)  # written by globalctl, not by the stack: deleted with it here
        _line(say, env, "not deployed, skipped" if seconds is None else f"deleted in {seconds:.1f} s")
    if plan.table is not None:
        started = time.monotonic()
        tables.delete(plan.table)
        say(f"  table      {plan.table.name} ({', '.join(plan.table.regions)}): deleted in "
            f"{time.monotonic() - started:.1f} s")


def _unprotect(plan: DestroyPlan, say: Say) -> None:
    """Turn deletion protection off: through the table stack (its previous template, every other
    parameter as it is), then directly on any replica the stack did not reach."""
    from botocore.exceptions import ClientError

    table_env, stack = plan.table_env, plan.table_stack
    if _stack_protection(stack):
        keys = [p["ParameterKey"] for p in stack["Parameters"]]
        try:
            aws.client("cloudformation", table_env.region).update_stack(
                StackName=table_env.stack_name, UsePreviousTemplate=True, Capabilities=stacks.CAPABILITIES,
                Parameters=[{"ParameterKey": k, "ParameterValue": "false"} if k == "DeletionProtection"
                            else {"ParameterKey": k, "UsePreviousValue": True} for k in keys])
        except ClientError as error:
            raise GlobalctlError(f"turning deletion protection off through {table_env.stack_name}: {error}") from None
        status = stacks.wait_settled(table_env.region, table_env.stack_name)
        if status != "UPDATE_COMPLETE":
            raise GlobalctlError(f"turning deletion protection off: the table stack {table_env.stack_name} "
                                 f"update ended {status}")
        _line(say, table_env, "deletion protection off (DeletionProtection=false)")
    if plan.table is not None:
        tables.unprotect(plan.table, say)


def _stack_protection(stack: dict | None) -> bool:
    return aws.parameters_of(stack).get("DeletionProtection", "").lower() == "true"


def _line(say: Say, env: Environment, detail: str) -> None:
    say(f"  {env.name:<10} {env.stack_name} ({env.region}): {detail}")
