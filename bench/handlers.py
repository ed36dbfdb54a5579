"""make bench (handlers): a Lambda cold-start stand-in and the warm per-route latency of the real
handlers, each next to a bare boto3 handler doing the same DynamoDB work (bench/baseline_handler.py).

Every function runs in its own process with the environment Lambda gives it, tracing on (see
bench/lambda_env.py: without LAMBDA_TASK_ROOT the X-Ray SDK and Powertools take code paths Lambda
never takes).

Cold start (init): a fresh ``python -c`` process (the same interpreter, ``-X frozen_modules=on``)
imports the handler module and prints ``time.perf_counter()`` once the module-level code has run and
the handler is callable; init = that mark minus the parent's ``perf_counter()`` just before the
spawn, so it covers exec, interpreter start-up, imports and init. On Linux both read the
system-wide CLOCK_MONOTONIC (checked at run time), so the marks compare across processes. Median of
10 per function (api.app.handler, stream.app.handler, custom_resources.replica_stream.handler and
the bare baseline), spawns round-robin so machine noise hits each alike; the child's CPU time at
the mark is kept too. The API and stream children then handle one canonical event
(events/api/get_item.json, events/stream/mixed_two_regions.json) against a moto server on a free
loopback port: "init + first request" is reported beside init because the API creates its boto3
clients on first use, while the bare handler creates its client at init.
Bytecode: PYTHONDONTWRITEBYTECODE is unset and one discarded spawn per function comes first, so
every .pyc is warm, as the runtime's and the Powertools layer's are. On Lambda /var/task is
read-only, so the function's own src/ compiles at every cold start there (``src_compile_ms``).

Warm latency: bench/handlers_warm.py holds one execution environment per function (moto's mock_aws
in-process) and calls ``handler(event, context)`` with the canonical events/api/*.json of each
route, ``warmup`` times untimed, then in blocks of ``block`` timed calls, checking every response.
The real and the bare environment stay alive side by side and take turns block by block (300
calls per route each), so a busy neighbour on a shared machine slows both alike. Ratio = route
median / bare median for the same route. The bare handler makes the same DynamoDB requests
(GetItem; UpdateItem with ALL_OLD for PUT; tombstone UpdateItem then conditional DeleteItem for
DELETE; Scan with the limit; tests/bench/functional/test_bench_baseline.py holds it to that) and omits
validation, error mapping, structured logging, EMF metrics, X-Ray tracing and the SSM service
switch (its docstring lists them): the ratio is the price of those.

Targets: init <= 1.2x the bare handler; warm <= 1.3x per API route.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
from bench import stats
from bench.lambda_env import (
    BENCH,
    EVENTS,
    REFS,
    SRC,
    TABLE,
    TOPIC,
    Function,
    lambda_environment,
    moto_server,
    xray_sink,
)

INIT_TARGET, WARM_TARGET = 1.2, 1.3
ANSWER_TIMEOUT_SECONDS = 600  # a block of calls, or the start-up and warm-up of an environment
API = Function("api", "api.app.handler", SRC, "regional/api.yaml", "ApiFunction", "api/get_item.json")
STREAM = Function("stream", "stream.app.handler", SRC, "regional/stream.yaml", "StreamProcessorFunction",
                  "stream/mixed_two_regions.json")
REPLICA = Function("replica_stream", "custom_resources.replica_stream.handler", SRC, "regional/stream.yaml",
                   "ReplicaStreamLookupFunction")
# The same function with X-Ray off: the bare handler does not trace, so this variant shows what the
# rest of the framework (routing, validation, logging, metrics) costs on its own.
API_UNTRACED = Function("api_untraced", "api.app.handler", SRC, "regional/api.yaml", "ApiFunction",
                        overrides=(("POWERTOOLS_TRACE_DISABLED", "true"),))
BARE = Function("bare", "baseline_handler.handler", BENCH, "regional/api.yaml", "ApiFunction", "api/get_item.json")
BARE_STREAM = Function("bare_stream", "baseline_handler.stream_handler", BENCH, "regional/stream.yaml",
                       "StreamProcessorFunction")
COLD = (API, STREAM, REPLICA, BARE)
# (route, canonical event, expected statuses, text the compact JSON body must hold, item to put back after each call)
ROUTES = (
    ("GET /health", "api/health.json", [200], '"status":"ok"', None),
    ("GET /items/{id}", "api/get_item.json", [200], '"id":"order-1001"', None),
    ("PUT /items/{id}", "api/put_item_create.json", [200, 201], '"id":"order-1001"', None),
    ("GET /items", "api/list_items.json", [200], '"id":"order-10', None),
    ("DELETE /items/{id}", "api/delete_item.json", [204], None, "order-1001"),
)
STREAM_CASE = ("stream batch", "stream/mixed_two_regions.json")
CHILD = """\
import importlib, json, sys, time, types
module_name, handler_name = sys.argv[1].rsplit('.', 1)
handler = getattr(importlib.import_module(module_name), handler_name)
if not callable(handler):
    raise SystemExit('handler is not callable')
print('@@ready', repr(time.perf_counter()), repr(time.process_time()), flush=True)
if len(sys.argv) > 2:
    with open(sys.argv[2]) as source:
        event = json.load(source)
    context = types.SimpleNamespace(function_name='bench', function_version='$LATEST', memory_limit_in_mb=512,
        invoked_function_arn='arn:aws:lambda:eu-west-1:123456789012:function:bench', aws_request_id='cold',
        log_stream_name='bench', get_remaining_time_in_millis=lambda: 10000)
    response = handler(event, context)
    print('@@first', repr(time.perf_counter()), json.dumps(response, default=str), flush=True)
"""


# --- cold start ---------------------------------------------------------------------------------


def _same_clock() -> None:
    info = time.get_clock_info("perf_counter")
    if "CLOCK_MONOTONIC" not in info.implementation:
        raise RuntimeError(f"perf_counter is {info.implementation}: a child's marks are not comparable here")


def spawn(function: Function, env: dict[str, str]) -> dict[str, float]:
    """One cold start: ms from before the spawn to the child's ready (and first) marks, its CPU ms."""
    args = [sys.executable, "-X", "frozen_modules=on", "-c", CHILD, function.handler]
    if function.first_event:
        args.append(str(EVENTS / function.first_event))
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=function.task_root, capture_output=True, text=True, timeout=120,
                          check=False)
    marks = {line.split()[0]: line.split(maxsplit=2)[1:] for line in done.stdout.splitlines() if line.startswith("@@")}
    if done.returncode != 0 or "@@ready" not in marks or (function.first_event and "@@first" not in marks):
        raise RuntimeError(f"{function.handler} did not start: {(done.stderr or done.stdout).strip()[-800:]}")
    sample = {"ready_ms": (float(marks["@@ready"][0]) - started) * 1000,
              "ready_cpu_ms": float(marks["@@ready"][1]) * 1000}
    if function.first_event:
        _check_first(function, json.loads(marks["@@first"][1]))
        sample["first_ms"] = (float(marks["@@first"][0]) - started) * 1000
    return sample


def _check_first(function: Function, response: Any) -> None:
    if str(function.first_event).startswith("api/"):
        if response.get("statusCode") != 200 or "order-1001" not in response.get("body", ""):
            raise RuntimeError(f"{function.handler} answered {str(response)[:300]}")
    elif response != {"batchItemFailures": []}:
        raise RuntimeError(f"{function.handler} failed records: {response}")


def src_compile_ms() -> float:
    """What compiling src/ costs: Lambda's read-only /var/task keeps no .pyc of the function's code."""
    started = time.perf_counter()
    for path in sorted(SRC.rglob("*.py")):
        compile(path.read_text(), str(path), "exec")
    return (time.perf_counter() - started) * 1000


def measure_cold(runs: int) -> dict[str, Any]:
    _same_clock()
    samples: dict[str, list[dict[str, float]]] = {function.name: [] for function in COLD}
    with xray_sink() as (daemon, _), moto_server() as endpoint:
        envs = {function.name: lambda_environment(function, daemon, endpoint) for function in COLD}
        for round_ in range(runs + 1):  # round 0 warms the .pyc files and the page cache; discarded
            for function in COLD:
                sample = spawn(function, envs[function.name])
                if round_:
                    samples[function.name].append(sample)
    result: dict[str, Any] = {"runs": runs, "src_compile_ms": round(src_compile_ms(), 1), "functions": {}}
    for function in COLD:
        entry: dict[str, Any] = {"handler": function.handler}
        for key in ("ready_ms", "ready_cpu_ms", "first_ms"):
            values = [sample[key] for sample in samples[function.name] if key in sample]
            if values:
                entry[key] = [round(value, 2) for value in values]
                entry[key.replace("_ms", "_median_ms")] = round(stats.median(values), 1)
        result["functions"][function.name] = entry
    bare = result["functions"]["bare"]
    for function in (API, STREAM, REPLICA):
        entry = result["functions"][function.name]
        entry["ratio"] = round(entry["ready_median_ms"] / bare["ready_median_ms"], 2)
        entry["cpu_ratio"] = round(entry["ready_cpu_median_ms"] / bare["ready_cpu_median_ms"], 2)
        if function.first_event == BARE.first_event:
            entry["first_ratio"] = round(entry["first_median_ms"] / bare["first_median_ms"], 2)
    return result


# --- warm ---------------------------------------------------------------------------------------


class WarmEnvironment:
    """One warm execution environment: a bench/handlers_warm.py child, driven block by block.

    Requests go to the child's stdin, answers come back on a pipe of their own. The function's
    stdout (its logs and EMF metrics) goes to /dev/null: the function still pays for every write,
    while no reader of ours competes for the CPU as Lambda's log shipping does not in the sandbox.
    """

    def __init__(self, function: Function, spec: dict[str, Any], daemon: str) -> None:
        self.function = function
        answers, child_end = os.pipe()
        spec = {**spec, "handler": function.handler, "table": TABLE}
        self.process = subprocess.Popen(
            # -P: the task root (PYTHONPATH) alone provides modules, as /var/task does, not bench/
            [sys.executable, "-P", str(BENCH / "handlers_warm.py"), json.dumps(spec), str(child_end)],
            env=lambda_environment(function, daemon, None), cwd=function.task_root, pass_fds=(child_end,),
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        os.close(child_end)
        self.answers = os.fdopen(answers)
        self.stderr: collections.deque[str] = collections.deque(maxlen=40)
        threading.Thread(target=self.stderr.extend, args=(self.process.stderr,), daemon=True).start()
        self._answer()  # {"ready": true} once warmed up

    def _answer(self) -> dict[str, Any]:
        ready, _, _ = select.select([self.answers], [], [], ANSWER_TIMEOUT_SECONDS)
        line = self.answers.readline() if ready else ""
        if not line:
            self.close()
            raise RuntimeError(f"warm {self.function.handler} stopped: {''.join(self.stderr).strip()[-800:]}")
        return json.loads(line)

    def run(self, case: int, calls: int) -> dict[str, list[float]]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"case": case, "calls": calls}) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            assert self.process.stdin is not None
            self.process.stdin.write('{"quit": true}\n')
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.answers.close()


def measure_warm(warmup: int, iterations: int, block: int) -> dict[str, Any]:
    """Real and bare environments alive side by side, fed alternately ``block`` calls at a time."""
    api_cases = [{"name": name, "event": str(EVENTS / event), "status": status, "body_has": body, "restore": restore}
                 for name, event, status, body, restore in ROUTES]
    stream_cases = [{"name": STREAM_CASE[0], "event": str(EVENTS / STREAM_CASE[1])}]
    pairs = ((API, BARE, {"warmup": warmup, "cases": api_cases, "service_state": REFS["ServiceState"]}),
             (STREAM, BARE_STREAM, {"warmup": warmup, "cases": stream_cases, "topic": TOPIC}))
    variants = {API.name: API_UNTRACED}
    samples: dict[tuple[str, str, str], list[float]] = collections.defaultdict(list)
    with xray_sink() as (daemon, datagrams):
        for real, bare, spec in pairs:
            with contextlib.ExitStack() as stack:
                environments = []
                for function in (real, bare, *([variants[real.name]] if real.name in variants else [])):
                    environment = WarmEnvironment(function, spec, daemon)
                    stack.callback(environment.close)
                    environments.append(environment)
                for turn in range(iterations // block):
                    for index, case in enumerate(spec["cases"]):
                        # Alternate who goes first too, so neither always runs right after the other.
                        for environment in environments if turn % 2 == 0 else environments[::-1]:
                            for clock, values in environment.run(index, block).items():
                                samples[(environment.function.name, clock, case["name"])].extend(values)
        traced, aws_calls = datagrams
    if not aws_calls:
        raise RuntimeError(f"no AWS SDK subsegment among {traced} X-Ray datagrams: the calls were not traced")
    result: dict[str, Any] = {"warmup": warmup, "iterations": iterations // block * block, "block": block,
                              "xray_datagrams": traced, "xray_aws_subsegments": aws_calls, "routes": {}}
    for real, bare, spec in pairs:
        for case in spec["cases"]:
            name = case["name"]
            app_ms, app_cpu, bare_ms, bare_cpu = ([value * 1000 for value in samples[(who.name, clock, name)]]
                                                  for who in (real, bare) for clock in ("wall", "cpu"))
            result["routes"][name] = {
                "function": real.name,
                "event": Path(case["event"]).relative_to(ROOT).as_posix(),
                "app_ms": [round(value, 4) for value in app_ms],
                "bare_ms": [round(value, 4) for value in bare_ms],
                "app": stats.summary(app_ms),
                "bare": stats.summary(bare_ms),
                "ratio": round(stats.median(app_ms) / stats.median(bare_ms), 2),
                "app_cpu_ms": [round(value, 4) for value in app_cpu],
                "bare_cpu_ms": [round(value, 4) for value in bare_cpu],
                "cpu_ratio": round(stats.median(app_cpu) / stats.median(bare_cpu), 2),
            }
            if real.name in variants:
                untraced = [value * 1000 for value in samples[(variants[real.name].name, "wall", name)]]
                result["routes"][name].update({
                    "untraced_ms": [round(value, 4) for value in untraced], "untraced": stats.summary(untraced),
                    "untraced_ratio": round(stats.median(untraced) / stats.median(bare_ms), 2)})
    return result


# --- the contract -------------------------------------------------------------------------------


def measure(quick: bool = False) -> dict[str, Any]:
    cold = measure_cold(runs=3 if quick else 10)
    warm = measure_warm(warmup=3 if quick else 20, iterations=10 if quick else 300, block=5 if quick else 10)
    return {"quick": quick, "targets": {"init": INIT_TARGET, "warm": WARM_TARGET}, "cold": cold, "warm": warm}


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def _target(ratio: float, limit: float, judged: bool) -> str:
    return f"<= {limit}x {stats.verdict(ratio <= limit if judged else None)}".rstrip()


def markdown(result: dict[str, Any]) -> str:
    judged = not result.get("quick")
    cold, warm = result["cold"], result["warm"]
    bare = cold["functions"]["bare"]
    rows: list[list[object]] = []
    for name, entry in cold["functions"].items():
        if name == "bare":
            continue
        handler = f"`{entry['handler']}`"
        rows.append([f"init, {handler} (process start to handler ready, median of {cold['runs']})",
                     _ms(entry["ready_median_ms"]), _ms(bare["ready_median_ms"]), f"{entry['ratio']:.2f}x",
                     _target(entry["ratio"], result["targets"]["init"], judged)])
        rows.append([f"init CPU time, {handler}", _ms(entry["ready_cpu_median_ms"]),
                     _ms(bare["ready_cpu_median_ms"]), f"{entry['cpu_ratio']:.2f}x", "- (CPU time, not a target)"])
        if "first_ratio" in entry:
            rows.append([f"init + first GET /items/{{id}}, {handler}", _ms(entry["first_median_ms"]),
                         _ms(bare["first_median_ms"]), f"{entry['first_ratio']:.2f}x", "- (not a target)"])
    for name, entry in warm["routes"].items():
        api = entry["function"] == "api"
        rows.append([f"warm {name} ({entry['function']}, median of {entry['app']['count']})",
                     _ms(entry["app"]["median"]), _ms(entry["bare"]["median"]), f"{entry['ratio']:.2f}x",
                     _target(entry["ratio"], result["targets"]["warm"], judged) if api else "- (not a target)"])
        if "untraced" in entry:
            rows.append([f"warm {name}, X-Ray tracing off", _ms(entry["untraced"]["median"]),
                         _ms(entry["bare"]["median"]), f"{entry['untraced_ratio']:.2f}x",
                         "- (the bare handler does not trace)"])
    cpu = ", ".join(f"{name} {entry['cpu_ratio']:.2f}x" for name, entry in warm["routes"].items())
    note = (f"Each function in its own process with Lambda's environment and tracing on (X-Ray to a loopback "
            f"sink); moto server (cold) and mock_aws (warm); bare handler: bench/baseline_handler.py. Warm "
            f"CPU-time ratios, less sensitive to a busy machine: {cpu}. On Lambda the function's own src/ "
            f"also compiles at each cold start (read-only /var/task): {cold['src_compile_ms']} ms here.")
    return stats.table("Lambda handlers vs a bare boto3 handler", rows) + "\n\n" + note


if __name__ == "__main__":
    from bench import run

    sys.exit(run.standalone("handlers", sys.argv[1:]))
