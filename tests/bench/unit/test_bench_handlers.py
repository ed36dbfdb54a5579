"""bench/handlers.py and bench/cli_help.py on fake results, and the Lambda environment the handler
benchmarks build from the templates (no process is started here)."""

from __future__ import annotations

import dataclasses
import os

import pytest

from bench import cli_help, handlers
from bench.lambda_env import SRC, lambda_environment


def test_environment_is_the_templates_and_lambdas_not_the_callers(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")  # the test session's; must not leak in
    env = lambda_environment(handlers.API, "127.0.0.1:2000", "http://127.0.0.1:5000")
    assert env["TABLE_NAME"] == "global-items" and env["RELEASE"] == "bench"
    assert env["SERVICE_STATE_PARAMETER"] == "/global-backend/bench/service-state"
    assert env["POWERTOOLS_SERVICE_NAME"] == "global-backend" and env["DDB_MAX_ATTEMPTS"] == "3"
    assert env["LAMBDA_TASK_ROOT"] == env["PYTHONPATH"] == str(SRC)
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512" and env["_HANDLER"] == "api.app.handler"
    assert env["AWS_XRAY_DAEMON_ADDRESS"] == "127.0.0.1:2000" and "Sampled=1" in env["_X_AMZN_TRACE_ID"]
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert "POWERTOOLS_TRACE_DISABLED" not in env
    stream = lambda_environment(handlers.STREAM, "127.0.0.1:2000", None)
    assert stream["TOPIC_ARN"].endswith(":bench-changes.fifo") and "AWS_ENDPOINT_URL" not in stream
    assert set(env) - set(os.environ) >= {"LAMBDA_TASK_ROOT", "_HANDLER"}


def test_a_handler_the_template_does_not_declare_is_refused():
    wrong = dataclasses.replace(handlers.API, handler="api.app.lambda_handler")
    with pytest.raises(ValueError, match="Handler is api.app.handler"):
        lambda_environment(wrong, "127.0.0.1:2000", None)


def _cold(ready: float, cpu: float, first: float | None = None, ratio: float = 1.0) -> dict:
    entry = {"handler": "x.handler", "ready_median_ms": ready, "ready_cpu_median_ms": cpu, "ratio": ratio,
             "cpu_ratio": ratio}
    if first is not None:
        entry.update(first_median_ms=first, first_ratio=ratio)
    return entry


def _route(function: str, app: float, bare: float) -> dict:
    return {"function": function, "app": {"median": app, "count": 300}, "bare": {"median": bare, "count": 300},
            "ratio": round(app / bare, 2), "cpu_ratio": round(app / bare, 2)}


def fake_result(quick: bool = False) -> dict:
    return {
        "quick": quick,
        "targets": {"init": 1.2, "warm": 1.3},
        "cold": {"runs": 10, "src_compile_ms": 9.0, "functions": {
            "api": _cold(330, 300, 400, ratio=1.25), "stream": _cold(220, 210, ratio=0.8),
            "bare": _cold(264, 250, 280)}},
        "warm": {"routes": {"GET /health": _route("api", 1.2, 1.0), "GET /items": _route("api", 2.0, 1.0),
                            "stream batch": _route("stream", 3.0, 1.0)}},
    }


def test_markdown_judges_each_target():
    text = handlers.markdown(fake_result())
    rows = [line for line in text.splitlines() if line.startswith("| ")][2:]
    assert len(rows) == 2 + 1 + 2 + 3  # api init (wall, CPU, + first request), stream init (wall, CPU), 3 warm
    assert "| 1.25x | <= 1.2x NOT met |" in rows[0] and "| 0.80x | <= 1.2x met |" in rows[3]
    assert rows[5].endswith("| 1.20x | <= 1.3x met |") and rows[6].endswith("| 2.00x | <= 1.3x NOT met |")
    assert rows[7].endswith("| 3.00x | - (not a target) |")  # the stream batch has no target
    assert "9.0 ms" in text


def test_a_quick_run_judges_nothing():
    text = handlers.markdown(fake_result(quick=True)) + cli_help.markdown(
        {"quick": True, "runs": 3, "target": 1.0, "ratio": 2.0, "cpu_ratio": 2.0,
         "tools": {"globalctl": {"wall_median_ms": 160, "cpu_median_ms": 150},
                   "sam": {"wall_median_ms": 80, "cpu_median_ms": 75}}})
    assert " met " not in text and "NOT met" not in text


def test_cli_help_markdown():
    text = cli_help.markdown({"quick": False, "runs": 10, "target": 1.0, "ratio": 1.17, "cpu_ratio": 1.16,
                              "tools": {"globalctl": {"wall_median_ms": 88.2, "cpu_median_ms": 86},
                                        "sam": {"wall_median_ms": 75.4, "cpu_median_ms": 74}}})
    assert ("| `globalctl --help` wall time (median of 10) | 88 ms | `sam --help` 75 ms | 1.17x | <= 1.0x NOT met |"
            in text)
