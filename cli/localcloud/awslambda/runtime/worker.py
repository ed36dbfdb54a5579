"""Bootstrap of one local execution environment (the stand-in for Lambda's /var/runtime/bootstrap).

Started by the pool as ``<python> -u -B -P worker.py <request_fd> <response_fd>`` with the
function's environment, cwd = LAMBDA_TASK_ROOT. It imports the handler once (the init phase of a
cold start), then serves one invocation at a time until the request pipe reaches EOF.

Behaviour follows the Python runtime interface client, awslambdaric/bootstrap.py,
lambda_context.py and lambda_runtime_marshaller.py (github.com/aws/aws-lambda-python-runtime-
interface-client): handler resolution and its Runtime.* error types and messages, the error payload
``{errorMessage, errorType, requestId, stackTrace}``, the root logging handler and its format,
``bytes`` results passed through, and the context object (``memory_limit_in_mb`` is a *string*
there, read from the environment, and ``identity`` is an object with None fields).

Protocol: frames on two dedicated pipes (never stdout, so prints cannot corrupt it). A frame is
``struct ">II"`` (header length, body length), a UTF-8 JSON header, then raw body bytes (the
event or the response payload, untouched). stdout and stderr are the function's logs.

This module is deliberately standard-library only and never imports ``localcloud``: the function's
process should hold nothing of the supervisor's.
"""

from __future__ import annotations

import decimal
import importlib
import json
import logging
import math
import os
import resource
import select
import struct
import sys
import threading
import time
import traceback
from typing import Any

FRAME = struct.Struct(">II")
_THIS_FILE = os.path.abspath(__file__)


# --------------------------------------------------------------------------- framing (shared)

def encode_frame(header: dict[str, Any], body: bytes = b"") -> bytes:
    raw = json.dumps(header, separators=(",", ":")).encode()
    return FRAME.pack(len(raw), len(body)) + raw + body


def write_frame(fd: int, header: dict[str, Any], body: bytes = b"") -> None:
    view = memoryview(encode_frame(header, body))
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exact(fd: int, size: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < size:
        chunk = os.read(fd, size - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_frame(fd: int) -> tuple[dict[str, Any], bytes] | None:
    """One frame, or None at EOF (the pool closed the pipe or died)."""
    prefix = _read_exact(fd, FRAME.size)
    if prefix is None:
        return None
    header_len, body_len = FRAME.unpack(prefix)
    raw = _read_exact(fd, header_len)
    body = _read_exact(fd, body_len) if body_len else b""
    if raw is None or body is None:
        return None
    return json.loads(raw), body


# --------------------------------------------------------------------------- runtime behaviour

class Fault(Exception):
    """A runtime-level failure reported with a ``Runtime.*`` error type."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


def make_error(message: str, error_type: str, stack_trace: list[str],
               request_id: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace or [],
    }


def _user_frames(tb: Any) -> list[str]:
    frames = traceback.extract_tb(tb)
    while frames and os.path.abspath(frames[0].filename) == _THIS_FILE:
        frames = frames[1:]
    return traceback.format_list(frames)


def load_handler(handler: str) -> Any:
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}") from None
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise Fault("Runtime.BuiltInModuleConflict",
                        f"Cannot use built-in module {module_name} as a handler module")
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise Fault("Runtime.ImportModuleError",
                    f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise Fault("Runtime.UserCodeSyntaxError",
                    f"Syntax error in module '{module_name}': {exc}", trace) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise Fault("Runtime.HandlerNotFound",
                    f"Handler '{function_name}' missing on module '{module_name}'") from None


def _json_default(value: Any) -> Any:
    # The real runtime encodes Decimal (what boto3 returns for DynamoDB numbers) as a JSON number.
    if isinstance(value, decimal.Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        return float(value) if not value.is_nan() else math.nan
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def marshal_response(response: Any) -> bytes:
    if isinstance(response, bytes):
        return response
    try:
        return json.dumps(response, default=_json_default).encode()
    except Exception as exc:
        raise Fault("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self) -> None:
        self.cognito_identity_id = None
        self.cognito_identity_pool_id = None


class LambdaContext:
    """The handler's ``context``, attribute for attribute as awslambdaric builds it."""

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = None
        self.client_context = None
        self.identity = CognitoIdentity()
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg: object) -> None:
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        return (f"LambdaContext([aws_request_id={self.aws_request_id},"
                f"function_name={self.function_name},"
                f"invoked_function_arn={self.invoked_function_arn}])")


_current_request_id = ""


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _current_request_id
        return True


class _StdoutHandler(logging.Handler):
    # Resolves sys.stdout at emit time, like the runtime's log sink, so redirection applies.
    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record))
        except Exception:
            self.handleError(record)


def setup_logging() -> None:
    """Install the root handler Lambda installs (why ``logging.basicConfig`` is a no-op there)."""
    logging.Formatter.converter = time.gmtime
    handler = _StdoutHandler()
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
        "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)
    root.addHandler(handler)


def _platform_line(text: str) -> None:
    """A line from "the platform" (START/END/REPORT), ordered after everything the code printed."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    try:
        os.write(1, (text + "\n").encode("utf-8", "replace"))
    except OSError:
        pass


def log_error(error: dict[str, Any]) -> None:
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    if error.get("stackTrace"):
        lines.append("Traceback (most recent call last):")
        lines.extend(line.rstrip("\n") for line in error["stackTrace"])
    _platform_line("\n".join(lines))


def _exit_when_pool_gone(request_fd: int) -> None:
    # POLLHUP is reported even with no events requested: it fires once every writer of the
    # request pipe is gone, i.e. the pool closed it or the supervisor died. Exiting here (rather
    # than at the next read) also ends a worker stuck inside a handler: no orphan survives.
    poller = select.poll()
    poller.register(request_fd, 0)
    while True:
        for _fd, events in poller.poll():
            if events & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                os._exit(0)


def invoke(handler: Any, header: dict[str, Any], body: bytes, response_fd: int) -> None:
    global _current_request_id
    request_id = header["request_id"]
    _current_request_id = request_id
    _platform_line(f"START RequestId: {request_id} Version: {os.environ.get('AWS_LAMBDA_FUNCTION_VERSION')}")
    started = time.perf_counter()
    error: dict[str, Any] | None = None
    payload = b""
    try:
        context = LambdaContext(request_id, header["invoked_function_arn"], header["deadline_ms"])
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from None
        payload = marshal_response(handler(event, context))
    except Fault as fault:
        error = make_error(fault.message, fault.error_type, fault.trace, request_id)
    except Exception as exc:
        error = make_error(str(exc), type(exc).__name__, _user_frames(exc.__traceback__), request_id)
    if error is not None:
        log_error(error)
        payload = json.dumps(error).encode()
    duration_ms = (time.perf_counter() - started) * 1000
    _report(request_id, duration_ms, header.get("init_duration_ms"))
    write_frame(response_fd, {"type": "result", "request_id": request_id,
                              "error": error is not None, "duration_ms": duration_ms}, payload)


def _report(request_id: str, duration_ms: float, init_duration_ms: float | None) -> None:
    max_used_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux
    report = (f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
              f"Billed Duration: {math.ceil(duration_ms)} ms\t"
              f"Memory Size: {os.environ.get('AWS_LAMBDA_FUNCTION_MEMORY_SIZE')} MB\t"
              f"Max Memory Used: {max_used_mb} MB\t")
    if init_duration_ms is not None:
        report += f"Init Duration: {init_duration_ms:.2f} ms\t"
    _platform_line(f"END RequestId: {request_id}")
    _platform_line(report)


def main(argv: list[str]) -> int:
    request_fd, response_fd = int(argv[1]), int(argv[2])
    # A process the handler spawns must not hold the protocol pipes open (it would hide our exit).
    os.set_inheritable(request_fd, False)
    os.set_inheritable(response_fd, False)
    threading.Thread(target=_exit_when_pool_gone, args=(request_fd,), daemon=True,
                     name="pool-watch").start()

    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path.insert(0, task_root)  # /var/task first, then the interpreter's own site-packages
    sys.argv = [argv[0]]
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8", errors="backslashreplace")
    setup_logging()

    _platform_line(f"INIT_START Runtime Version: local:python{sys.version_info[0]}.{sys.version_info[1]}")
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except Fault as fault:
        init_error = make_error(fault.message, fault.error_type, fault.trace)
    except Exception as exc:
        init_error = make_error(str(exc), type(exc).__name__, _user_frames(exc.__traceback__))
    else:
        init_error = None
    if init_error is not None:
        log_error(init_error)
        write_frame(response_fd, {"type": "init_error"}, json.dumps(init_error).encode())
        return 1  # like the real runtime: report, then exit; the next invoke re-inits
    write_frame(response_fd, {"type": "ready"})

    while True:
        frame = read_frame(request_fd)
        if frame is None:
            return 0
        header, body = frame
        invoke(handler, header, body, response_fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
