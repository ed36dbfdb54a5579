"""Replication between the replicas of a DynamoDB global table (version 2019.11.21).

Facts this models (AWS DynamoDB developer guide, "How DynamoDB global tables work"
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html
and "Best practices for global table design", key facts about MREC and MRSC
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-global-table-design.html):

- EVENTUAL (MREC): every replica accepts writes; items replicate individually and asynchronously
  (typically within a second); a conflict settles last-writer-wins per item on the write's
  timestamp, implemented as "apply only if the incoming timestamp is greater than the stored
  one", so every replica converges to the same version. A replica keeps accepting writes while
  another is offline and retries each item until it succeeds; nothing is lost. Replicated writes
  appear in the receiving replica's own stream.
- STRONG (MRSC): exactly three Regions, three replicas or two replicas and a witness (the witness
  takes no reads or writes). A write returns only after it is synchronously replicated to at
  least one other Region. A Region accepts writes while a second Region (replica or witness) is
  reachable for quorum; otherwise it serves only eventually consistent reads. A Region catching
  up after isolation returns errors for writes and strongly consistent reads until caught up. A
  write to an item already being modified in another Region fails with
  ReplicatedWriteConflictException. Replicas cannot be added to or removed one by one.
- The error an isolated MRSC Region returns is documented only as "errors"; AWS FIS's isolation
  experiment surfaces them as HTTP 500s counted in SystemErrors / FaultInjectionServiceInducedErrors,
  so QuorumUnavailable carries InternalServerError / 500.

Design: each link (source -> destination replica) is a FIFO queue with one delivery thread, so
one source's changes to an item arrive in order. Every write gets a WriteStamp (timestamp, origin
region); a local write's stamp is above anything that replica holds for the item, so it always
wins locally and the highest stamp wins everywhere. With ``background=False`` no thread runs and
the caller delivers each change itself (``deliverable_links`` / ``deliver_next``), so a test can
choose every interleaving the links allow.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

EVENTUAL = "EVENTUAL"
STRONG = "STRONG"

# apply(region, key, image): write the change into that replica's table (image None: delete it).
Apply = Callable[[str, dict[str, Any], dict[str, Any] | None], None]

_BACKFILL_BATCH = 200  # items copied per hold of the write lock while a new replica is backfilled
_replicating: contextvars.ContextVar[bool] = contextvars.ContextVar("replicating", default=False)


def replicating() -> bool:
    """True while this thread is applying a replicated change (the write is not a local one)."""
    return _replicating.get()


@contextlib.contextmanager
def replicating_scope() -> Iterator[None]:
    """Mark this thread's writes as replicated ones while the block runs."""
    token = _replicating.set(True)
    try:
        yield
    finally:
        _replicating.reset(token)


class ReplicationError(Exception):
    """An error the lead returns to the DynamoDB client as ``aws_error_code`` / ``http_status``."""

    aws_error_code = "InternalServerError"
    http_status = 500


class InvalidTopology(ReplicationError, ValueError):
    aws_error_code = "ValidationException"
    http_status = 400


class QuorumUnavailable(ReplicationError):
    """An MRSC replica that cannot reach a majority of Regions, or is still catching up."""


class ReplicatedWriteConflict(ReplicationError):
    aws_error_code = "ReplicatedWriteConflictException"
    http_status = 400

    def __init__(self) -> None:
        super().__init__("The request was rejected because one or more items in the request "
                         "are being modified by a request in another Region.")


@dataclass(frozen=True, order=True)
class WriteStamp:
    """The version of a write: newer timestamp wins; the origin region breaks a tie."""

    timestamp_ns: int
    region: str


def validate_topology(mode: str, regions: list[str], witness: str | None) -> None:
    """Raise InvalidTopology for a replica set AWS would refuse."""
    if mode not in {EVENTUAL, STRONG}:
        raise InvalidTopology(f"MultiRegionConsistency must be EVENTUAL or STRONG, not {mode!r}")
    if not regions or len(set(regions)) != len(regions):
        raise InvalidTopology("a global table needs one or more distinct replica Regions")
    if witness is not None:
        if mode != STRONG:
            raise InvalidTopology("a witness Region exists only with MultiRegionConsistency STRONG")
        if witness in regions:
            raise InvalidTopology("the witness must be in a different Region from the replicas")
    if mode == STRONG and (len(regions) < 2 or len(regions) + (witness is not None) != 3):
        raise InvalidTopology("an MRSC global table needs exactly three Regions: "
                              "three replicas, or two replicas and one witness")


def item_key(key: Mapping[str, Any]) -> str:
    """A canonical identity for a DynamoDB-JSON primary key."""
    return json.dumps(key, sort_keys=True, separators=(",", ":"))


@dataclass
class _Change:
    stamp: WriteStamp
    key: dict[str, Any]
    image: dict[str, Any] | None
    enqueued_at: float


@dataclass
class _Link:
    src: str
    dst: str
    queue: deque[_Change] = field(default_factory=deque)
    in_flight: bool = False
    retired: bool = False  # the replica at one end was removed
    last_error: str | None = None
    thread: threading.Thread | None = None


class ReplicationGroup:
    """The replicas of one global table and the links between them."""

    def __init__(
        self,
        table_name: str,
        regions: list[str],
        mode: str,
        witness: str | None,
        apply: Apply,
        clock: Callable[[], int] = time.time_ns,
        *,
        retry_initial_s: float = 0.05,
        retry_max_s: float = 2.0,
        background: bool = True,
        on_replicated: Callable[[str, str, float], None] | None = None,
    ) -> None:
        validate_topology(mode, list(regions), witness)
        self.table_name = table_name
        # (source, destination, milliseconds from the write to its arrival): ReplicationLatency
        self._on_replicated = on_replicated
        self._background = background
        self.mode = mode
        self.witness = witness
        self._apply = apply
        self._clock = clock
        self._retry = (retry_initial_s, retry_max_s)
        # Lock order: _write_lock before _cond, never the other way round.
        self._write_lock = threading.RLock()
        self._cond = threading.Condition(threading.Lock())
        self._replicas: list[str] = list(regions)
        self._versions: dict[str, dict[str, WriteStamp]] = {r: {} for r in regions}
        self._last_ts: dict[str, int] = {r: 0 for r in regions}
        self._links: dict[tuple[str, str], _Link] = {}
        self._cut: set[str] = set()
        self._delay_s: dict[str, float] = {}
        self._reserved: dict[str, tuple[str, int]] = {}
        self._closed = False
        self._creating: set[str] = set()  # replicas whose backfill is still running
        self._counters = {"delivered": 0, "superseded": 0, "apply_failures": 0}
        with self._cond:
            for src in regions:
                for dst in regions:
                    if src != dst:
                        self._open_link(src, dst)

    # ------------------------------------------------------------------------------ membership

    @property
    def replicas(self) -> list[str]:
        with self._cond:
            return list(self._replicas)

    @property
    def members(self) -> list[str]:
        """Replicas plus the witness: the Regions that count for an MRSC quorum."""
        with self._cond:
            return self._members()

    def add_replica(self, region: str, seed: Iterable[tuple[dict[str, Any], dict[str, Any]]],
                    source_region: str | None = None) -> None:
        """Add an MREC replica and backfill it with ``source_region``'s items, as AWS does: the
        replica is CREATING until the copy is complete, then ACTIVE (``replica_status``).

        The seed is read under the write lock (pass a lazy iterable), so it and the new links see
        the same state: every write made anywhere after that point reaches the new replica on its
        link, the changes still travelling to the source are copied onto the new replica's links,
        and the copy itself runs in the background (in the caller with ``background=False``)
        while every replica keeps taking writes. A copied item never overwrites a newer version
        that reached the replica first: the copy applies each item with its source stamp, under
        the same last-writer-wins rule as replication.
        """
        if self.mode != EVENTUAL:
            raise InvalidTopology("replicas cannot be added to an MRSC global table")
        with self._write_lock:
            with self._cond:
                if region in self._replicas or region == self.witness:
                    raise InvalidTopology(f"{region} already holds a replica of {self.table_name}")
                source = source_region or self._replicas[0]
                if source not in self._replicas:
                    raise InvalidTopology(f"{source} holds no replica of {self.table_name}")
            items = [(dict(key), dict(image)) for key, image in seed]
            known = dict(self._versions[source])
            copied = {item_key(key) for key, _ in items}
            # The deletes the source knows of, first: without a deleted item's stamp an older write
            # still on its way would bring the item back in this replica only.
            self._versions[region] = {ident: stamp for ident, stamp in known.items() if ident not in copied}
            self._last_ts[region] = 0
            with self._cond:
                self._creating.add(region)
                for other in self._replicas:
                    self._open_link(other, region)
                    self._open_link(region, other)
                    if other != source:
                        self._links[(other, region)].queue.extend(self._links[(other, source)].queue)
                # A removed replica's accepted writes still draining to the source reach the new
                # replica too.
                for (src, dst), link in list(self._links.items()):
                    if dst == source and link.retired and link.queue:
                        self._open_link(src, region)
                        self._links[(src, region)].queue.extend(link.queue)
                        self._links[(src, region)].retired = True
                self._replicas.append(region)
                self._cond.notify_all()
        if self._background:
            threading.Thread(target=self._backfill, args=(region, items, known, source), daemon=True,
                             name=f"backfill-{self.table_name}-{region}").start()
        else:
            self._backfill(region, items, known, source)

    def replica_status(self, region: str) -> str:
        """CREATING while the replica's backfill runs, then ACTIVE."""
        with self._cond:
            self._require_member(region)
            return "CREATING" if region in self._creating else "ACTIVE"

    def wait_active(self, region: str, timeout: float | None = None) -> bool:
        """True once ``region``'s backfill is complete (or it left the table meanwhile)."""
        with self._cond:
            return self._cond.wait_for(lambda: region not in self._creating, timeout)

    def _backfill(self, region: str, items: list[tuple[dict[str, Any], dict[str, Any]]],
                  known: dict[str, WriteStamp], source: str) -> None:
        origin = WriteStamp(0, source)  # an item the source holds from before the table was global
        try:
            for start in range(0, len(items), _BACKFILL_BATCH):
                # In batches: client writes and replication interleave with the copy.
                with self._write_lock:
                    versions = self._versions.get(region)
                    if versions is None or self._closed:  # removed (or closed) while copying
                        return
                    for key, image in items[start:start + _BACKFILL_BATCH]:
                        ident = item_key(key)
                        stamp = known.get(ident, origin)
                        current = versions.get(ident)
                        if current is not None and current >= stamp:
                            continue  # a newer version reached the replica first
                        with replicating_scope():
                            self._apply(region, key, image)
                        versions[ident] = stamp
        except Exception:  # noqa: BLE001 - a failed copy leaves the replica CREATING, never ACTIVE
            log.exception("backfill of %s in %s failed", self.table_name, region)
            return
        with self._cond:
            self._creating.discard(region)
            self._cond.notify_all()

    def remove_replica(self, region: str) -> None:
        """Remove an MREC replica: changes bound for it are dropped, its own unsent writes still
        drain to the others (they were accepted), then its links stop."""
        if self.mode != EVENTUAL:
            raise InvalidTopology("a single replica cannot be removed from an MRSC global table")
        with self._write_lock, self._cond:
            if region not in self._replicas:
                raise InvalidTopology(f"{region} holds no replica of {self.table_name}")
            if len(self._replicas) == 1:
                raise InvalidTopology("the last replica is the table itself; delete the table instead")
            self._replicas.remove(region)
            for (src, dst), link in list(self._links.items()):
                if dst == region:
                    link.queue.clear()
                if region in (src, dst):
                    link.retired = True
                    if not link.queue:
                        del self._links[(src, dst)]
            self._versions.pop(region, None)
            self._creating.discard(region)
            self._cond.notify_all()

    # ------------------------------------------------------------------------------ faults

    def cut(self, region: str) -> None:
        """Isolate ``region``: nothing is delivered into or out of it; queues keep everything."""
        with self._cond:
            self._require_member(region)
            self._cut.add(region)
            self._cond.notify_all()

    def restore(self, region: str) -> None:
        """Reconnect ``region``; also a removed replica cut before its removal, whose accepted
        writes wait on their links until it is reachable again."""
        with self._cond:
            if region not in self._cut:
                self._require_member(region)
            self._cut.discard(region)
            self._cond.notify_all()

    def is_cut(self, region: str) -> bool:
        with self._cond:
            return region in self._cut

    def delay_ms(self, region: str, ms: float) -> None:
        """Hold every change into or out of ``region`` for ``ms`` after it was queued."""
        with self._cond:
            self._require_member(region)
            self._delay_s[region] = max(0.0, ms) / 1000.0
            self._cond.notify_all()

    # ------------------------------------------------------------------------------ MREC writes

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """Hold while applying a client write and calling local_write/commit, so no replicated
        change lands on the item in between. Take it before any lock of the table's store."""
        with self._write_lock:
            yield

    def local_write(self, region: str, key: dict[str, Any], image: dict[str, Any] | None) -> WriteStamp:
        """Record a client write already applied in ``region`` (image None: a delete) and queue it
        for every other replica."""
        if self.mode != EVENTUAL:
            raise InvalidTopology("MRSC writes go through begin_strong_write / commit_strong_write")
        with self._write_lock:
            change = self._stamp(region, key, image)
            with self._cond:
                for dst in self._replicas:
                    if dst != region:
                        self._links[(region, dst)].queue.append(change)
                self._cond.notify_all()
            return change.stamp

    # ------------------------------------------------------------------------------ MRSC writes

    def has_quorum(self, region: str) -> bool:
        with self._cond:
            return self._reachable_count(region) >= len(self._members()) // 2 + 1

    def can_serve_strong_read(self, region: str) -> bool:
        """A strongly consistent read (or a write) needs quorum and a caught-up replica."""
        with self._cond:
            return self._strong_refusal(region) is None

    def begin_strong_write(self, region: str, key: dict[str, Any] | None = None) -> StrongWrite:
        """Check that ``region`` may take an MRSC write, before the lead applies it locally.

        Raises QuorumUnavailable (isolated or catching up) or ReplicatedWriteConflict (``key`` is
        being written in another Region). Use the result as a context manager around the local
        apply and ``commit(image)``: it holds the write lock and releases the item on exit.
        """
        if self.mode != STRONG:
            raise InvalidTopology("begin_strong_write is for MultiRegionConsistency STRONG")
        with self._cond:
            refusal = self._strong_refusal(region)
            if refusal:
                raise QuorumUnavailable(refusal)
            if key is not None:
                ident = item_key(key)
                holder, count = self._reserved.get(ident, (region, 0))
                if holder != region:
                    raise ReplicatedWriteConflict()
                self._reserved[ident] = (region, count + 1)
        return StrongWrite(self, region, key)

    def commit_strong_write(self, region: str, key: dict[str, Any], image: dict[str, Any] | None) -> WriteStamp:
        """Replicate an MRSC write applied locally: synchronously (in this thread, through apply)
        to every reachable caught-up replica, queued for the others."""
        with self._write_lock:
            change = self._stamp(region, key, image)
            synchronous = []
            with self._cond:
                for dst in self._replicas:
                    if dst == region:
                        continue
                    link = self._links[(region, dst)]
                    if self._deliverable(link) and not link.queue and not link.in_flight:
                        synchronous.append(dst)
                    else:
                        link.queue.append(change)
            for dst in synchronous:
                try:
                    self._deliver(dst, change)
                except Exception:
                    log.warning("%s: synchronous apply to %s failed; queued", self.table_name, dst, exc_info=True)
                    with self._cond:
                        self._links[(region, dst)].queue.append(change)
            with self._cond:
                self._cond.notify_all()
            return change.stamp

    def _release(self, region: str, key: dict[str, Any] | None) -> None:
        if key is None:
            return
        with self._cond:
            ident = item_key(key)
            holder, count = self._reserved.get(ident, (region, 0))
            if holder == region and count > 1:
                self._reserved[ident] = (region, count - 1)
            elif holder == region:
                self._reserved.pop(ident, None)

    # ------------------------------------------------------------------------------ manual delivery

    def deliverable_links(self) -> list[tuple[str, str]]:
        """The (source, destination) links whose head change may be delivered now: not cut, not
        held back by a slow-link delay (what ``deliver_next`` would deliver)."""
        with self._cond:
            return [pair for pair, link in self._links.items()
                    if link.queue and not link.in_flight and self._deliverable(link) and self._hold_s(link) <= 0]

    def deliver_next(self, src: str, dst: str) -> bool:
        """Deliver the head change of the ``src`` -> ``dst`` link in the calling thread, as the
        link's thread would; False when that link has nothing it may deliver now. An apply that
        raises keeps the change queued (and is re-raised), as the thread would retry it."""
        if self._background:
            raise RuntimeError("deliver_next is for a ReplicationGroup made with background=False")
        with self._cond:
            link = self._links.get((src, dst))
            if (link is None or not link.queue or link.in_flight or not self._deliverable(link)
                    or self._hold_s(link) > 0):
                return False
            link.in_flight = True
            change = link.queue[0]
        try:
            self._deliver(link.dst, change)
        except Exception as exc:
            self._settle(link, change, exc)
            raise
        self._settle(link, change, None)
        self._replicated(link, change)
        return True

    # ------------------------------------------------------------------------------ observability

    def backlog(self) -> dict[tuple[str, str], int]:
        with self._cond:
            return {pair: len(link.queue) for pair, link in self._links.items()}

    def pending(self) -> dict[tuple[str, str], tuple[int, float]]:
        """Per link with changes not yet delivered: (how many, age in ms of the oldest). A cut link
        delivers nothing, so it publishes no ReplicationLatency until it heals: this is what shows
        a partition's lag while it lasts (version 2019.11.21 has no PendingReplicationCount)."""
        now = time.monotonic()
        with self._cond:
            return {pair: (len(link.queue), (now - link.queue[0].enqueued_at) * 1000.0)
                    for pair, link in self._links.items() if link.queue}

    def lag_ms(self) -> float:
        """Age of the oldest change not yet delivered, 0.0 when every queue is empty."""
        with self._cond:
            oldest = min((link.queue[0].enqueued_at for link in self._links.values() if link.queue), default=None)
        return 0.0 if oldest is None else (time.monotonic() - oldest) * 1000.0

    def stats(self) -> dict[str, int]:
        with self._cond:
            return dict(self._counters)

    def last_errors(self) -> dict[tuple[str, str], str]:
        with self._cond:
            return {pair: link.last_error for pair, link in self._links.items() if link.last_error}

    def wait_converged(self, timeout: float | None = None) -> bool:
        """True once every queue is empty and nothing is in flight."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._creating and all(not link.queue and not link.in_flight
                                                   for link in self._links.values()), timeout)

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            threads = [link.thread for link in self._links.values() if link.thread]
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------------------ internals

    def _members(self) -> list[str]:
        return self._replicas + ([self.witness] if self.witness else [])

    def _require_member(self, region: str) -> None:
        if region not in self._replicas and region != self.witness:
            raise InvalidTopology(f"{region} is not a Region of {self.table_name}")

    def _reachable_count(self, region: str) -> int:
        if region in self._cut:
            return 1
        return 1 + sum(1 for m in self._members() if m != region and m not in self._cut)

    def _strong_refusal(self, region: str) -> str | None:
        if region not in self._replicas:
            return f"{region} holds no replica of {self.table_name}"
        members = len(self._members())
        reachable = self._reachable_count(region)
        if reachable < members // 2 + 1:
            return (f"Internal server error: the {self.table_name} replica in {region} reaches "
                    f"{reachable} of {members} Regions, no quorum; only eventually consistent "
                    "reads are served")
        if any(link.dst == region and (link.queue or link.in_flight) for link in self._links.values()):
            return f"Internal server error: the {self.table_name} replica in {region} is catching up"
        return None

    def _stamp(self, region: str, key: dict[str, Any], image: dict[str, Any] | None) -> _Change:
        """Caller holds _write_lock."""
        if replicating():
            raise RuntimeError("a replicated change was reported as a local write; check replicating()")
        if region not in self._versions:
            raise InvalidTopology(f"{region} holds no replica of {self.table_name}")
        ident = item_key(key)
        current = self._versions[region].get(ident)
        # Above the clock, this region's last stamp and the item's stamp: a local write is always
        # the newest version in its own replica.
        timestamp = max(self._clock(), self._last_ts[region] + 1, current.timestamp_ns + 1 if current else 0)
        self._last_ts[region] = timestamp
        stamp = WriteStamp(timestamp, region)
        self._versions[region][ident] = stamp
        return _Change(stamp, dict(key), None if image is None else dict(image), time.monotonic())

    def _deliver(self, dst: str, change: _Change) -> None:
        """Apply ``change`` in ``dst`` unless dst already holds a newer version of the item."""
        with self._write_lock:
            versions = self._versions.get(dst)
            if versions is None:  # replica removed meanwhile
                return
            ident = item_key(change.key)
            current = versions.get(ident)
            if current is not None and current >= change.stamp:
                with self._cond:
                    self._counters["superseded"] += 1
                return
            with replicating_scope():
                self._apply(dst, change.key, change.image)
            versions[ident] = change.stamp
            with self._cond:
                self._counters["delivered"] += 1

    def _open_link(self, src: str, dst: str) -> None:
        """Caller holds _cond."""
        link = _Link(src, dst)
        self._links[(src, dst)] = link
        if self._background:
            link.thread = threading.Thread(target=self._run_link, args=(link,), daemon=True,
                                           name=f"replicate-{self.table_name}-{src}-{dst}")
            link.thread.start()

    def _deliverable(self, link: _Link) -> bool:
        """Caller holds _cond."""
        if link.dst in self._cut:
            return False
        if link.src not in self._cut:
            return True
        if self.mode != STRONG or not link.queue:
            return False
        # An MRSC replica catches up from any reachable peer that already holds the write, not
        # only from the Region that made it (that one may be the isolated one now). The version
        # maps are read without _write_lock (lock order); a stale answer only delays the relay.
        change = link.queue[0]
        ident = item_key(change.key)
        return any(peer not in self._cut and peer != link.dst
                   and self._versions.get(peer, {}).get(ident, WriteStamp(-1, "")) >= change.stamp
                   for peer in self._replicas)

    def _hold_s(self, link: _Link) -> float:
        """Seconds until the head of ``link`` may be delivered (slow-link emulation)."""
        delay = max(self._delay_s.get(link.src, 0.0), self._delay_s.get(link.dst, 0.0))
        return link.queue[0].enqueued_at + delay - time.monotonic() if delay else 0.0

    def _next_change(self, link: _Link) -> _Change | None:
        """Block until the head of ``link`` may be delivered; None when the link is finished."""
        with self._cond:
            while True:
                if self._closed or (link.retired and not link.queue):
                    if link.retired and self._links.get((link.src, link.dst)) is link:
                        del self._links[(link.src, link.dst)]
                    return None
                if link.queue and self._deliverable(link):
                    hold = self._hold_s(link)
                    if hold <= 0:
                        link.in_flight = True
                        return link.queue[0]
                    self._cond.wait(hold)
                else:
                    self._cond.wait()

    def _settle(self, link: _Link, change: _Change, error: Exception | None) -> None:
        """Book the outcome of delivering the head of ``link``: popped on success, kept on error."""
        with self._cond:
            link.in_flight = False
            if error is not None:  # the lead's apply failed: keep the change for a retry
                link.last_error = repr(error)
                self._counters["apply_failures"] += 1
            else:
                if link.queue and link.queue[0] is change:
                    link.queue.popleft()
                link.last_error = None
                if link.retired and not link.queue and self._links.get((link.src, link.dst)) is link:
                    del self._links[(link.src, link.dst)]
            self._cond.notify_all()

    def _run_link(self, link: _Link) -> None:
        backoff = self._retry[0]
        while (change := self._next_change(link)) is not None:
            try:
                self._deliver(link.dst, change)
            except Exception as exc:
                self._settle(link, change, exc)
                with self._cond:
                    deadline = time.monotonic() + backoff
                    while not self._closed and (left := deadline - time.monotonic()) > 0:
                        self._cond.wait(left)
                backoff = min(backoff * 2, self._retry[1])
                continue
            backoff = self._retry[0]
            self._settle(link, change, None)
            self._replicated(link, change)

    def _replicated(self, link: _Link, change: _Change) -> None:
        if self._on_replicated is not None:
            try:
                self._on_replicated(link.src, link.dst, (time.monotonic() - change.enqueued_at) * 1000)
            except Exception:  # noqa: BLE001 - a metric must never stop replication
                pass


class StrongWrite:
    """A permitted MRSC write: ``with group.begin_strong_write(r, key) as w: apply; w.commit(img)``."""

    def __init__(self, group: ReplicationGroup, region: str, key: dict[str, Any] | None) -> None:
        self._group = group
        self.region = region
        self.key = key
        self.stamp: WriteStamp | None = None
        self._done = False

    def commit(self, image: dict[str, Any] | None, key: dict[str, Any] | None = None) -> WriteStamp:
        target = key if key is not None else self.key
        if target is None:
            raise ValueError("commit needs the item's key")
        try:
            self.stamp = self._group.commit_strong_write(self.region, target, image)
            return self.stamp
        finally:
            self.release()

    def release(self) -> None:
        """Give the item back without committing (the local write was refused)."""
        if not self._done:
            self._done = True
            self._group._release(self.region, self.key)

    def __enter__(self) -> StrongWrite:
        self._group._write_lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.release()
        finally:
            self._group._write_lock.release()
