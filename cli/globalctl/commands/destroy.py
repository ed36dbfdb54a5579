"""`globalctl destroy`: every stack of the topology, routing first, then the regions (last in
samconfig first), then the table stack and the table itself.

The routing goes first so no client is sent to a region that is about to disappear. The table's
GlobalTable resource has DeletionPolicy Retain (global/table.yaml), so deleting its stack leaves
the table and its data behind: destroy then deletes the table, replica by replica. DeleteTable in
a replica's region deletes that replica of a multi-region eventually consistent table (AWS refuses
it for a region that sourced a new replica in the last 24 h: go-to-k/cdkd#1442); an MRSC table's
other replicas must go together in one UpdateTable (DynamoDB developer guide, "Deleting MRSC
global tables", delete-gt-mrsc.html), then its last table with DeleteTable.

Deletion protection (the replicas' DeletionProtectionEnabled, the table stack's DeletionProtection
parameter) makes destroy refuse; --force turns it off first through the table stack, so the
stack and the table agree. The SAM managed stack aws-sam-cli-managed-default is never touched:
every SAM application of the account and region shares it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import typer

from globalctl.context import Context
from globalctl.errors import reported
from globalctl.exceptions import GlobalctlError

TABLE_TIMEOUT_SECONDS = 1800
POLL_SECONDS = 2.0
# Stacks that can be deleted as they are (a REVIEW_IN_PROGRESS stack is only a change set's shell).
DELETABLE_WHILE = ("DELETE_IN_PROGRESS", "REVIEW_IN_PROGRESS")


@dataclass
class TableState:
    """The deployed global table as DynamoDB reports it in its home region."""

    name: str
    home: str
    mode: str = "EVENTUAL"
    regions: list[str] = field(default_factory=list)  # every replica region, the home region last
    protected: list[str] = field(default_factory=list)  # replica regions with deletion protection on
    witness: str | None = None


def _line(env: Any, detail: str) -> None:
    typer.echo(f"  {env.name:<10} {env.stack_name} ({env.region}): {detail}")


def _describe_table(region: str, name: str) -> dict | None:
    from globalctl import aws

    client = aws.client("dynamodb", region)
    try:
        return client.describe_table(TableName=name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        return None


def table_state(home: str, name: str) -> TableState | None:
    """The table and each replica's deletion protection; None when there is no table."""
    table = _describe_table(home, name)
    if table is None:
        return None
    others = [r["RegionName"] for r in table.get("Replicas", []) if r["RegionName"] != home]
    witnesses = table.get("GlobalTableWitnesses", [])
    state = TableState(name, home, table.get("MultiRegionConsistency", "EVENTUAL"), [*others, home],
                       witness=witnesses[0]["RegionName"] if witnesses else None)
    for region in state.regions:
        replica = table if region == home else _describe_table(region, name)
        if replica and replica.get("DeletionProtectionEnabled"):
            state.protected.append(region)
    return state


def _stack_protection(stack: dict | None) -> bool:
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in (stack or {}).get("Parameters", [])}
    return parameters.get("DeletionProtection", "").lower() == "true"


def unprotect(table_env: Any, stack: dict | None, state: TableState | None) -> None:
    """Turn deletion protection off: through the table stack (its previous template, every other
    parameter as it is), then directly on any replica the stack did not reach."""
    from botocore.exceptions import ClientError

    from globalctl import aws
    from globalctl.stacks import CAPABILITIES, wait_settled

    if _stack_protection(stack):
        keys = [p["ParameterKey"] for p in stack["Parameters"]]
        try:
            aws.client("cloudformation", table_env.region).update_stack(
                StackName=table_env.stack_name, UsePreviousTemplate=True, Capabilities=CAPABILITIES,
                Parameters=[{"ParameterKey": k, "ParameterValue": "false"} if k == "DeletionProtection"
                            else {"ParameterKey": k, "UsePreviousValue": True} for k in keys])
        except ClientError as error:
            raise GlobalctlError(f"turning deletion protection off through {table_env.stack_name}: {error}") from None
        status = wait_settled(table_env.region, table_env.stack_name)
        if status != "UPDATE_COMPLETE":
            raise GlobalctlError(f"turning deletion protection off: the table stack {table_env.stack_name} "
                                 f"update ended {status}")
        _line(table_env, "deletion protection off (DeletionProtection=false)")
    if state is None:
        return
    for region in state.regions:
        replica = _describe_table(region, state.name)
        if replica and replica.get("DeletionProtectionEnabled"):
            aws.client("dynamodb", region).update_table(TableName=state.name, DeletionProtectionEnabled=False)
            typer.echo(f"  table      {state.name} ({region}): deletion protection off")


def delete_stack(env: Any) -> None:
    """Delete one stack and wait until it is gone; DELETE_FAILED is an error naming the stack."""
    from globalctl import aws
    from globalctl.stacks import wait_settled

    stack = aws.describe_stack(env.stack_name, env.region)
    if stack is None:
        _line(env, "not deployed, skipped")
        return
    started = time.monotonic()
    cloudformation = aws.client("cloudformation", env.region)
    cloudformation.delete_stack(StackName=env.stack_name)
    status = wait_settled(env.region, env.stack_name)
    if status == "DELETE_FAILED":
        raise GlobalctlError(f"{env.name}: stack {env.stack_name} in {env.region} is DELETE_FAILED"
                             f"{_failure_reason(cloudformation, stack['StackId'])}; fix it and run destroy again")
    if status != "DELETE_COMPLETE":
        raise GlobalctlError(f"{env.name}: stack {env.stack_name} in {env.region} ended {status}, not deleted")
    _line(env, f"deleted in {time.monotonic() - started:.1f} s")


def _failure_reason(cloudformation: Any, stack_id: str) -> str:
    try:
        events = cloudformation.describe_stack_events(StackName=stack_id)["StackEvents"]
    except Exception:  # noqa: BLE001 - the reason is a courtesy; the status is the error
        return ""
    reasons = [e.get("ResourceStatusReason", "") for e in events if e.get("ResourceStatus") == "DELETE_FAILED"]
    reason = next((r for r in reasons if r), "")
    return f" ({' '.join(reason.split())[:300]})" if reason else ""


def _wait_table_gone(region: str, name: str) -> None:
    deadline = time.monotonic() + TABLE_TIMEOUT_SECONDS
    while _describe_table(region, name) is not None:
        if time.monotonic() > deadline:
            raise GlobalctlError(f"table {name} in {region} still exists after {TABLE_TIMEOUT_SECONDS} s")
        time.sleep(POLL_SECONDS)


def _wait_replicas_gone(state: TableState) -> None:
    deadline = time.monotonic() + TABLE_TIMEOUT_SECONDS
    while (_describe_table(state.home, state.name) or {}).get("Replicas"):
        if time.monotonic() > deadline:
            raise GlobalctlError(f"table {state.name}: replicas still listed after {TABLE_TIMEOUT_SECONDS} s")
        time.sleep(POLL_SECONDS)


def delete_table(state: TableState) -> None:
    """Delete every replica of the global table, the home region's last."""
    from botocore.exceptions import ClientError

    from globalctl import aws

    started = time.monotonic()
    try:
        if state.mode == "STRONG" and len(state.regions) > 1:
            updates: dict[str, Any] = {"ReplicaUpdates": [{"Delete": {"RegionName": r}} for r in state.regions[:-1]]}
            if state.witness:
                updates["GlobalTableWitnessUpdates"] = [{"Delete": {"RegionName": state.witness}}]
            aws.client("dynamodb", state.home).update_table(TableName=state.name, **updates)
            _wait_replicas_gone(state)
            regions = [state.home]
        else:
            regions = state.regions
        for region in regions:
            client = aws.client("dynamodb", region)
            try:
                client.delete_table(TableName=state.name)
            except client.exceptions.ResourceNotFoundException:
                continue
            _wait_table_gone(region, state.name)
    except ClientError as error:
        raise GlobalctlError(f"deleting table {state.name}: {error}") from None
    typer.echo(f"  table      {state.name} ({', '.join(state.regions)}): deleted in "
               f"{time.monotonic() - started:.1f} s")


def _targets(context: Context, keep_table: bool) -> list[Any]:
    topology = context.topology
    targets = [topology.routing] if topology.routing else []
    targets += list(reversed(topology.regions))
    if topology.table and not keep_table:
        targets.append(topology.table)
    return targets


def _table_name(context: Context, stack: dict | None) -> str | None:
    table_env = context.topology.table
    if table_env is None:
        return None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs", [])}
    return outputs.get("GlobalTableName") or table_env.parameters.get("TableName")


@reported
def destroy(
    ctx: typer.Context,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for the table name."),
    force: bool = typer.Option(False, "--force", help="Turn deletion protection off first (through the table stack)."),
    keep_table: bool = typer.Option(False, "--keep-table", help="Leave the table stack and the table (its data)."),
) -> None:
    """Delete the routing stack, every region's stack (last region first), the table stack and the
    global table in every replica region. Refuses while deletion protection is on unless --force;
    asks for the table name unless --yes. The SAM managed stack aws-sam-cli-managed-default is left alone."""
    from globalctl import aws

    context = Context.from_typer(ctx)
    topology = context.topology
    targets = _targets(context, keep_table)
    deployed = {env.name: aws.describe_stack(env.stack_name, env.region) for env in targets}
    for env in targets:
        status = (deployed[env.name] or {}).get("StackStatus", "")
        if status.endswith("_IN_PROGRESS") and status not in DELETABLE_WHILE:
            raise GlobalctlError(f"{env.name}: stack {env.stack_name} in {env.region} is {status}; "
                                 f"wait for it to finish")
    table_env = topology.table
    table_stack = aws.describe_stack(table_env.stack_name, table_env.region) if table_env else None
    name = _table_name(context, table_stack)
    state = table_state(table_env.region, name) if table_env and name and not keep_table else None
    if not any(deployed.values()) and state is None:
        typer.echo("nothing to destroy: no stack of the topology is deployed" +
                   ("" if keep_table or not name else f" and there is no table {name}"))
        return
    protection = []
    if state and state.protected:
        protection.append(f"table {name} in {', '.join(state.protected)}")
    if not keep_table and _stack_protection(table_stack):
        protection.append(f"stack {table_env.stack_name}: DeletionProtection=true")
    if protection and not force:
        raise GlobalctlError(f"deletion protection is on ({'; '.join(protection)}): `globalctl destroy --force` "
                             f"turns it off first, --keep-table leaves the table")
    gone = [f"{env.stack_name} ({env.region})" for env in targets if deployed[env.name]]
    typer.echo(f"destroy: {', '.join(gone) or 'no stack'}" +
               (f"; table {name} in {', '.join(state.regions)}" if state else ""))
    confirm = name or next(env.stack_name for env in targets if deployed[env.name])
    if not yes and typer.prompt(f"type {confirm!r} to delete all of it") != confirm:
        typer.echo(f"error: that is not {confirm!r}; nothing was deleted", err=True)
        raise typer.Exit(1)
    if protection:
        unprotect(table_env, table_stack, state)
    for env in targets:
        delete_stack(env)
    if state is not None:
        delete_table(state)
    typer.echo("destroyed" + (f"; table {name} kept" if keep_table and name else "") +
               "; aws-sam-cli-managed-default is left in place")
