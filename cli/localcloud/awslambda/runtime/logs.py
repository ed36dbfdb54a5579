"""A function's "CloudWatch logs": one append-only file per function, fed by its workers.

Each worker's stdout and stderr share one pipe that a daemon thread here copies, line by line,
into the function's log file. Copying in the supervisor (rather than handing the worker the file)
keeps lines whole when environments run concurrently, survives a worker being SIGKILLed (the pipe
is drained to EOF), and lets an invocation return the tail of its own log, as the Invoke API's
``LogType=Tail`` does (last 4 KB: Lambda API reference, Invoke, X-Amz-Log-Result).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

TAIL_BYTES = 4096


class LogSink:
    """The append-only log file shared by every execution environment of one function."""

    def __init__(self, path: Path, on_line: Callable[[str, bytes], None] | None = None) -> None:
        self.path = Path(path)
        self._on_line = on_line  # (log stream, line): the delivery to CloudWatch Logs
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "ab")
        self._lock = threading.Lock()
        self._closed = False

    def write(self, data: bytes, stream: str = "") -> None:
        with self._lock:
            if self._closed:
                return
            self._file.write(data)
            self._file.flush()
        if self._on_line is not None:
            try:
                self._on_line(stream, data)
            except Exception:  # noqa: BLE001 - the log file has it; a delivery failure must not stop the pump
                pass

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._file.close()


class OutputPump:
    """Copies one worker's output pipe into a :class:`LogSink`, capturing the current invocation."""

    def __init__(self, fd: int, sink: LogSink, name: str, request_id: str | None = None, stream: str = "") -> None:
        self._fd = fd
        self._sink = sink
        self._stream = stream
        self._lock = threading.Lock()
        self._capture: bytearray | None = None
        self._marker = b""
        self._invocation_logged = threading.Event()
        self._eof = threading.Event()
        if request_id is not None:  # a cold start's init output belongs to its first invocation
            self.begin(request_id)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def begin(self, request_id: str) -> None:
        """Start capturing a new invocation; its end is the worker's REPORT line for it."""
        with self._lock:
            self._capture = bytearray()
            self._marker = f"REPORT RequestId: {request_id}".encode()
            if not self._eof.is_set():
                self._invocation_logged.clear()

    def note(self, text: str) -> None:
        """Log a line on the platform's behalf (timeouts, crashes), as Lambda does."""
        line = text.encode("utf-8", "replace") + b"\n"
        self._sink.write(line, self._stream)
        with self._lock:
            self._append(line)

    def finish(self, wait_seconds: float) -> str:
        """The invocation's log tail, once its REPORT line (or the pipe's end) has been seen."""
        self._invocation_logged.wait(wait_seconds)
        with self._lock:
            data = bytes(self._capture or b"")[-TAIL_BYTES:]
            self._capture = None
            self._marker = b""
        return data.decode("utf-8", "replace")

    def wait_eof(self, timeout: float) -> bool:
        return self._eof.wait(timeout)

    def _append(self, line: bytes) -> None:
        if self._capture is None:
            return
        self._capture += line
        if len(self._capture) > 2 * TAIL_BYTES:  # keep memory bounded for chatty handlers
            del self._capture[:-TAIL_BYTES]

    def _consume(self, line: bytes) -> None:
        self._sink.write(line, self._stream)
        with self._lock:
            self._append(line)
            if self._marker and line.startswith(self._marker):
                self._invocation_logged.set()

    def _run(self) -> None:
        pending = b""
        try:
            while True:
                try:
                    chunk = os.read(self._fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._consume(line + b"\n")
            if pending:
                self._consume(pending + b"\n")
        finally:
            os.close(self._fd)
            self._eof.set()
            self._invocation_logged.set()  # nobody waits for a REPORT that can no longer come
