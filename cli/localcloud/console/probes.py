"""Each region API's own answer to GET /health ({"status", "region", "release"}), probed over HTTP
on loopback as a client would see it, all regions at once.

Answers are shared for FRESH_SECONDS: the page polls every 1.5 s and several tabs may be open,
and every probe that reaches an API is a request in its traffic metrics (as Route 53's own probes
are), so the console adds at most one /health per region every FRESH_SECONDS.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from localcloud.loopback import require_loopback

TIMEOUT_SECONDS = 1.0  # longer than a default "slow" fault (500 ms), short enough for a 1.5 s poll
FRESH_SECONDS = 3.0
USER_AGENT = "localcloud-console"

Target = tuple[str, int]  # loopback host, port


def probe(target: Target, timeout: float = TIMEOUT_SECONDS) -> dict[str, Any]:
    """{"ok", "status", "release", "region", "answer", "detail"} of one GET /health."""
    host, port = target
    conn = http.client.HTTPConnection(require_loopback(host), port, timeout=timeout)
    try:
        conn.request("GET", "/health", headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
        response = conn.getresponse()
        raw = response.read(64 * 1024)
    except TimeoutError:
        return _failed(f"no answer within {timeout:g} s")
    except ConnectionRefusedError:
        return _failed("no answer: connection refused")
    except (ConnectionResetError, http.client.RemoteDisconnected):
        return _failed("no answer: connection dropped")  # what an outage fault does
    except (OSError, http.client.HTTPException) as error:
        return _failed(f"no answer ({type(error).__name__})")
    finally:
        conn.close()
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = None
    answer = answer if isinstance(answer, dict) else {}
    return {"ok": 200 <= response.status < 300, "status": response.status,
            "release": _text(answer.get("release")), "region": _text(answer.get("region")),
            "answer": _text(answer.get("status")), "detail": _detail(response.status)}


def _detail(status: int) -> str:
    # The regional server answers 404 for /health until an API is deployed in the region.
    return f"HTTP {status}" + (": no API deployed answers /health" if status == 404 else "")


def _failed(detail: str) -> dict[str, Any]:
    return {"ok": False, "status": None, "release": None, "region": None, "answer": None, "detail": detail}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:200]


class HealthProbes:
    def __init__(self, fresh_seconds: float = FRESH_SECONDS, timeout: float = TIMEOUT_SECONDS,
                 probe_fn: Callable[[Target, float], dict[str, Any]] = probe,
                 clock: Callable[[], float] = time.monotonic):
        self._fresh = fresh_seconds
        self._timeout = timeout
        self._probe = probe_fn
        self._clock = clock
        self._lock = threading.Lock()  # one probe round at a time; the others wait for its answers
        self._answers: dict[Target, tuple[float, dict[str, Any]]] = {}

    def health(self, targets: dict[str, Target]) -> dict[str, dict[str, Any]]:
        """{name: probe answer} for every target, probing only those not answered recently."""
        with self._lock:
            now = self._clock()
            stale = sorted({t for t in targets.values()
                            if t not in self._answers or now - self._answers[t][0] >= self._fresh})
            if stale:
                with ThreadPoolExecutor(max_workers=len(stale), thread_name_prefix="console-probe") as pool:
                    answers = list(pool.map(lambda t: self._probe(t, self._timeout), stale))
                for target, answer in zip(stale, answers):
                    self._answers[target] = (now, answer)
            return {name: self._answers[target][1] for name, target in targets.items()}
