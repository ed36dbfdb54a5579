"""The event source mappings' wiring: one stream poller per mapping the control plane holds.

Each mapping reads its table's stream shard (moto's records, never consumed or deleted) and
invokes its function as Lambda's event source mapping does (poller.py). A batch that exhausts its
retries goes to the mapping's on-failure destination (an SQS queue or SNS topic).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from typing import Any, Callable

from moto.awslambda.models import lambda_backends
from moto.dynamodb.models import dynamodb_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from ...invocation import InvokeOutcome
from .poller import StreamEventSourceMapping

log = logging.getLogger("localcloud.awslambda.event_source_mappings")


class TableShardReader:
    """A replica table's stream shard as the poller reads it (GetRecords shape, epoch timestamps)."""

    def __init__(self, account_id: str, region: str, table_name: str):
        self.account_id, self.region, self.table_name = account_id, region, table_name

    def _shard(self) -> Any | None:
        backend = dynamodb_backends[self.account_id][self.region]
        table = backend.tables.get(self.table_name)
        return table.stream_shard if table is not None else None

    @property
    def shard_id(self) -> str:
        shard = self._shard()
        return shard.id if shard is not None else "shardId-none"

    def records_after(self, sequence_number: str | None, limit: int) -> list[dict[str, Any]]:
        shard = self._shard()
        if shard is None:
            return []
        start = shard.starting_sequence_number
        offset = 0 if sequence_number is None else max(0, int(sequence_number) - start + 1)
        return [_plain(record.to_json()) for record in shard.items[offset:offset + limit]]

    def latest_sequence_number(self) -> str | None:
        shard = self._shard()
        if shard is None or not shard.items:
            return None
        return str(shard.starting_sequence_number + len(shard.items) - 1)


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    body = dict(record["dynamodb"])
    created = body.get("ApproximateCreationDateTime")
    if isinstance(created, dt.datetime):
        moment = created if created.tzinfo else created.replace(tzinfo=dt.timezone.utc)
        body["ApproximateCreationDateTime"] = int(moment.timestamp())
    return json.loads(json.dumps({**record, "dynamodb": body}, default=str))


def _table_of(stream_arn: str) -> tuple[str, str] | None:
    # arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
    parts = stream_arn.split(":")
    if len(parts) < 6 or parts[2] != "dynamodb" or "/stream/" not in parts[5]:
        return None
    return parts[3], parts[5].split("/")[1]


class StreamMappings:
    def __init__(self, account_id: str, regions: list[str], invoke: Callable[[str, dict], InvokeOutcome],
                 publish: Callable[..., None] | None = None):
        self.account_id = account_id
        self.regions = regions
        self._function_invoke = invoke
        self._publish = publish
        self._lock = threading.Lock()
        self._pollers: dict[str, tuple[dict, StreamEventSourceMapping]] = {}

    def _invoke(self, function_arn: str, event: dict) -> InvokeOutcome:
        """The function invoked with a batch; first its IteratorAge: the age of the batch's last
        record, in milliseconds ("Event source mapping metrics",
        https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html)."""
        records = event.get("Records") or []
        created = (records[-1].get("dynamodb") or {}).get("ApproximateCreationDateTime") if records else None
        if self._publish is not None and created is not None:
            parts = function_arn.split(":")
            age_ms = max(0.0, (time.time() - float(created)) * 1000)
            self._publish(self.account_id, parts[3], "AWS/Lambda", "IteratorAge", {"FunctionName": parts[6]}, age_ms,
                          "Milliseconds")
        return self._function_invoke(function_arn, event)

    def _on_failure(self, destination_arn: str, message: dict[str, Any]) -> None:
        parts = destination_arn.split(":")
        service, region, account = parts[2], parts[3], parts[4]
        body = json.dumps(message)
        if service == "sqs":
            sqs_backends[account][region].send_message(parts[5], body, message_attributes={}, delay_seconds=0)
        elif service == "sns":
            sns_backends[account][region].publish(body, arn=destination_arn)
        else:
            log.warning("on-failure destination %s is not SQS or SNS; the batch record is dropped", destination_arn)

    def add_region(self, region: str) -> None:
        """Poll the mappings of one more region (a region added to a running cloud)."""
        self.regions = sorted({*self.regions, region})
        self.sync()

    def sync(self) -> None:
        """Start pollers for new mappings, restart changed ones, stop removed ones."""
        wanted: dict[str, dict] = {}
        for region in self.regions:
            backend = lambda_backends[self.account_id][region]
            for esm in list(backend._event_source_mappings.values()):
                config = esm.get_configuration()
                if _table_of(config.get("EventSourceArn") or "") is not None:
                    wanted[config["UUID"]] = config
        with self._lock:
            resume: dict[str, str | None] = {}
            for uuid in [u for u in self._pollers if u not in wanted or _differs(self._pollers[u][0], wanted[u])]:
                _, poller = self._pollers.pop(uuid)
                poller.stop()
                resume[uuid] = poller.checkpoint()  # an updated mapping carries on where it was
            for uuid, config in wanted.items():
                if uuid in self._pollers:
                    continue
                region, table = _table_of(config["EventSourceArn"])  # type: ignore[misc]
                reader = TableShardReader(self.account_id, region, table)
                poller = StreamEventSourceMapping(uuid, config["FunctionArn"], config["EventSourceArn"], region, config,
                                                  reader, self._invoke, self._on_failure,
                                                  resume_after=resume.get(uuid))
                self._pollers[uuid] = (config, poller)

    def notify(self, account_id: str, region: str, table_name: str) -> None:
        with self._lock:
            pollers = [p for c, p in self._pollers.values() if _table_of(c["EventSourceArn"]) == (region, table_name)]
        for poller in pollers:
            poller.notify()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {uuid: poller.stats() if callable(getattr(poller, "stats", None)) else {}
                    for uuid, (_, poller) in self._pollers.items()}

    def close(self) -> None:
        with self._lock:
            pollers, self._pollers = list(self._pollers.values()), {}
        for _, poller in pollers:
            poller.stop()


def _differs(old: dict, new: dict) -> bool:
    ignored = {"LastModified", "StateTransitionReason", "LastProcessingResult"}
    return {k: v for k, v in old.items() if k not in ignored} != {k: v for k, v in new.items() if k not in ignored}
