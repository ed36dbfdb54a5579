"""Every input of globalctl checked at the edge: env names, release ids, file paths, numbers,
locations, URLs. A bad value is one `error:` line naming it and a non-zero exit, and nothing is
started or written; a good value gets past validation to the command's first real step.
Nothing from a user reaches a shell: an AST scan of cli/, src/ and bench/, and sam's argument
list parsed back by sam's own option parser."""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
from unittest import mock
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from globalctl import inputs
from globalctl import topology as topo
from globalctl.exceptions import GlobalctlError
from globalctl.main import app
from globalctl.rollout.service import RolloutService
from globalctl import stacks
from tests.support import ROOT
from tests.support.globalctl_clients import unreachable

runner = CliRunner()
HOSTILE = ["v1; rm -rf /", "$(id)", "`id`", "../../etc", "..", ".", "-v1", "v1\nrm", "v1 v2", "a" * 65, "",
           "v1/../../x", "é1", "v1\x1b[2J"]


# --- fixtures and helpers ----------------------------------------------------------------------------


def _make_project(base: Path) -> Path:
    """A copy of the project two folders down, so a `../../` escape would land inside `base`."""
    project = base / "a" / "b" / "project"
    project.mkdir(parents=True)
    for name in ("samconfig.toml", "template.yaml"):
        shutil.copy2(ROOT / name, project / name)
    for folder in ("regional", "global"):
        shutil.copytree(ROOT / folder, project / folder)
    return project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return _make_project(tmp_path)


@pytest.fixture(scope="module")
def shared_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """For hypothesis tests (no function-scoped fixtures there): nothing may write into it."""
    return _make_project(tmp_path_factory.mktemp("shared"))


@contextlib.contextmanager
def no_processes() -> Iterator[list[object]]:
    """Any process globalctl tries to start (sam, git, the supervisor) fails the test."""
    started: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        started.append(args[0] if args else kwargs)
        raise AssertionError(f"a process was started: {started[-1]!r}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess, "Popen", refuse)
        patch.setattr(os, "system", refuse)
        patch.setattr(os, "popen", refuse)
        yield started


@pytest.fixture
def no_process() -> Iterator[list[object]]:
    with no_processes() as started:
        yield started


@pytest.fixture
def closed_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """globalctl's clients at a loopback port nobody listens on, without retries: the first AWS
    call of a command fails at once with its own clear line."""
    with unreachable(monkeypatch) as url:
        yield url


def invoke(project: Path, *args: str, input: str | None = None):  # noqa: A002 - CliRunner's name
    return runner.invoke(app, ["--config", str(project / "samconfig.toml"), *args], input=input)


def error_line(result) -> str:  # noqa: ANN001 - a click Result
    """The one line a refused command prints; fails on a traceback, a panel or a zero exit."""
    assert result.exit_code not in (0, None), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "╭" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def tree(base: Path) -> dict[str, bytes | None]:
    """Every file and folder under base (contents for files), to compare before and after."""
    found = {}
    for path in sorted(base.rglob("*")):
        found[str(path.relative_to(base))] = path.read_bytes() if path.is_file() else None
    return found


def names(value: str, line: str) -> bool:
    """The error line names the value: as typed, or as repr() shows it (control characters escaped)."""
    return (value in line and "\n" not in value) or repr(value)[1:-1][:150] in line


# --- bad values: one line, naming the value, non-zero exit, nothing started or written --------------

BAD = [
    # env names: positional and list options
    (["params", "euw9"], "euw9", 2),
    (["failover", "drain", "euw9"], "euw9", 2),
    (["failover", "restore", "$(id)"], "$(id)", 2),
    (["failover", "drain", "table"], "table", 2),
    (["drill", "../x"], "../x", 2),
    (["drill", "routing"], "routing", 2),
    (["local", "fault", "euw9", "outage"], "euw9", 2),
    (["local", "fault", "table", "outage"], "table", 2),
    (["local", "heal", "../x"], "../x", 2),
    (["rollout", "--regions", "euw1,euw9", "--dry-run", "--skip-validate"], "euw9", 2),
    (["rollout", "--regions", "euw1,table", "--dry-run"], "table", 2),
    (["rollout", "--regions", ",", "--dry-run"], ",", 2),
    (["rollout", "--regions", "", "--dry-run"], "''", 2),
    (["rollout", "--canary", "euw9", "--dry-run"], "euw9", 2),
    (["rollout", "--regions", "euw1", "--canary", "use1", "--dry-run"], "use1", 2),
    (["plan", "--regions", "euw1; id"], "euw1; id", 2),
    (["plan", "--canary", "$(id)"], "$(id)", 2),
    (["rollback", "--to", "v1", "--regions", "euw9"], "euw9", 2),
    # release ids
    (["rollout", "--release", "v1; rm -rf /", "--dry-run"], "v1; rm -rf /", 2),
    (["plan", "--release", "../../etc"], "../../etc", 2),
    (["rollback", "--to", "$(id)"], "$(id)", 2),
    (["rollout", "--resume", "--release", "v2"], "--release", 2),
    # file paths
    (["validate", "--skip-lint"], "samconfig.toml", 2),  # with --config naming a directory, below
    # numbers
    (["rollout", "--max-concurrent", "0", "--dry-run"], "0", 2),
    (["rollout", "--max-concurrent", "9", "--dry-run"], "9", 2),
    (["rollout", "--max-concurrent", "two", "--dry-run"], "two", 2),
    (["rollout", "--failure-tolerance", "-1", "--dry-run"], "-1", 2),
    (["rollout", "--bake", "-5", "--dry-run"], "-5", 2),
    (["rollout", "--bake", "86401", "--dry-run"], "86401", 2),
    (["rollout", "--bake", "1e9", "--dry-run"], "1e9", 2),
    (["rollout", "--gate-timeout", "0", "--dry-run"], "0", 2),
    (["rollout", "--gate-timeout", "inf", "--dry-run"], "inf", 2),
    (["rollout", "--gate-timeout", "nan", "--dry-run"], "nan", 2),
    (["plan", "--max-concurrent", "0"], "0", 2),
    (["plan", "--bake", "-1"], "-1", 2),
    (["rollback", "--max-concurrent", "0"], "0", 2),
    (["drill", "euw1", "--duration", "4"], "4", 2),
    (["drill", "euw1", "--duration", "inf"], "inf", 2),
    (["drill", "euw1", "--duration", "nan"], "nan", 2),
    (["drill", "euw1", "--clients", "65"], "65", 2),
    (["drill", "euw1", "--rate", "0"], "0", 2),
    (["drill", "euw1", "--mode", "flood"], "flood", 2),
    (["local", "fault", "euw1", "slow", "--latency-ms", "-1"], "-1", 2),
    (["local", "fault", "euw1", "slow", "--latency-ms", "60001"], "60001", 2),
    (["local", "fault", "euw1", "errors", "--error-rate", "1.5"], "1.5", 2),
    (["local", "fault", "euw1", "errors", "--error-rate", "nan"], "nan", 2),
    (["local", "fault", "euw1", "flood"], "flood", 2),
    (["local", "up", "--timeout", "0"], "0", 2),
    (["local", "up", "--timeout", "inf"], "inf", 2),
    (["local", "up", "--base-port", "65530"], "65530", 2),
    (["local", "up", "--health-interval-scale", "2"], "2", 2),
    (["availability", "--series", "99", "1e-99999999"], "1e-99999999", 2),
    (["availability", "--parallel", "99", "nan"], "nan", 2),
    (["availability", "--component", "lambda=101"], "lambda=101", 2),
    (["availability", "--series", *["99"] * 65], "65", 2),
    # locations and names
    (["local", "resolve", "api.global-backend.example", "--from", "mars-1"], "mars-1", 2),
    (["local", "resolve", "api.global-backend.example", "--from", "eu-west-1; id"], "eu-west-1; id", 2),
    (["local", "resolve", "api..example"], "api..example", 2),
    (["local", "resolve", "--", "-api.example"], "-api.example", 2),
    (["local", "resolve", "$(id).example"], "$(id).example", 2),
    # URLs
    (["drill", "euw1", "--entry", "file:///etc/passwd"], "file:///etc/passwd", 2),
    (["drill", "euw1", "--entry", "ftp://api.example.com"], "ftp://api.example.com", 2),
    (["drill", "euw1", "--entry", "https://"], "https://", 2),
    (["drill", "euw1", "--entry", "api.example.com"], "api.example.com", 2),
    (["drill", "euw1", "--entry", "https://user:pw@api.example.com"], "https://user:pw@api.example.com", 2),
    (["drill", "euw1", "--entry", "https://api.example.com/?x=1"], "https://api.example.com/?x=1", 2),
    (["drill", "euw1", "--entry", "https://api.example.com:99999"], "https://api.example.com:99999", 2),
    (["drill", "euw1", "--entry", "https://api.example.com/a b"], "https://api.example.com/a b", 2),
    # the command line itself
    (["nosuch"], "nosuch", 2),
    (["params"], "Missing argument 'env'", 2),
]


@pytest.mark.parametrize(("args", "value", "code"), BAD, ids=[" ".join(a)[:60] for a, _, _ in BAD])
def test_a_bad_value_is_one_line_naming_it(project, no_process, args, value, code):
    before = tree(project.parents[2])
    config = project if args[:1] != ["validate"] else project / "regional"  # a directory as --config
    if args[:1] == ["validate"]:
        result = runner.invoke(app, ["--config", str(config), *args])
        value = str(config)
    else:
        result = invoke(project, *args)
    line = error_line(result)
    assert result.exit_code == code, line
    assert names(value, line), line
    assert no_process == []
    assert tree(project.parents[2]) == before  # nothing written, not even .globalctl/


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("where", [
    ["rollout", "--release", "{}", "--yes"], ["rollout", "--release", "{}", "--dry-run"],
    ["plan", "--release", "{}"], ["rollback", "--to", "{}", "--yes"],
    ["rollout", "--regions", "{}", "--yes", "--release", "v1"],
    ["rollout", "--canary", "{}", "--yes", "--release", "v1"],
    ["params", "{}"], ["drill", "{}"], ["failover", "drain", "{}"], ["local", "fault", "{}", "outage"],
], ids=lambda w: " ".join(w[:2]) if isinstance(w, list) else None)
def test_a_hostile_value_is_refused_before_anything_runs(project, no_process, hostile, where):
    """Nothing is started (sam, git, cfn-lint: subprocess is refused), nothing is written anywhere
    under the test's folder (a `../../` escape would land there), and the line names the value."""
    if "{}" in where[1:] and where[where.index("{}") - 1][:2] != "--" and hostile.startswith("-"):
        where = [*where[:where.index("{}")], "--", *where[where.index("{}"):]]  # a positional: after --
    before = tree(project.parents[2])
    result = invoke(project, *[hostile if part == "{}" else part for part in where])
    line = error_line(result)
    assert result.exit_code == 2, line
    assert hostile == "" or names(hostile, line) or names(hostile.strip(","), line), line
    assert no_process == []
    assert tree(project.parents[2]) == before


# --- good values pass validation and stop at the first step that needs a cloud ----------------------


def test_good_rollout_options_reach_the_confirmation(project, no_process):
    result = invoke(project, "rollout", "--release", "v1.2.3_rc-1", "--regions", "euw1,use1", "--canary", "use1",
                    "--max-concurrent", "8", "--failure-tolerance", "1", "--bake", "86400",
                    "--gate-timeout", "3600", "--skip-validate", input="n\n")
    assert result.exit_code == 1, result.output
    assert "rollout v1.2.3_rc-1: max 8 region(s) at once, failure tolerance 1, bake 86400 s" in result.output
    # No cloud here: the plan says the deployed alarms were not read (each region's bake is derived after its deploy).
    assert "deployed alarms not read" in result.output
    assert "canary use1 (us-east-1)" in result.output and "roll v1.2.3_rc-1 out?" in result.output
    assert not (project / ".globalctl").exists()


@pytest.mark.parametrize("args", [
    ["plan", "--release", "v1", "--regions", "euw1", "--canary", "euw1", "--max-concurrent", "1",
     "--failure-tolerance", "0", "--bake", "0", "--skip-validate"],
    ["rollout", "--release", "V-1.0", "--yes", "--skip-validate"],
    ["drill", "euw1", "--entry", "https://api.example.com", "--duration", "5", "--clients", "64", "--rate", "50",
     "--mode", "drain"],
    ["drill", "apse1", "--entry", "http://127.0.0.1:4611/", "--duration", "3600"],
    ["failover", "drain", "euw1"],
    ["failover", "restore", "apse1", "--no-wait"],
])
def test_good_values_get_to_the_first_aws_call(project, no_process, closed_endpoint, args):
    result = invoke(project, *args)
    assert result.exit_code == 1 and "Traceback" not in result.output
    # The command's own error at its first AWS call (rollout prints its plan before): validation passed.
    assert result.output.splitlines()[-1].startswith(f"error: cannot reach {closed_endpoint}"), result.output


@pytest.mark.parametrize("args", [
    ["local", "fault", "euw1", "slow", "--latency-ms", "60000"],
    ["local", "fault", "use1", "errors", "--error-rate", "1"],
    ["local", "heal", "all"],
    ["local", "heal", "apse1"],
    ["local", "resolve", "api.global-backend.example.", "--from", "us-west-2"],
])
def test_good_local_values_get_to_the_running_cloud_check(project, no_process, args):
    line = error_line(invoke(project, *args))
    assert "the local cloud is not running" in line


def test_good_values_that_need_no_cloud_succeed(project, no_process):
    assert invoke(project, "params", "euw1").stdout.strip() == "TableName=global-items Release=unreleased"
    result = invoke(project, "rollback", "--to", "v1", "--regions", "euw1", "--max-concurrent", "8")
    assert error_line(result) == "error: release v1 has no record for euw1 (known releases: none)"
    assert invoke(project, "availability", "--series", "1e-3", "99.999").exit_code == 0


def test_a_config_that_is_missing_or_a_directory_is_one_line(project, no_process):
    missing = error_line(runner.invoke(app, ["--config", str(project / "nope.toml"), "validate"]))
    assert "nope.toml" in missing and "no such file" in missing
    folder = error_line(runner.invoke(app, ["--config", str(project), "status"]))
    assert str(project) in folder and "is a directory" in folder
    # A command that reads no config runs without one.
    assert runner.invoke(app, ["--config", str(project / "nope.toml"), "availability", "--series", "99"]).exit_code == 0


# --- state files: a tampered file is one clear error, never a path outside .globalctl/ ---------------


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _plan(release: str = "v1", env: str = "euw1") -> dict:
    return {"action": "rollout", "release": release, "max_concurrent": 1, "failure_tolerance": 0,
            "bake_seconds": 0, "drain": False,
            "waves": [{"number": 1, "targets": [{"env": env, "kind": "region", "region": "eu-west-1",
                                                 "stack_name": "global-backend", "canary": True}]}]}


@pytest.mark.parametrize(("state", "expected"), [
    ({"status": "interrupted", "plan": _plan(release="../../etc")}, "release id '../../etc' is invalid"),
    ({"status": "interrupted", "plan": _plan(env="../../x")}, "unknown environment '../../x'"),
    ({"status": "interrupted", "plan": {**_plan(), "waves": [{"number": 1, "targets": [
        {"env": "euw1", "kind": "region", "region": "us-east-1", "stack_name": "global-backend", "canary": True}]}]}},
     "samconfig says region global-backend in eu-west-1"),
    ({"status": "interrupted", "plan": _plan(), "results": {"euw1": {"status": "deployed", "shell": "id"}}},
     "the result of euw1 is not a target result"),
    ({"status": "interrupted", "plan": _plan(), "results": {"euw1": {"status": "deployed"}}},
     "the result of euw1 is not a target result"),
    ({"status": "interrupted", "plan": _plan(), "snapshots": {"euw1": {"env": "euw1"}}},
     "a stack record needs env, stack_name and region"),
    ({"status": "interrupted", "plan": _plan(), "results": {"../x": {}}}, "results must map the plan's envs"),
    ({"status": "running", "plan": "rm -rf /"}, "malformed plan"),
])
def test_a_tampered_rollout_state_is_refused_on_resume(project, no_process, state, expected):
    current = project / ".globalctl" / "rollouts" / "current.json"
    _write(current, state)
    before = tree(project.parents[2])
    line = error_line(invoke(project, "rollout", "--resume", "--yes"))
    assert line.startswith(f"error: {current}: ") and expected in line, line
    assert tree(project.parents[2]) == before


def test_a_state_file_that_is_not_an_object_is_one_line(project, no_process):
    current = project / ".globalctl" / "rollouts" / "current.json"
    _write(current, ["interrupted"])
    assert f"{current} is not a rollout state" in error_line(invoke(project, "rollout", "--resume"))


def test_a_tampered_history_cannot_name_a_path(project, no_process):
    history = project / ".globalctl" / "history.json"
    _write(history, [{"action": "rollout", "status": "complete", "release": "../../../etc"},
                     {"action": "rollout", "status": "complete", "release": "v2"}])
    before = tree(project.parents[2])
    line = error_line(invoke(project, "rollback", "--yes"))
    assert line.startswith(f"error: {history}: release id '../../../etc' is invalid"), line
    _write(history, {"not": "a list"})
    assert "is not a list of JSON objects" in error_line(invoke(project, "rollback", "--yes"))
    assert tree(project.parents[2]) == {**before, str(history.relative_to(project.parents[2])): history.read_bytes()}


def test_a_release_record_that_is_not_a_stack_record_is_one_line(project, no_process):
    record = project / ".globalctl" / "releases" / "v1" / "euw1.json"
    _write(record, {"env": "euw1", "stack_name": "global-backend", "region": "eu-west-1", "command": "id"})
    line = error_line(invoke(project, "rollback", "--to", "v1", "--regions", "euw1", "--yes"))
    assert line.startswith(f"error: {record}: a stack record needs") and "only env" in line


def test_a_planted_symlink_cannot_carry_a_read_or_write_out_of_globalctl(project, tmp_path, no_process):
    outside = tmp_path / "outside"
    _write(outside / "euw1.json", {"env": "euw1", "stack_name": "global-backend", "region": "eu-west-1"})
    releases = project / ".globalctl" / "releases"
    releases.mkdir(parents=True)
    (releases / "v1").symlink_to(outside, target_is_directory=True)
    line = error_line(invoke(project, "rollback", "--to", "v1", "--regions", "euw1", "--yes"))
    assert "resolves outside" in line and str(project / ".globalctl") in line

    from globalctl.rollout.records import Records

    with pytest.raises(GlobalctlError, match="resolves outside"):
        Records(project / "samconfig.toml").keep_release("v1", stacks.Snapshot("euw1", "s", "eu-west-1"))
    assert sorted(p.name for p in outside.iterdir()) == ["euw1.json"]


def test_a_drill_report_is_never_written_outside_globalctl(project):
    from globalctl.drill import report as drill

    config = project / "samconfig.toml"
    for env in ("../../x", "/etc/x", ".hidden", "a/b"):
        with pytest.raises(GlobalctlError, match="cannot be a file name under .globalctl/"):
            drill.save_report(config, {"env": env, "run_id": "20250101T000000Z-abcd"})
    assert not (project / ".globalctl" / "drills").exists() or not any((project / ".globalctl" / "drills").iterdir())
    saved = drill.save_report(config, {"env": "euw1", "run_id": "20250101T000000Z-abcd"})
    assert saved.parent == project.resolve() / ".globalctl" / "drills"


# --- the release-id grammar ----------------------------------------------------------------------------

def _template_release_pattern() -> re.Pattern[str]:
    from cfnlint.decode import decode

    template, _ = decode(str(ROOT / "template.yaml"))
    return re.compile(template["Parameters"]["Release"]["AllowedPattern"])


TEMPLATE_RELEASE = _template_release_pattern()
TAG_VALUE = re.compile(r"[\w\s_.:/=+\-@]{1,256}")  # CloudFormation Tag Value, 1-256 characters
accepted = st.from_regex(inputs.RELEASE_RULE, fullmatch=True)


@settings(max_examples=300)
@given(accepted)
def test_every_accepted_release_is_a_tag_value_a_template_value_and_one_plain_file_name(release):
    from samcli.cli.types import CfnTags

    assert inputs.release_problem(release) is None
    assert TEMPLATE_RELEASE.fullmatch(release)  # template.yaml's Release AllowedPattern
    assert TAG_VALUE.fullmatch(release) and len(release) <= 256
    assert CfnTags().convert((f"release={release}",), None, None) == {"release": release}
    assert shlex.quote(release) == release  # nothing a shell would read
    assert release not in (".", "..") and release[0] not in ".-" and Path(release).name == release
    root = Path("/state/.globalctl")
    assert inputs.inside(root, (release, "release id")).parent == root


@settings(max_examples=500)
@given(st.text(min_size=1).filter(lambda s: re.search(r"[^A-Za-z0-9._-]", s)))
def test_every_string_with_a_character_outside_the_grammar_is_refused(text):
    problem = inputs.release_problem(text)
    assert problem is not None and inputs.shown(text)[:50] in problem
    with pytest.raises(GlobalctlError):
        inputs.check_release(text)


@settings(max_examples=200)
@given(st.text(alphabet="abc.-_", min_size=1).filter(lambda s: s[0] in ".-_") | st.text(min_size=65))
def test_a_leading_dot_dash_or_underscore_or_a_65th_character_is_refused(text):
    assert inputs.release_problem(text) is not None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(release=accepted)
def test_the_cli_takes_every_accepted_release(shared_project, release):
    # --bake 0: the default bake reads the deployed alarms first, and this test has no cloud; nor
    # does it read which regions are deployed (a plan does: new regions are planned apart).
    with no_processes(), mock.patch.object(RolloutService, "stacks_exist", lambda _self: {}):
        result = invoke(shared_project, "rollout", "--release", release, "--bake", "0", "--skip-validate",
                        input="n\n")
    assert result.exit_code == 1 and f"roll {release} out?" in result.output, result.output
    assert not (shared_project / ".globalctl").exists()


@settings(max_examples=25, deadline=None)
@given(release=st.text(min_size=1).filter(lambda s: inputs.release_problem(s) and "\x00" not in s
                                          and not s.startswith("-")))
def test_the_cli_refuses_every_other_release_in_one_line(shared_project, release):
    with no_processes():
        result = invoke(shared_project, "rollback", "--to", release, "--yes")
    line = error_line(result)
    assert result.exit_code == 2 and "release id" in line
    assert not (shared_project / ".globalctl").exists()


# --- nothing reaches a shell --------------------------------------------------------------------------

SHELL_CALLS = {("os", "system"), ("os", "popen"), ("subprocess", "getoutput"), ("subprocess", "getstatusoutput"),
               ("asyncio", "create_subprocess_shell"), ("pty", "spawn")}
PROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output"}


def shell_uses(source: str, filename: str = "<source>") -> list[str]:
    """Every place a string could reach a shell: shell=<anything but False>, os.system / os.popen
    and friends (called or imported), and a subprocess call given one string instead of a list."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.ImportFrom) and node.module:
            found += [f"{filename}:{node.lineno}: imports {node.module}.{a.name}" for a in node.names
                      if (node.module, a.name) in SHELL_CALLS]
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            value = keyword.value
            if keyword.arg == "shell" and not (isinstance(value, ast.Constant) and value.value is False):
                found.append(f"{filename}:{node.lineno}: shell={ast.unparse(keyword.value)}")
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if (func.value.id, func.attr) in SHELL_CALLS:
                found.append(f"{filename}:{node.lineno}: {func.value.id}.{func.attr}()")
            if func.value.id == "subprocess" and func.attr in PROCESS_CALLS and node.args:
                first = node.args[0]
                if isinstance(first, (ast.JoinedStr, ast.BinOp)) or (
                        isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    found.append(f"{filename}:{node.lineno}: subprocess.{func.attr}() given a string")
    return found


def test_the_scan_finds_each_way_to_a_shell():
    source = "\n".join([
        "import os, subprocess, asyncio", "from os import system", "subprocess.run('ls', shell=True)",
        "subprocess.Popen(['ls'], shell=flag)", "os.system('ls')", "os.popen('ls')",
        "subprocess.check_output(f'ls {x}')", "subprocess.getoutput('ls')", "asyncio.create_subprocess_shell('ls')",
        "subprocess.run(['ls'], shell=False)", "subprocess.run(['ls'])", "subprocess.run(command)",
    ])
    found = shell_uses(source)
    assert len(found) == 9, found
    assert {line.split(": ", 1)[1] for line in found} == {
        "imports os.system", "shell=True", "subprocess.run() given a string", "shell=flag", "os.system()",
        "os.popen()", "subprocess.check_output() given a string", "subprocess.getoutput()",
        "asyncio.create_subprocess_shell()",
    }


def test_no_code_reaches_a_shell():
    files = [p for folder in ("cli", "src", "bench", "harness") if (ROOT / folder).is_dir()
             for p in sorted((ROOT / folder).rglob("*.py")) if ".venv" not in p.parts]
    assert len(files) > 50  # the scan really covers the code
    found = [hit for path in files for hit in shell_uses(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert found == []


HOSTILE_VALUE = "$(id); rm -rf / `id` \"quoted\" 'single' a  b"


def test_sam_gets_one_argument_per_override_and_reads_each_back_unchanged(project, monkeypatch):
    """deploy_command's list, parsed by sam deploy's own click command (no process, no AWS)."""
    from samcli.commands.deploy.command import cli as sam_deploy

    topology = topo.load(project / "samconfig.toml")
    env = topology.env("euw1")
    parameters = {**env.parameters, "Release": "v1.2", "ServiceSwitch": HOSTILE_VALUE, "Empty": ""}
    argv = stacks.deploy_command(topology, env, parameters, "v1.2")
    assert all(isinstance(arg, str) for arg in argv) and argv[1] == "deploy"
    assert HOSTILE_VALUE not in argv  # quoted in SAM's syntax, inside its own Key="..." argument
    monkeypatch.chdir(project)
    context = sam_deploy.make_context("deploy", argv[2:])
    assert context.params["parameter_overrides"] == parameters
    assert context.params["tags"] == {"app": "global-backend", "release": "v1.2"}
    assert context.params["config_env"] == "euw1"


@settings(max_examples=300)
@given(st.dictionaries(st.from_regex(r"[A-Za-z0-9]{1,30}", fullmatch=True),
                       st.text().filter(lambda v: "\\" not in v), max_size=6))
def test_any_override_value_without_a_backslash_reaches_sam_unchanged(parameters):
    from samcli.cli.types import CfnParameterOverridesType

    parse = CfnParameterOverridesType().convert
    assert parse(tuple(topo.sam_overrides(parameters)), None, None) == parameters
    rendered = topo.render_overrides(parameters)  # `globalctl params`: one string for "$(...)"
    assert topo.parse_overrides(rendered) == parameters
    if parameters:
        assert parse(rendered, None, None) == parameters


def test_a_value_sam_cannot_carry_is_refused_not_mangled():
    with pytest.raises(GlobalctlError, match="backslash"):
        topo.sam_overrides({"Pattern": "a\\b"})
    with pytest.raises(GlobalctlError, match="not alphanumeric"):
        topo.sam_overrides({"Bad Key": "x"})
    with pytest.raises(GlobalctlError, match="release id"):
        stacks.release_tags(topo.load(ROOT / "samconfig.toml").env("euw1"), "v1 extra=tag")
