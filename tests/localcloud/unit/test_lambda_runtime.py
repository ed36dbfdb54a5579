"""The local Lambda runtime runs real worker processes from real zips, as Lambda would."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from localcloud.awslambda.runtime import (
    FunctionNotDeployed,
    FunctionPool,
    FunctionSpec,
    InvalidRequestContent,
    LambdaRuntime,
    UnsafeZipError,
    code_sha256,
    extract_code,
    sha256_hex,
)
from localcloud.invocation import TooManyRequests

ACCOUNT = "123456789012"

BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
    "AWS_CONFIG_FILE": os.devnull,
    "BASE_ONLY": "from-base",
}

# One module covering every behaviour the tests drive; the event's "action" picks one.
APP = textwrap.dedent('''
    import decimal, os, signal, sys, time
    from pathlib import Path

    COUNT = 0
    MARK = os.environ.get("MARK", "")
    print("init ran in", os.getpid())

    def _wait_for(path, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if Path(path).exists():
                return True
            time.sleep(0.01)
        return False

    def handler(event, context):
        global COUNT
        COUNT += 1
        action = event.get("action", "echo")
        if action == "echo":
            return {"event": event, "count": COUNT, "pid": os.getpid(), "mark": MARK, "version": 1}
        if action == "env":
            return {
                "env": dict(os.environ), "cwd": os.getcwd(), "path0": sys.path[0],
                "context": {
                    "function_name": context.function_name,
                    "function_version": context.function_version,
                    "invoked_function_arn": context.invoked_function_arn,
                    "memory_limit_in_mb": context.memory_limit_in_mb,
                    "aws_request_id": context.aws_request_id,
                    "log_group_name": context.log_group_name,
                    "log_stream_name": context.log_stream_name,
                    "remaining": context.get_remaining_time_in_millis(),
                    "client_context": context.client_context,
                    "cognito_identity_id": context.identity.cognito_identity_id,
                },
            }
        if action == "raise":
            raise ValueError(f"boom {COUNT}")
        if action == "sleep":
            time.sleep(event["seconds"])
            return {"slept": True}
        if action == "exit":
            os._exit(event["code"])
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if action == "print":
            print("to stdout", "\\x00\\x00\\x00\\x10{not a frame")
            print("to stderr", file=sys.stderr)
            sys.__stdout__.write("to real stdout\\n")
            os.write(1, b"straight to fd 1\\n")
            return {"printed": True, "count": COUNT}
        if action == "barrier":
            Path(event["dir"], context.aws_request_id).touch()
            deadline = time.monotonic() + event["wait"]
            while time.monotonic() < deadline:
                seen = len(list(Path(event["dir"]).iterdir()))
                if seen >= event["parties"]:
                    break
                time.sleep(0.01)
            return {"seen": seen, "pid": os.getpid()}
        if action == "block":
            # Written whole, then renamed: the tests wait for the file to exist, then read the pid.
            Path(event["started"] + ".tmp").write_text(str(os.getpid()))
            os.replace(event["started"] + ".tmp", event["started"])
            released = _wait_for(event["release"], event.get("wait", 15))
            return {"released": released, "mark": MARK, "pid": os.getpid()}
        if action == "unserialisable":
            return {1, 2}
        if action == "decimal":
            return {"price": decimal.Decimal("1.5"), "qty": decimal.Decimal("3")}
        if action == "bytes":
            return b"\\x00raw"
        raise NotImplementedError(action)
''')


def make_zip(files: dict[str, str]) -> bytes:
    """The same files make the same bytes: a fixed timestamp per entry (writestr with a bare name
    stamps the current time, so two packages of one code built a second apart had different
    CodeSha256s, and "same spec: stays warm" failed whenever a loaded machine crossed a second)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), text)
    return buf.getvalue()


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting for a parent that is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LambdaRuntime]:
    rt = LambdaRuntime(BASE_ENV, tmp_path / "logs", max_concurrency=4)
    try:
        yield rt
    finally:
        pids = rt.pids()
        rt.close()
        assert not [pid for pid in pids if alive(pid)], "close() left worker processes behind"


def make_spec(tmp_path: Path, files: dict[str, str] | None = None, *, name: str = "fn",
              region: str = "us-east-1", handler: str = "app.handler", **overrides) -> FunctionSpec:
    data = make_zip(files if files is not None else {"app.py": APP})
    _, code_dir = extract_code(data, tmp_path / "code")
    return FunctionSpec(
        function_name=name,
        function_arn=f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}",
        region=region, handler=handler, code_sha256=code_sha256(data), code_dir=code_dir,
        **overrides)


def deploy(runtime: LambdaRuntime, tmp_path: Path, **kwargs) -> FunctionSpec:
    spec = make_spec(tmp_path, **kwargs)
    runtime.deploy(spec)
    return spec


# --------------------------------------------------------------------------- code packages

def test_extract_code_is_content_addressed_idempotent_and_race_safe(tmp_path: Path) -> None:
    data = make_zip({"app.py": "X = 1\n", "pkg/__init__.py": "", "pkg/mod.py": "Y = 2\n"})
    root = tmp_path / "code"
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: extract_code(data, root), range(8)))
    digest, path = results[0]
    assert digest == hashlib.sha256(data).hexdigest() == sha256_hex(data)
    assert code_sha256(data) == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert all(result == (digest, path) for result in results)
    assert path == root / digest
    assert (path / "pkg" / "mod.py").read_text() == "Y = 2\n"
    assert sorted(p.name for p in root.iterdir()) == [digest], "staging directories left behind"
    assert extract_code(data, root) == (digest, path)


@pytest.mark.parametrize("evil", ["../evil.py", "/abs/evil.py", "pkg/../../evil.py",
                                  "..\\evil.py", "C:/evil.py"])
def test_extract_code_rejects_zip_slip(tmp_path: Path, evil: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("app.py", "X = 1\n")
        archive.writestr(zipfile.ZipInfo(evil), "pwned")
    root = tmp_path / "nested" / "code"
    with pytest.raises(UnsafeZipError):
        extract_code(buf.getvalue(), root)
    assert list(root.iterdir()) == []  # nothing published, staging removed
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == []


def test_extract_code_rejects_a_corrupt_archive(tmp_path: Path) -> None:
    with pytest.raises(UnsafeZipError):
        extract_code(b"PK\x03\x04 definitely not a zip", tmp_path)


def test_spec_is_immutable_and_any_change_is_a_new_spec(tmp_path: Path) -> None:
    env = {"A": "1"}
    spec = make_spec(tmp_path, environment=env)
    env["A"] = "2"
    assert spec.environment["A"] == "1"
    with pytest.raises(TypeError):
        spec.environment["A"] = "3"  # type: ignore[index]
    with pytest.raises(TypeError):
        spec.environment.update(A="3")  # type: ignore[attr-defined]
    assert dataclasses.asdict(spec)["environment"] == {"A": "1"}
    assert dataclasses.replace(spec, memory_mb=256).environment == {"A": "1"}
    same = make_spec(tmp_path, environment={"A": "1"})
    assert spec == same and hash(spec) == hash(same)
    assert spec != make_spec(tmp_path, environment={"A": "2"})
    assert spec != make_spec(tmp_path, environment={"A": "1"}, timeout_seconds=4)

    configuration = {
        "FunctionName": "fn", "FunctionArn": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:fn",
        "Handler": "app.handler", "CodeSha256": "abc=", "Timeout": 10, "MemorySize": 512,
        "Runtime": "python3.13", "Architectures": ["arm64"],
        "Environment": {"Variables": {"TABLE": "t"}},
    }
    built = FunctionSpec.from_configuration(configuration, spec.code_dir)
    assert (built.region, built.timeout_seconds, built.memory_mb, built.architecture) == (
        "eu-west-1", 10, 512, "arm64")
    assert dict(built.environment) == {"TABLE": "t"}


# --------------------------------------------------------------------------- invocation

def test_event_round_trip_context_and_cold_then_warm(runtime: LambdaRuntime, tmp_path: Path) -> None:
    spec = deploy(runtime, tmp_path, memory_mb=256, timeout_seconds=7)
    event = {"action": "echo", "nested": {"list": [1, 2.5, None, True], "text": "héllo ✓"}}
    first = runtime.invoke(spec.function_arn, event, request_id="req-1")
    assert first.function_error is None
    assert first.request_id == "req-1"
    assert first.json()["event"] == event
    assert first.cold_start and first.init_duration_ms > 0

    raw = runtime.invoke(spec.function_arn, b'{"action": "env"}')
    assert not raw.cold_start
    context = raw.json()["context"]
    assert context == {
        "function_name": "fn", "function_version": "$LATEST",
        "invoked_function_arn": spec.function_arn, "memory_limit_in_mb": "256",
        "aws_request_id": raw.request_id, "log_group_name": "/aws/lambda/fn",
        "log_stream_name": context["log_stream_name"], "remaining": context["remaining"],
        "client_context": None, "cognito_identity_id": None,
    }
    assert "/[$LATEST]" in context["log_stream_name"]
    assert 0 < context["remaining"] <= 7000

    empty = runtime.invoke(spec.function_arn, b"")  # the service delivers {} for no payload
    assert empty.json()["event"] == {}
    with pytest.raises(InvalidRequestContent):
        runtime.invoke(spec.function_arn, b"{not json")


def test_environment_is_base_plus_function_plus_lambda_reserved(
        runtime: LambdaRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPERVISOR_SECRET", "must-not-leak")
    spec = deploy(runtime, tmp_path, name="envfn", region="ap-southeast-2", memory_mb=512,
                  environment={"TABLE_NAME": "orders", "BASE_ONLY": "overridden",
                               "AWS_REGION": "us-east-1", "TZ": "Europe/Paris",
                               "AWS_ENDPOINT_URL": "https://lambda.amazonaws.com",
                               "AWS_PROFILE": "prod"})
    result = runtime.invoke(spec.function_arn, {"action": "env"})
    body = result.json()
    env = body["env"]
    assert env["TABLE_NAME"] == "orders"
    assert env["BASE_ONLY"] == "overridden"  # a function may override ordinary base keys
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"  # ...but never where traffic goes
    assert "AWS_PROFILE" not in env
    assert "SUPERVISOR_SECRET" not in env
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    expected = {
        "AWS_REGION": "ap-southeast-2", "AWS_DEFAULT_REGION": "ap-southeast-2",
        "AWS_LAMBDA_FUNCTION_NAME": "envfn", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/envfn",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13", "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "_HANDLER": "app.handler", "TZ": ":UTC", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    }
    assert {key: env.get(key) for key in expected} == expected
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == body["context"]["log_stream_name"]
    assert Path(env["LAMBDA_RUNTIME_DIR"]).is_dir()
    assert body["cwd"] == str(spec.code_dir)
    assert body["path0"] == str(spec.code_dir)


def test_functions_in_different_regions_do_not_share_globals_or_env(
        runtime: LambdaRuntime, tmp_path: Path) -> None:
    east = deploy(runtime, tmp_path, region="us-east-1", environment={"MARK": "east"})
    west = deploy(runtime, tmp_path, region="eu-west-1", environment={"MARK": "west"})
    counts = [runtime.invoke(east.function_arn, {"action": "echo"}).json() for _ in range(3)]
    other = runtime.invoke(west.function_arn, {"action": "echo"}).json()
    assert [c["count"] for c in counts] == [1, 2, 3]
    assert len({c["pid"] for c in counts}) == 1  # warm: the same environment every time
    assert other["count"] == 1 and other["mark"] == "west" and counts[0]["mark"] == "east"
    assert other["pid"] != counts[0]["pid"]
    regions = {runtime.invoke(arn, {"action": "env"}).json()["env"]["AWS_REGION"]
               for arn in (east.function_arn, west.function_arn)}
    assert regions == {"us-east-1", "eu-west-1"}


def test_update_means_cold_start_with_new_configuration(runtime: LambdaRuntime, tmp_path: Path) -> None:
    spec = deploy(runtime, tmp_path, environment={"MARK": "v1"})
    assert runtime.invoke(spec.function_arn, {}).json()["count"] == 1
    warm = runtime.invoke(spec.function_arn, {}).json()
    assert warm["count"] == 2

    runtime.deploy(make_spec(tmp_path, environment={"MARK": "v2"}))
    after = runtime.invoke(spec.function_arn, {})
    assert after.cold_start
    assert after.json()["count"] == 1 and after.json()["mark"] == "v2"
    assert not alive(warm["pid"]) and runtime.pids() == [after.json()["pid"]]

    runtime.deploy(make_spec(tmp_path, environment={"MARK": "v2"}))  # same spec: stays warm
    assert runtime.invoke(spec.function_arn, {}).json()["count"] == 2


def test_code_change_through_update_takes_effect(runtime: LambdaRuntime, tmp_path: Path) -> None:
    spec = deploy(runtime, tmp_path)
    assert runtime.invoke(spec.function_arn, {}).json()["version"] == 1
    new_code = APP.replace('"version": 1', '"version": 2')
    runtime.deploy(make_spec(tmp_path, {"app.py": new_code}))
    assert runtime.spec(spec.function_arn).code_sha256 != spec.code_sha256
    assert runtime.invoke(spec.function_arn, {}).json()["version"] == 2


def test_update_lets_a_busy_environment_finish_then_retires_it(
        runtime: LambdaRuntime, tmp_path: Path) -> None:
    spec = deploy(runtime, tmp_path, environment={"MARK": "old"})
    started, release = tmp_path / "started", tmp_path / "release"
    with ThreadPoolExecutor(1) as executor:
        busy = executor.submit(runtime.invoke, spec.function_arn,
                               {"action": "block", "started": str(started), "release": str(release)})
        assert wait_until(started.exists)
        old_pid = int(started.read_text())
        runtime.deploy(make_spec(tmp_path, environment={"MARK": "new"}))
        fresh = runtime.invoke(spec.function_arn, {}).json()
        assert fresh["mark"] == "new" and fresh["pid"] != old_pid
        release.touch()
        finished = busy.result(timeout=10).json()
    assert finished == {"released": True, "mark": "old", "pid": old_pid}
    assert wait_until(lambda: not alive(old_pid))
    assert runtime.pids() == [fresh["pid"]]


def test_handler_exception_returns_error_payload_and_environment_survives(
        runtime: LambdaRuntime, tmp_path: Path) -> None:
    spec = deploy(runtime, tmp_path)
    first = runtime.invoke(spec.function_arn, {"action": "echo"}).json()
    failed = runtime.invoke(spec.function_arn, {"action": "raise"}, request_id="req-err")
    assert failed.function_error == "Unhandled"
    error = failed.json()
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "boom 2"
    assert error["requestId"] == "req-err"
    assert any("app.py" in frame and "in handler" in frame for frame in error["stackTrace"])
    assert not any("worker.py" in frame for frame in error["stackTrace"])
    assert "[ERROR] ValueError: boom 2" in failed.log_tail
    again = runtime.invoke(spec.function_arn, {"action": "echo"}).json()
    assert again["pid"] == first["pid"] and again["count"] == 3


@pytest.mark.parametrize(("files", "handler", "error_type", "message"), [
    ({"app.py": APP}, "missing.handler", "Runtime.ImportModuleError",
     "Unable to import module 'missing': No module named 'missing'"),
    ({"app.py": "import not_installed_dep\n"}, "app.handler", "Runtime.ImportModuleError",
     "Unable to import module 'app': No module named 'not_installed_dep'"),
    ({"app.py": APP}, "app.nope", "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'"),
    ({"app.py": APP}, "app", "Runtime.MalformedHandlerName",
     "Bad handler 'app': not enough values to unpack (expected 2, got 1)"),
    ({"app.py": "def handler(:\n"}, "app.handler", "Runtime.UserCodeSyntaxError",
     "Syntax error in module 'app'"),
    ({"app.py": "import os\nTABLE = os.environ['NO_SUCH_VAR']\n"}, "app.handler", "KeyError",
     "'NO_SUCH_VAR'"),
])
def test_init_failures_report_like_the_python_runtime(
        runtime: LambdaRuntime, tmp_path: Path, files, handler, error_type, message) -> None:
    spec = deploy(runtime, tmp_path, files=files, handler=handler)
    result = runtime.invoke(spec.function_arn, {})
    assert result.function_error == "Unhandled"
    error = result.json()
    assert error["errorType"] == error_type
    assert error["errorMessage"].startswith(message)
    assert result.cold_start
    assert f"[ERROR] {error_type}" in result.log_tail
    assert wait_until(lambda: runtime.pids() == [])  # the failed environment is gone
    assert runtime.invoke(spec.function_arn, {}).json()["errorType"] == error_type  # init re-runs


def test_timeout_kills_the_environment_and_the_next_invoke_starts_fresh(
        runtime: LambdaRuntime, tmp_path: Path) -> None:
    spec = deploy(runtime, tmp_path, timeout_seconds=1)
    pid = runtime.invoke(spec.function_arn, {}).json()["pid"]
    result = runtime.invoke(spec.function_arn, {"action": "sleep", "seconds": 60}, request_id="slow")
    assert result.function_error == "Unhandled"
    assert result.json() == {"errorType": "Sandbox.Timedout",
                             "errorMessage": "RequestId: slow Error: Task timed out after 1.00 seconds"}
    assert 1000 <= result.duration_ms < 10000
    assert "Task timed out after 1.00 seconds" in result.log_tail
    assert not alive(pid)
    recovered = runtime.invoke(spec.function_arn, {})
    assert recovered.cold_start and recovered.json()["count"] == 1


@pytest.mark.parametrize(("event", "reason"), [
    ({"action": "exit", "code": 3}, "exit status 3"),
    ({"action": "kill"}, "signal: killed"),
])
def test_worker_death_is_runtime_exit_error_then_recovers(
        runtime: LambdaRuntime, tmp_path: Path, event, reason) -> None:
    spec = deploy(runtime, tmp_path)
    pid = runtime.invoke(spec.function_arn, {}).json()["pid"]
    result = runtime.invoke(spec.function_arn, event, request_id="dies")
    assert result.function_error == "Unhandled"
    assert result.json() == {"errorType": "Runtime.ExitError",
                             "errorMessage": f"RequestId: dies Error: Runtime exited with error: {reason}"}
    assert not alive(pid)
    recovered = runtime.invoke(spec.function_arn, {})
    assert recovered.cold_start and recovered.json()["pid"] != pid


def test_results_are_marshalled_like_the_python_runtime(runtime: LambdaRuntime, tmp_path: Path) -> None:
    spec = deploy(runtime, tmp_path)
    bad = runtime.invoke(spec.function_arn, {"action": "unserialisable"})
    assert bad.function_error == "Unhandled"
    assert bad.json()["errorType"] == "Runtime.MarshalError"
    assert bad.json()["errorMessage"] == (
        "Unable to marshal response: Object of type set is not JSON serializable")
    assert runtime.invoke(spec.function_arn, {"action": "decimal"}).json() == {"price": 1.5, "qty": 3}
    assert runtime.invoke(spec.function_arn, {"action": "bytes"}).payload == b"\x00raw"


def test_prints_go_to_the_log_file_not_the_protocol(runtime: LambdaRuntime, tmp_path: Path) -> None:
    spec = deploy(runtime, tmp_path, name="chatty")
    result = runtime.invoke(spec.function_arn, {"action": "print"})
    assert result.function_error is None
    assert result.json() == {"printed": True, "count": 1}
    log = runtime.log_path(spec).read_text()
    assert runtime.log_path(spec) == tmp_path / "logs" / "us-east-1" / "chatty.log"
    for line in ("to stdout", "to stderr", "to real stdout", "straight to fd 1", "init ran in",
                 f"START RequestId: {result.request_id}", f"REPORT RequestId: {result.request_id}"):
        assert line in log
        assert line in result.log_tail
    assert runtime.invoke(spec.function_arn, {"action": "print"}).json()["count"] == 2


def test_concurrent_invocations_run_in_parallel_up_to_max_concurrency(
        runtime: LambdaRuntime, tmp_path: Path) -> None:
    spec = deploy(runtime, tmp_path)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    event = {"action": "barrier", "dir": str(barrier), "parties": 4, "wait": 15}
    with ThreadPoolExecutor(4) as executor:
        results = list(executor.map(lambda _: runtime.invoke(spec.function_arn, event), range(4)))
    bodies = [result.json() for result in results]
    # Each handler only returns early once all four are inside handlers at the same time.
    assert [body["seen"] for body in bodies] == [4, 4, 4, 4]
    assert len({body["pid"] for body in bodies}) == 4
    assert len(runtime.pids()) == 4


def test_a_full_pool_waits_then_raises_too_many_requests(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    pool = FunctionPool(spec, base_env=BASE_ENV, log_path=tmp_path / "fn.log",
                        max_concurrency=1, queue_timeout_seconds=0.3)
    started, release = tmp_path / "started", tmp_path / "release"
    try:
        with ThreadPoolExecutor(1) as executor:
            busy = executor.submit(pool.invoke, {"action": "block", "started": str(started),
                                                 "release": str(release)})
            assert wait_until(started.exists)
            with pytest.raises(TooManyRequests):
                pool.invoke({"action": "echo"})
            release.touch()
            assert busy.result(timeout=10).json()["released"] is True
        assert pool.invoke({"action": "echo"}).json()["count"] == 2  # the slot is free again
    finally:
        pool.close()


def test_close_kills_idle_and_busy_workers_and_reaps_them(tmp_path: Path) -> None:
    runtime = LambdaRuntime(BASE_ENV, tmp_path / "logs")
    started = tmp_path / "started"
    try:
        idle = deploy(runtime, tmp_path, name="idle")
        busy = deploy(runtime, tmp_path, name="busy")
        runtime.invoke(idle.function_arn, {})
        with ThreadPoolExecutor(1) as executor:
            blocked = executor.submit(runtime.invoke, busy.function_arn, {
                "action": "block", "started": str(started), "release": str(tmp_path / "never")})
            assert wait_until(started.exists)
            pids = runtime.pids()
            assert len(pids) == 2
            runtime.close()
            outcome = blocked.result(timeout=10)
        assert outcome.json()["errorType"] == "Runtime.ExitError"
        for pid in pids:
            assert not Path(f"/proc/{pid}").exists(), f"worker {pid} not killed and reaped"
        assert runtime.pids() == []
        with pytest.raises(FunctionNotDeployed):
            runtime.invoke(idle.function_arn, {})
    finally:
        runtime.close()


def test_unknown_and_removed_functions(runtime: LambdaRuntime, tmp_path: Path) -> None:
    with pytest.raises(FunctionNotDeployed):
        runtime.invoke(f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:ghost", {})
    spec = deploy(runtime, tmp_path)
    pid = runtime.invoke(spec.function_arn, {}).json()["pid"]
    assert runtime.remove(spec.function_arn) is True
    assert not alive(pid)
    assert runtime.remove(spec.function_arn) is False
    with pytest.raises(FunctionNotDeployed):
        runtime.invoke(spec.function_arn, {})


SUPERVISOR = textwrap.dedent('''
    import os, sys, threading, time
    from pathlib import Path
    from localcloud.awslambda.runtime import FunctionSpec, LambdaRuntime, code_sha256, extract_code

    tmp = Path(sys.argv[1])
    data = (tmp / "fn.zip").read_bytes()
    _, code_dir = extract_code(data, tmp / "code")
    spec = FunctionSpec("orphan", "arn:aws:lambda:us-east-1:123456789012:function:orphan",
                        "us-east-1", "app.handler", code_sha256(data), code_dir, timeout_seconds=60)
    runtime = LambdaRuntime({}, tmp / "logs")
    runtime.deploy(spec)
    event = {"action": "block", "started": str(tmp / "started"), "release": str(tmp / "never"),
             "wait": 60}
    threading.Thread(target=runtime.invoke, args=(spec.function_arn, event), daemon=True).start()
    deadline = time.monotonic() + 15
    while not (tmp / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    os._exit(0)  # die without close(): the worker must notice on its own
''')


def test_workers_exit_when_the_supervisor_dies(tmp_path: Path) -> None:
    (tmp_path / "fn.zip").write_bytes(make_zip({"app.py": APP}))
    script = tmp_path / "supervisor.py"
    script.write_text(SUPERVISOR)
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, timeout=30)
    pid = int((tmp_path / "started").read_text())
    try:
        assert wait_until(lambda: not alive(pid), timeout=10), "worker outlived its supervisor"
    finally:
        if alive(pid):
            os.kill(pid, 9)


POWERTOOLS_APP = textwrap.dedent('''
    from aws_lambda_powertools import Logger

    logger = Logger(service="orders")

    @logger.inject_lambda_context
    def handler(event, context):
        logger.info("processing", extra={"order": event["order"]})
        return {"ok": True}
''')


def test_powertools_logger_accepts_the_context(runtime: LambdaRuntime, tmp_path: Path) -> None:
    spec = deploy(runtime, tmp_path, files={"app.py": POWERTOOLS_APP}, name="pt", memory_mb=256)
    result = runtime.invoke(spec.function_arn, {"order": "o-1"}, request_id="pt-req")
    assert result.function_error is None, result.payload
    assert result.json() == {"ok": True}
    records = [json.loads(line) for line in runtime.log_path(spec).read_text().splitlines()
               if line.startswith("{")]
    record = next(r for r in records if r.get("message") == "processing")
    assert record["order"] == "o-1"
    assert record["service"] == "orders"
    assert record["function_request_id"] == "pt-req"
    assert record["function_name"] == "pt"
    assert record["function_arn"] == spec.function_arn
    assert str(record["function_memory_size"]) == "256"
    assert record["cold_start"] is True
