"""What Lambda's poller does for a DynamoDB stream event source mapping, on one shard.

Behaviour, as documented by AWS:
- Records are read in order; FilterCriteria is applied to each record before batching, and a
  record that matches no filter is committed without being delivered.
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
- A batch is up to BatchSize records (default 100, max 10,000), gathered for up to
  MaximumBatchingWindowInSeconds (default 0); the event is ``{"Records": [...]}`` with
  ``eventSourceARN`` on each record. On success the checkpoint moves past the batch.
  https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html
- ReportBatchItemFailures: ``{"batchItemFailures": [{"itemIdentifier": seq}]}`` checkpoints before
  the lowest failed sequence number and retries from there; an empty/null list or an empty/null
  response is success; an empty/null/unknown itemIdentifier fails the whole batch. With
  BisectBatchOnFunctionError as well, a partial response splits the batch at the returned number.
  https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
- A function error with BisectBatchOnFunctionError splits the batch in two; splitting does not
  consume the retry quota. Failed records are retried until MaximumRetryAttempts (-1: infinite)
  or MaximumRecordAgeInSeconds (-1: infinite) runs out; then the batch's invocation record goes to
  the OnFailure destination, or the records are discarded without one, and the shard moves on.
  Errors before invocation (throttling, the runtime unreachable) retry until the records expire
  and do not count as attempts.
  https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html
- The on-failure ``condition`` is ``RetryAttemptsExhausted`` (documented example) or
  ``RecordAgeExceeded`` (not in the docs' example; the name LocalStack also uses).

Not modelled: ParallelizationFactor, TumblingWindowInSeconds, the 6 MB payload limit, stream
retention (24 h) and shard splits; one instance polls one shard.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ...dynamodb.streams import ShardReader, created_at, sequence_after, sequence_of
from ...invocation import InvokeOutcome
from .events import invocation_record, lambda_event
from .filters import FilterCriteria

log = logging.getLogger(__name__)

Invoke = Callable[[str, dict[str, Any]], InvokeOutcome]
OnFailure = Callable[[str, dict[str, Any]], None]

RETRY_ATTEMPTS_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


class InvalidEventSourceMapping(ValueError):
    """A configuration Lambda would reject (InvalidParameterValueException)."""

    aws_error_code = "InvalidParameterValueException"


@dataclass(frozen=True)
class StreamMappingConfig:
    """The stream-relevant settings of an EventSourceMapping, validated as Lambda does."""

    starting_position: str
    batch_size: int = 100
    maximum_batching_window_s: float = 0.0
    filter_criteria: FilterCriteria = field(default_factory=FilterCriteria)
    bisect_on_function_error: bool = False
    maximum_retry_attempts: int = -1
    maximum_record_age_s: int = -1
    report_batch_item_failures: bool = False
    on_failure_destination: str | None = None
    enabled: bool = True

    @classmethod
    def from_api(cls, config: Mapping[str, Any]) -> StreamMappingConfig:
        """From the EventSourceMapping as Lambda's API spells it (Create/Get response keys)."""
        position = config.get("StartingPosition")
        if position not in {"LATEST", "TRIM_HORIZON"}:
            raise InvalidEventSourceMapping("StartingPosition must be LATEST or TRIM_HORIZON for DynamoDB")
        response_types = list(config.get("FunctionResponseTypes") or [])
        if any(t != "ReportBatchItemFailures" for t in response_types):
            raise InvalidEventSourceMapping("FunctionResponseTypes accepts only ReportBatchItemFailures")
        destination = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        enabled = config.get("Enabled", config.get("State", "Enabled") in {"Enabled", "Enabling", "Creating"})
        parsed = cls(
            starting_position=position,
            batch_size=_bounded(config, "BatchSize", 100, 1, 10_000),
            maximum_batching_window_s=_bounded(config, "MaximumBatchingWindowInSeconds", 0, 0, 300),
            filter_criteria=FilterCriteria.parse(config.get("FilterCriteria")),
            bisect_on_function_error=bool(config.get("BisectBatchOnFunctionError", False)),
            maximum_retry_attempts=_bounded(config, "MaximumRetryAttempts", -1, -1, 10_000),
            maximum_record_age_s=_bounded(config, "MaximumRecordAgeInSeconds", -1, -1, 604_800),
            report_batch_item_failures="ReportBatchItemFailures" in response_types,
            on_failure_destination=destination or None,
            enabled=bool(enabled),
        )
        return parsed


def _bounded(config: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = config.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidEventSourceMapping(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


@dataclass(frozen=True)
class EsmStats:
    """Counters since start. Records: every read record ends in exactly one of delivered,
    filtered, sent_to_on_failure or discarded (or is still pending)."""

    delivered_records: int = 0
    filtered_records: int = 0
    sent_to_on_failure_records: int = 0
    on_failure_messages: int = 0
    discarded_records: int = 0
    invocations: int = 0
    failed_invocations: int = 0
    bisections: int = 0
    invoke_errors: int = 0
    on_failure_errors: int = 0


@dataclass
class _Pending:
    record: dict[str, Any]
    previous: str | None  # the shard position just before this record: the checkpoint if it fails
    seen_at: float


@dataclass
class _Segment:
    """A contiguous run of pending records being retried as one batch."""

    entries: list[_Pending]
    retries: int = 0
    invocations: int = 0
    last_outcome: InvokeOutcome | None = None
    delay: float = 0.0


class StreamEventSourceMapping:
    """Polls one shard and invokes one function, with Lambda's batching and error handling."""

    def __init__(
        self,
        uuid: str,
        function_arn: str,
        stream_arn: str,
        region: str,
        config: Mapping[str, Any] | StreamMappingConfig,
        reader: ShardReader,
        invoke: Invoke,
        on_failure: OnFailure | None = None,
        *,
        resume_after: str | None = None,
        clock: Callable[[], float] = time.time,
        backoff_initial_s: float = 0.05,
        backoff_max_s: float = 2.0,
        poll_interval_s: float = 0.5,
        read_limit: int = 1000,
        autostart: bool = True,
    ) -> None:
        self.uuid = uuid
        self.function_arn = function_arn
        self.stream_arn = stream_arn
        self.region = region
        self.config = config if isinstance(config, StreamMappingConfig) else StreamMappingConfig.from_api(config)
        self._reader = reader
        self._invoke = invoke
        self._on_failure = on_failure
        self._clock = clock
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._poll_interval = poll_interval_s
        self._read_limit = max(read_limit, 1)

        self._cond = threading.Condition()
        self._stopped = threading.Event()
        self._woken = False
        self._idle = False
        self._enabled = self.config.enabled
        self._stats = EsmStats()
        if resume_after is not None:
            start = resume_after
        elif self.config.starting_position == "LATEST":
            start = reader.latest_sequence_number()
        else:
            start = None
        self._read_position = start
        self._checkpoint = start
        self._pending: deque[_Pending] = deque()
        self._thread = threading.Thread(target=self._run, name=f"esm-{uuid[:8]}", daemon=True)
        if autostart:
            self.start()

    # ----------------------------------------------------------------- control and observation

    def start(self) -> None:
        if not self._thread.is_alive() and not self._stopped.is_set():
            self._thread.start()

    def notify(self) -> None:
        """Wake the poller: the shard may have new records (the 0.5 s poll is only a fallback)."""
        with self._cond:
            self._woken = True
            self._idle = False
            self._cond.notify_all()

    def set_enabled(self, enabled: bool) -> None:
        with self._cond:
            self._enabled = enabled
            self.config = replace(self.config, enabled=enabled)
            self._woken = True
            self._cond.notify_all()

    @property
    def state(self) -> str:
        return "Enabled" if self._enabled else "Disabled"

    def checkpoint(self) -> str | None:
        """Sequence number of the last record committed (delivered, filtered or given up)."""
        with self._cond:
            return self._checkpoint

    def stats(self) -> EsmStats:
        with self._cond:
            return self._stats

    def wait_idle(self, timeout: float) -> bool:
        """Block until every record in the shard has been committed; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                running = self._enabled and not self._stopped.is_set()
                if running and not self._cond.wait_for(lambda: self._idle or self._stopped.is_set(),
                                                       max(0.0, deadline - time.monotonic())):
                    return False
                if self._pending:
                    return False
                position = self._read_position
            # The reader may take the lead's locks, so it is never called under our condition.
            if not sequence_after(self._reader.latest_sequence_number(), position):
                return True
            if not running or time.monotonic() >= deadline:
                return False
            self.notify()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling and join the thread; uncommitted records stay uncommitted."""
        self._stopped.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    close = stop

    # ----------------------------------------------------------------------------- poll loop

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                if not self._enabled:
                    self._wait_for_wake(None)
                    continue
                self._read()
                if not self._pending:
                    self._wait_for_wake(self._poll_interval)
                    continue
                window = self._batching_wait()
                if window > 0:
                    self._wait_for_wake(window, idle=False)
                    continue
                size = min(self.config.batch_size, len(self._pending))
                self._process([self._pending[i] for i in range(size)])
            except Exception:  # a reader or callback bug must not kill the shard's poller
                log.exception("event source mapping %s: poll failed", self.uuid)
                self._stopped.wait(self._backoff[1])

    def _wait_for_wake(self, timeout: float | None, *, idle: bool = True) -> None:
        with self._cond:
            if idle:
                self._idle = True
                self._cond.notify_all()
            self._cond.wait_for(lambda: self._woken or self._stopped.is_set(), timeout)
            self._woken = False

    def _read(self) -> None:
        while len(self._pending) < self.config.batch_size:
            records = self._reader.records_after(self._read_position, self._read_limit)
            fresh = [r for r in records if sequence_after(sequence_of(r), self._read_position)]
            now = time.monotonic()
            with self._cond:
                for record in fresh:
                    previous, self._read_position = self._read_position, sequence_of(record)
                    if self.config.filter_criteria.matches(record):
                        self._pending.append(_Pending(record, previous, now))
                    else:
                        self._count(filtered_records=1)
                self._advance_checkpoint()
                if fresh:
                    self._idle = False
            if len(records) < self._read_limit:
                return

    def _batching_wait(self) -> float:
        if len(self._pending) >= self.config.batch_size or not self.config.maximum_batching_window_s:
            return 0.0
        return self._pending[0].seen_at + self.config.maximum_batching_window_s - time.monotonic()

    def _process(self, batch: list[_Pending]) -> None:
        segments = deque([_Segment(batch)])
        while segments and not self._stopped.is_set():
            segment = segments[0]
            expired = self._expired_prefix(segment.entries)
            if expired:
                if not self._give_up(segment, expired, RECORD_AGE_EXCEEDED):
                    return
                segment.entries = segment.entries[len(expired):]
                if not segment.entries:
                    segments.popleft()
                continue
            try:
                outcome = self._invoke(self.function_arn,
                                       lambda_event([e.record for e in segment.entries], self.stream_arn))
            except Exception:
                log.warning("event source mapping %s: invoke failed before the function ran", self.uuid,
                            exc_info=True)
                self._count(invoke_errors=1)
                self._sleep(segment)
                continue
            segment.invocations += 1
            segment.last_outcome = outcome
            self._count(invocations=1)
            failed_at = self._first_failure(outcome, segment.entries)
            if failed_at is None:
                self._commit(segment.entries, delivered=True)
                segments.popleft()
                continue
            self._count(failed_invocations=1)
            if failed_at > 0:  # partial success: commit before the lowest failed record
                self._commit(segment.entries[:failed_at], delivered=True)
                segment.entries = segment.entries[failed_at:]
            elif outcome.function_error and self.config.bisect_on_function_error and len(segment.entries) > 1:
                half = len(segment.entries) // 2
                segments.popleft()
                segments.appendleft(replace(segment, entries=segment.entries[half:]))
                segments.appendleft(replace(segment, entries=segment.entries[:half]))
                self._count(bisections=1)
                continue
            segment.retries += 1
            limit = self.config.maximum_retry_attempts
            if limit != -1 and segment.retries > limit:
                if not self._give_up(segment, segment.entries, RETRY_ATTEMPTS_EXHAUSTED):
                    return
                segments.popleft()
                continue
            self._sleep(segment)

    def _first_failure(self, outcome: InvokeOutcome, entries: list[_Pending]) -> int | None:
        """None on success, else the index to retry from (0: the whole batch failed)."""
        if outcome.function_error:
            return 0
        if not self.config.report_batch_item_failures:
            return None
        try:
            response = json.loads(outcome.payload or b"null")
        except (ValueError, UnicodeDecodeError):
            return 0
        if response is None or response == {}:
            return None
        if not isinstance(response, dict):
            return 0
        failures = response.get("batchItemFailures")
        if failures is None or failures == []:
            return None
        if not isinstance(failures, list):
            return 0
        positions = {sequence_of(e.record): i for i, e in enumerate(entries)}
        indexes = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not isinstance(identifier, str) or identifier not in positions:
                return 0
            indexes.append(positions[identifier])
        return min(indexes)

    def _expired_prefix(self, entries: list[_Pending]) -> list[_Pending]:
        limit = self.config.maximum_record_age_s
        if limit == -1:
            return []
        now = self._clock()
        count = 0
        while count < len(entries) and now - created_at(entries[count].record) > limit:
            count += 1
        return entries[:count]

    def _give_up(self, segment: _Segment, entries: list[_Pending], condition: str) -> bool:
        """Send the invocation record to the destination (or discard); False if stopped first."""
        destination = self.config.on_failure_destination
        if destination is None or self._on_failure is None:
            if destination is not None:
                log.warning("event source mapping %s: no sender for %s; records discarded", self.uuid, destination)
            self._count(discarded_records=len(entries))
            self._commit(entries, delivered=False)
            return True
        message = invocation_record(
            records=[e.record for e in entries], condition=condition, function_arn=self.function_arn,
            stream_arn=self.stream_arn, shard_id=self._reader.shard_id,
            invoke_count=segment.invocations, outcome=segment.last_outcome, now=self._clock(),
        )
        delay = self._backoff[0]
        while not self._stopped.is_set():
            try:
                self._on_failure(destination, message)
            except Exception:
                # Never drop what the destination has not taken: retry until it does or we stop.
                log.warning("event source mapping %s: on-failure delivery failed", self.uuid, exc_info=True)
                self._count(on_failure_errors=1)
                self._stopped.wait(delay)
                delay = min(delay * 2, self._backoff[1])
                continue
            self._count(sent_to_on_failure_records=len(entries), on_failure_messages=1)
            self._commit(entries, delivered=False)
            return True
        return False

    def _commit(self, entries: list[_Pending], *, delivered: bool) -> None:
        with self._cond:
            for entry in entries:
                head = self._pending.popleft()
                if head is not entry:  # an invariant, so it must hold under python -O too
                    raise RuntimeError("commits must follow shard order")
            if delivered:
                self._count(delivered_records=len(entries))
            self._advance_checkpoint()

    def _advance_checkpoint(self) -> None:
        # Everything before the oldest pending record is done, including filtered records.
        self._checkpoint = self._pending[0].previous if self._pending else self._read_position

    def _sleep(self, segment: _Segment) -> None:
        segment.delay = min(segment.delay * 2, self._backoff[1]) if segment.delay else self._backoff[0]
        self._stopped.wait(segment.delay)

    def _count(self, **increments: int) -> None:
        with self._cond:
            self._stats = replace(self._stats, **{k: getattr(self._stats, k) + v for k, v in increments.items()})
