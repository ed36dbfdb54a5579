"""How a drill takes a region out and puts it back: a drain (weight 0 through the routing stack,
on AWS as locally) or an outage (the local cloud's fault: the region's API and health endpoint
drop every connection). A change to the routing is shielded from Ctrl-C until it has landed."""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

from globalctl import routing


class Disruption(Protocol):
    def apply(self) -> None: ...

    def restore(self) -> None: ...


class Drain:
    """Weight 0 through the routing stack; restore puts the weight the region had back."""

    def __init__(self, topology: Any, env: str, weight: int):
        self.topology, self.env, self.weight = topology, env, weight

    def apply(self) -> None:
        routing.set_weight(self.topology, self.env, 0)

    def restore(self) -> None:
        routing.set_weight(self.topology, self.env, self.weight)


class Outage:
    """The local cloud's outage fault: the region's API and health endpoint drop every connection."""

    def __init__(self, config_path: Path, env: str):
        from globalctl.localcloud import LocalCloudContext

        self.cloud, self.env = LocalCloudContext(config_path), env

    def apply(self) -> None:
        self.cloud.call("fault", {"env": self.env, "kind": "outage"})

    def restore(self) -> None:
        self.cloud.call("heal", {"env": self.env})


@contextlib.contextmanager
def shielded(say: Callable[[str], None], message: str = "restoring first; the drill stops right after") -> Iterator[None]:
    """Ctrl-C must not cut a routing change short: a restore cut short leaves the region out of the
    routing, and a drain cut short is a stack update still landing while the restore reads the
    weights (it would see nothing to restore). It is held until the change is done, then raised."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    interrupted = []

    def hold(*_: object) -> None:
        interrupted.append(True)
        say(f"  {message}")

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt
