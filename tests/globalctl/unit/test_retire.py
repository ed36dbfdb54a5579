"""globalctl.retire: which retirements are refused (one line each, before anything changes), and
how a retirement records its steps so that running it again resumes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from globalctl import retire, routing
from globalctl.context import Context
from globalctl.exceptions import GlobalctlError, UsageError
from tests.support.samconfigs import samconfig_text

REGIONS = {"euw1": "eu-west-1", "use1": "us-east-1", "apse1": "ap-southeast-1"}


def samconfig(tmp_path: Path, mode: str = "EVENTUAL") -> Path:
    path = tmp_path / "samconfig.toml"
    path.write_text(samconfig_text(REGIONS, table_overrides=f"TableName=global-items ConsistencyMode={mode}"))
    return path


@pytest.fixture
def serving(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    weights = dict.fromkeys(REGIONS, True)
    monkeypatch.setattr(routing, "serving", lambda _topology: dict(weights))
    return weights


def test_a_region_can_be_retired_and_its_plan_lists_every_step(tmp_path, serving):
    retirement = retire.plan(Context(samconfig(tmp_path)), "apse1")
    assert (retirement.env, retirement.region, retirement.left) == ("apse1", "ap-southeast-1", list(retire.STEPS))
    assert retirement.describe()[0] == "retire apse1 (ap-southeast-1):"


@pytest.mark.parametrize(("env", "error", "message"), [
    ("euw1", UsageError, r"is in the home region \(eu-west-1\)"),
    ("nowhere", UsageError, "unknown region env"),
    ("table", UsageError, "unknown region env"),
])
def test_refused_retirements_say_why_in_one_line(tmp_path, serving, env, error, message):
    with pytest.raises(error, match=message) as raised:
        retire.plan(Context(samconfig(tmp_path)), env)
    assert "\n" not in str(raised.value)


def test_the_last_serving_region_is_never_retired(tmp_path, serving):
    serving.update(euw1=False, apse1=False)
    with pytest.raises(UsageError, match="use1 is the last serving region"):
        retire.plan(Context(samconfig(tmp_path)), "use1")


def test_a_strong_table_refuses_retirement_with_what_to_do_instead(tmp_path, serving):
    with pytest.raises(GlobalctlError, match=r"retiring use1 is refused: the global table is STRONG \(MRSC\)") as raised:
        retire.plan(Context(samconfig(tmp_path, "STRONG")), "use1")
    assert "create a new MRSC table" in str(raised.value) and "ConsistencyMode=EVENTUAL" in str(raised.value)


def test_an_interrupted_retirement_resumes_at_the_step_that_failed(tmp_path, serving, monkeypatch):
    context = Context(samconfig(tmp_path))
    ran: list[str] = []
    failing = {"delete stack"}

    def step(name: str):
        def run(_context, _env, _retirement) -> str:
            if name in failing:
                raise GlobalctlError(f"{name} failed")
            ran.append(name)
            return ""
        return run

    monkeypatch.setattr(retire, "_STEPS", {name: step(name) for name in retire.STEPS})
    with pytest.raises(GlobalctlError, match="delete stack failed"):
        retire.execute(context, retire.plan(context, "apse1"), lambda _line: None)
    recorded = retire.RetirementRecords(context.config_path).load("apse1")
    assert recorded.status == "failed" and recorded.done == ["drain", "unroute", "settle stream", "keep dead letters"]

    # While it is unfinished a rollout is refused, one line naming the way out.
    with pytest.raises(GlobalctlError, match=r"apse1 is being retired .*globalctl region remove apse1 \[--undo\]"):
        retire.refuse_while_retired(context)

    failing.clear()
    ran.clear()
    done = retire.execute(context, retire.plan(context, "apse1"), lambda _line: None)
    assert ran == ["delete stack", "unprotect replica", "remove replica"] and done.status == "complete"
    with pytest.raises(GlobalctlError, match=r"apse1 was retired .*delete its \[apse1.deploy.parameters\] block"):
        retire.refuse_while_retired(context)

    # Once the block is deleted the retirement is over: the env may be added again, as a new region.
    config = context.config_path
    config.write_text(config.read_text().replace('[apse1.deploy.parameters]\nstack_name = "app"\nregion = "ap-southeast-1"\n'
                                                 'parameter_overrides = "TableName=global-items"\n', ""))
    retire.refuse_while_retired(Context(config))
    assert retire.RetirementRecords(config).load("apse1") is None


def test_undo_before_the_stack_is_deleted_routes_and_serves_the_region_again(tmp_path, serving, monkeypatch):
    context = Context(samconfig(tmp_path))
    records = retire.RetirementRecords(context.config_path)
    records.save(retire.Retirement("apse1", "ap-southeast-1", ["drain", "unroute"], "failed"))
    calls: list[tuple] = []
    monkeypatch.setattr(retire, "_deploy_routing", lambda _context, leave_out: calls.append(("routing", leave_out)))
    monkeypatch.setattr(routing, "set_weight", lambda _topology, env, weight: calls.append(("weight", env, weight)))
    monkeypatch.setattr(routing, "serving_weight", lambda _topology, env: {"apse1": 7}[env])  # as declared
    monkeypatch.setattr(routing, "wait_observed", lambda *_args, **_kwargs: calls.append(("observed",)) or 0.0)
    retire.undo(context, "apse1", lambda _line: None)
    assert calls == [("routing", frozenset()), ("weight", "apse1", 7), ("observed",)]
    assert records.load("apse1").status == "undone"
    retire.refuse_while_retired(context)  # an undone retirement no longer stops a rollout
    with pytest.raises(UsageError, match="no retirement of apse1 to undo"):
        retire.undo(context, "apse1", lambda _line: None)


def test_undo_after_the_stack_is_deleted_clears_the_record_for_a_rollout_to_add_it_back(tmp_path, serving, monkeypatch):
    context = Context(samconfig(tmp_path))
    records = retire.RetirementRecords(context.config_path)
    records.save(retire.Retirement("apse1", "ap-southeast-1", ["drain", "unroute", "settle stream",
                                                               "keep dead letters", "delete stack"], "failed"))
    monkeypatch.setattr(routing, "set_weight", lambda *_args: pytest.fail("no stack to route to"))
    said: list[str] = []
    retire.undo(context, "apse1", said.append)
    assert "`globalctl rollout` adds the region again" in said[0] and records.load("apse1").status == "undone"


def test_adding_a_region_to_a_strong_table_is_refused_before_anything_runs(tmp_path):
    from globalctl.rollout.service import RolloutService

    class Deployed:
        def stack_exists(self, env: str) -> bool:
            return env != "apse1"

    service = RolloutService(Context(samconfig(tmp_path, "STRONG")), operations=Deployed())
    with pytest.raises(GlobalctlError, match=r"adding apse1 is refused: the global table is STRONG \(MRSC\)"):
        service.new_regions(service.stacks_exist())
    folder = tmp_path / "eventual"
    folder.mkdir()
    eventual = RolloutService(Context(samconfig(folder)), operations=Deployed())
    assert eventual.new_regions(eventual.stacks_exist()) == ["apse1"]
    assert eventual.new_regions(dict.fromkeys(REGIONS, False)) == []  # a first deployment: nothing is "new"


def test_undo_after_the_replica_was_unprotected_protects_it_again(tmp_path, serving, monkeypatch):
    context = Context(samconfig(tmp_path))
    retire.RetirementRecords(context.config_path).save(retire.Retirement(
        "apse1", "ap-southeast-1", [*retire.STEPS[:-1]], "failed"))
    deployed: list[str] = []
    monkeypatch.setattr(retire, "_deploy_table",
                        lambda _context, env, keep_replica, retiring=None: deployed.append(f"{keep_replica} {retiring!r}"))
    retire.undo(context, "apse1", lambda _line: None)
    assert deployed == ["True ''"]  # the replica kept, and RetiringRegion empty: every replica protected


def test_a_stream_processor_still_busy_stops_the_retirement_before_the_stack_goes(tmp_path, monkeypatch):
    from globalctl import aws
    from globalctl.topology import load

    class Busy:
        def get_metric_statistics(self, **_query):
            return {"Datapoints": [{"SampleCount": 4.0}]}  # batches keep coming

    monkeypatch.setattr(aws, "describe_stack", lambda *_args: {"Outputs": [
        {"OutputKey": "StreamProcessorFunctionName", "OutputValue": "app-stream"}]})
    monkeypatch.setattr(aws, "client", lambda *_args, **_kwargs: Busy())
    monkeypatch.setattr(retire.time, "sleep", lambda _seconds: None)
    monkeypatch.setattr(retire, "SETTLE_TIMEOUT_SECONDS", 0.0)
    config = samconfig(tmp_path)
    with pytest.raises(GlobalctlError, match="app-stream still processes records"):
        retire._settle_stream(Context(config), load(config).env("apse1"), retire.Retirement("apse1", "ap-southeast-1"))

    class Idle:
        def get_metric_statistics(self, **_query):
            return {"Datapoints": []}

    monkeypatch.setattr(aws, "client", lambda *_args, **_kwargs: Idle())
    assert "nothing left unannounced" in retire._settle_stream(
        Context(config), load(config).env("apse1"), retire.Retirement("apse1", "ap-southeast-1"))
