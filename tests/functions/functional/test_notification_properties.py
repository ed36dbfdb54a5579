"""Exactly one change notification per write, whatever the regions, interleavings and retries.

Hypothesis generates API-level writes (PUT create/replace, DELETE, with or without If-Match) on a
few ids in 2-3 regions, interleaved with replication deliveries and stream polls. Each region is
built from real pieces:

- its replica: a moto DynamoDB table written by the API's own code (``api.store``); every change
  lands in the region's stream shard (``ListShardReader``, the record shape of GetRecords) and
  goes to the others through ``ReplicationGroup`` (last writer wins), whose applies land in the
  receiving region's shard too: every replica's stream carries every write, local or replicated;
- its event source mapping, stepped here as Lambda's poller does it: the FilterCriteria from
  regional/stream.yaml (``localcloud.awslambda.event_source_mappings.filters``) applied before batching, batch sizes and
  lost invocation responses chosen by hypothesis, and ReportBatchItemFailures honoured by
  retrying from the lowest failed sequence number ("Lambda uses the record with the lowest
  sequence number as the checkpoint and retries all records starting from that checkpoint",
  https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html);
- its stream processor, ``stream.app.handler`` unmodified, publishing to the region's SNS FIFO
  topic in moto with an SQS FIFO queue subscribed (raw delivery), behind a hypothesis-driven
  fault: a publish refused before it reaches SNS, or accepted by SNS with the response lost.

Deduplication: SNS FIFO drops a message whose MessageDeduplicationId was already accepted within
five minutes ("subsequent messages ... with the same MessageDeduplicationId, are accepted
successfully but aren't delivered", https://docs.aws.amazon.com/sns/latest/api/API_Publish.html).
moto 5.2.5's SNS does not deduplicate; it hands the id to the subscribed SQS FIFO queue, and
moto's SQS drops a duplicate of a message still in the queue (moto/sqs/models.py,
Queue.add_message). So the queues are read only at the end, and the test applies the FIFO rule
to the recorded publishes itself as well, to prove moto's count is the deduplicated one.

The property: after deduplication, each region's queue holds exactly one notification per write
that region's API made (id, version, event type, origin region, updated_at, data), in the order
the region made them per item (a FIFO group is an item id), and nothing else: no REMOVE record
and no replicated copy is ever announced.
"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from tests.functions.functional.conftest import LambdaContext
from tests.templates.cfn_eval import load_template

from api import store
from common import aws
from common.items import iso_millis
from common.observability import logger
from localcloud.awslambda.event_source_mappings import FilterCriteria, lambda_event
from localcloud.dynamodb import EVENTUAL, ListShardReader, ReplicationGroup
from localcloud.dynamodb.streams import sequence_of
from stream.app import handler as stream_handler
from tests.support import ROOT

REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-1"]
TABLE = "global-items"
ACCOUNT = "123456789012"
EPOCH = datetime(2026, 11, 23, 10, 0, 0, tzinfo=timezone.utc)


@cache
def origin_filter(region: str) -> FilterCriteria:
    """The stream mapping's FilterCriteria as regional/stream.yaml declares it, for ``region``."""
    template = load_template(ROOT / "regional" / "stream.yaml")
    function = template["Resources"]["StreamProcessorFunction"]["Properties"]
    criteria = function["Events"]["LocalReplicaStream"]["Properties"]["FilterCriteria"]
    filters = [{"Pattern": f["Pattern"]["Fn::Sub"].replace("${AWS::Region}", region)} for f in criteria["Filters"]]
    return FilterCriteria.parse({"Filters": filters})


@dataclass(frozen=True)
class Note:
    """What one notification says (the identity of a write, and its content)."""

    item_id: str
    version: int
    event_type: str
    origin_region: str
    updated_at: str
    data: str  # canonical JSON, so notes can be counted


class Replica:
    """A region's replica as the API's DynamoDB client sees it: moto's table, plus what DynamoDB
    Streams and global-table replication do with each write (a stream record, a replicated change)."""

    def __init__(self, region: str, client: Any, shard: ListShardReader, group: ReplicationGroup) -> None:
        self.region = region
        self.client = client
        self.shard = shard
        self.group = group

    def read(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.client.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")

    def get_item(self, **request: Any) -> Any:
        return self.client.get_item(**request)

    def update_item(self, **request: Any) -> Any:
        return self._client_write(self.client.update_item, request)

    def delete_item(self, **request: Any) -> Any:
        return self._client_write(self.client.delete_item, request)

    def _client_write(self, call: Callable[..., Any], request: dict[str, Any]) -> Any:
        key = request["Key"]
        with self.group.write_lock():  # no replicated change lands between the write and its stamp
            old = self.read(key)
            response = call(**request)  # a failed condition raises: no change, no record
            new = self.read(key)
            if self.record(key, old, new):
                self.group.local_write(self.region, key, new)
        return response

    def apply_replicated(self, key: dict[str, Any], image: dict[str, Any] | None) -> None:
        old = self.read(key)
        if image is None:
            self.client.delete_item(TableName=TABLE, Key=key)
        else:
            self.client.put_item(TableName=TABLE, Item=image)
        self.record(key, old, image)

    def record(self, key: dict[str, Any], old: dict[str, Any] | None, new: dict[str, Any] | None) -> bool:
        """Append the stream record of a change (none when nothing changed)."""
        if old == new:
            return False
        event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        self.shard.put(event_name, key, new_image=new, old_image=old, region=self.region)
        return True


class Topic:
    """The region's SNS client as the stream processor sees it: moto's FIFO topic behind a fault
    chosen per publish (refused before SNS, or accepted by SNS with the response lost)."""

    def __init__(self, client: Any, topic_arn: str, fault: Callable[[], str]) -> None:
        self.client = client
        self.topic_arn = topic_arn
        self.fault = fault
        self.accepted: list[dict[str, Any]] = []  # every publish SNS received, duplicates included

    def publish(self, **request: Any) -> Any:
        fault = self.fault()
        if fault == "refused":
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "Publish")
        response = self.client.publish(**request)
        self.accepted.append(request)
        if fault == "lost":
            raise ReadTimeoutError(endpoint_url="https://sns.amazonaws.com")
        return response


class Poller:
    """One region's stream event source mapping, stepped by the test."""

    def __init__(self, region: str, shard: ListShardReader, filtered: bool) -> None:
        self.region = region
        self.shard = shard
        self.criteria = origin_filter(region) if filtered else FilterCriteria()
        self.checkpoint: str | None = None
        self.arn = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{TABLE}/stream/2026-11-20T09:00:00.000"

    def pending(self) -> list[dict[str, Any]]:
        # Records the filter rejects are never delivered (their position is simply passed).
        return [r for r in self.shard.records_after(self.checkpoint, 100_000) if self.criteria.matches(r)]

    def poll(self, size: int, invoke: Callable[[dict[str, Any]], dict[str, Any]], lose_response: bool) -> None:
        batch = self.pending()[:size]
        if not batch:
            return
        response = invoke(lambda_event(batch, self.arn))
        if lose_response:  # e.g. a timeout after the function ran: the whole batch comes again
            return
        sequences = [sequence_of(r) for r in batch]
        failed = [f.get("itemIdentifier") for f in (response or {}).get("batchItemFailures") or []]
        if not failed:
            self.checkpoint = sequences[-1]
            return
        if any(s not in sequences for s in failed):  # empty or unknown: the whole batch failed
            return
        first = min(sequences.index(s) for s in failed)
        if first:
            self.checkpoint = sequences[first - 1]


class World:
    """moto for the whole module: the table in every region and per-region clients."""

    def __init__(self) -> None:
        self.clients = {r: {s: boto3.client(s, region_name=r) for s in ("dynamodb", "sns", "sqs")} for r in REGIONS}
        for region in REGIONS:
            self.clients[region]["dynamodb"].create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        # One FIFO topic per region (the stack's ChangeTopic) with a FIFO queue subscribed.
        self.topics: dict[str, tuple[str, str]] = {}
        for region in REGIONS:
            sns, sqs = self.clients[region]["sns"], self.clients[region]["sqs"]
            topic_arn = sns.create_topic(Name="changes.fifo", Attributes={
                "FifoTopic": "true", "ContentBasedDeduplication": "false"})["TopicArn"]
            queue_url = sqs.create_queue(QueueName="observer.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
            sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=attributes["QueueArn"],
                          Attributes={"RawMessageDelivery": "true"})
            self.topics[region] = (topic_arn, queue_url)
        self.example: Example | None = None
        self.serial = itertools.count()


class Example:
    """One generated history: its own item ids, topics, queues, shards and replication group."""

    def __init__(self, world: World, regions: list[str], filtered: bool, fault: Callable[[], str]) -> None:
        self.world = world
        self.regions = regions
        self.prefix = f"x{next(world.serial)}-"
        self.fault = fault
        self.draining = False
        self.now = EPOCH
        self.expected: list[Note] = []
        self.group = ReplicationGroup(TABLE, regions, EVENTUAL, None, self._apply_replicated, background=False)
        self.replicas: dict[str, Replica] = {}
        self.topics: dict[str, Topic] = {}
        self.queues: dict[str, str] = {}
        self.pollers: dict[str, Poller] = {}
        for region in regions:
            clients = world.clients[region]
            shard = ListShardReader()
            self.replicas[region] = Replica(region, clients["dynamodb"], shard, self.group)
            self.pollers[region] = Poller(region, shard, filtered)
            topic_arn, queue_url = world.topics[region]
            self.topics[region] = Topic(clients["sns"], topic_arn, self._fault)
            self.queues[region] = queue_url
            self.delivered(region)  # whatever an example that failed half-way left behind

    def _fault(self) -> str:
        return "ok" if self.draining else self.fault()

    def _apply_replicated(self, region: str, key: dict[str, Any], image: dict[str, Any] | None) -> None:
        self.replicas[region].apply_replicated(key, image)

    @contextmanager
    def running_in(self, region: str) -> Iterator[None]:
        """The environment of that region's functions (each region runs its own copies)."""
        saved = {k: os.environ.get(k) for k in ("AWS_REGION", "AWS_DEFAULT_REGION", "TOPIC_ARN")}
        os.environ.update(AWS_REGION=region, AWS_DEFAULT_REGION=region, TOPIC_ARN=self.topics[region].topic_arn)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    # ------------------------------------------------------------------------------ API writes

    def put(self, region: str, name: str, if_match: str, data: dict[str, Any]) -> None:
        item_id = self.prefix + name
        held = self.replicas[region].read({"id": {"S": item_id}})
        expected_version = self._if_match(held, if_match)
        with self.running_in(region):
            try:
                item, created = store.put_item(item_id, data, expected_version)
            except store.ConditionFailed:
                assert expected_version is not None, "a PUT without If-Match cannot be refused"
                return
        self.expected.append(Note(item_id, item["version"], "created" if created else "updated", region,
                                  item["updated_at"], canonical(data)))

    def delete(self, region: str, name: str, if_match: str) -> None:
        item_id = self.prefix + name
        held = self.replicas[region].read({"id": {"S": item_id}})
        expected_version = self._if_match(held, if_match)
        with self.running_in(region):
            try:
                store.delete_item(item_id, expected_version)
            except store.ConditionFailed:
                assert held is None or "deleted" in held or expected_version is not None
                return
        assert held is not None and "deleted" not in held
        self.expected.append(Note(item_id, int(held["version"]["N"]) + 1, "deleted", region, iso_millis(self.now),
                                  canonical(None)))

    @staticmethod
    def _if_match(held: dict[str, Any] | None, choice: str) -> int | None:
        version = int(held["version"]["N"]) if held else 0
        return {"none": None, "current": version, "stale": version + 1}[choice]

    # ------------------------------------------------------------------------------ delivery

    def replicate(self, pick: Callable[[list[tuple[str, str]]], tuple[str, str]]) -> None:
        links = sorted(self.group.deliverable_links())
        if links:
            self.group.deliver_next(*pick(links))

    def poll(self, region: str, size: int, lose_response: bool) -> None:
        def invoke(event: dict[str, Any]) -> dict[str, Any]:
            with self.running_in(region):
                return stream_handler(event, LambdaContext())

        self.pollers[region].poll(size, invoke, lose_response)

    def drain(self) -> None:
        """Replication catches up, then every mapping runs until its stream is consumed."""
        self.draining = True
        while links := sorted(self.group.deliverable_links()):
            self.group.deliver_next(*links[0])
        for region in self.regions:
            for _ in range(1_000):
                if not self.pollers[region].pending():
                    break
                self.poll(region, 10, lose_response=False)
            assert not self.pollers[region].pending(), f"{region}: stream never consumed"

    def delivered(self, region: str) -> list[dict[str, Any]]:
        """Everything the region's queue received, in order (read once, at the end)."""
        sqs = self.world.clients[region]["sqs"]
        received = []
        while batch := sqs.receive_message(QueueUrl=self.queues[region], MaxNumberOfMessages=10,
                                           AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages"):
            for message in batch:
                received.append(message)
                sqs.delete_message(QueueUrl=self.queues[region], ReceiptHandle=message["ReceiptHandle"])
        return received


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True)


def note_of(message: dict[str, Any]) -> Note:
    body = json.loads(message["Body"])
    return Note(body["id"], body["version"], body["event_type"], body["origin_region"], body["updated_at"],
                canonical(body["data"]))


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.setenv("TABLE_NAME", TABLE)
        patch.setenv("POWERTOOLS_SERVICE_NAME", "global-items")
        patch.setenv("POWERTOOLS_METRICS_NAMESPACE", "GlobalItemsTest")
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "TOPIC_ARN"):
            patch.setenv(name, os.environ.get(name, REGIONS[0]))
        aws.reset()
        world = World()
        # Each region's functions get that region's clients, as separate Lambda environments would.
        patch.setattr(aws, "dynamodb", lambda: world.example.replicas[os.environ["AWS_REGION"]])
        patch.setattr(aws, "sns", lambda: world.example.topics[os.environ["AWS_REGION"]])
        # The API stamps updated_at from its clock; hypothesis moves it (ties included).
        patch.setattr(store, "utc_now", lambda: world.example.now)
        # The processor logs every injected failure with its traceback: thousands of lines.
        level = logger.log_level
        logger.setLevel("CRITICAL")
        try:
            yield world
        finally:
            logger.setLevel(level)
    aws.reset()


# Few ids and mostly the same millisecond, so the same item is rewritten, deleted and recreated
# by several regions before anything is replicated or announced.
ids = st.sampled_from(["a", "b"])
payloads = st.fixed_dictionaries({"n": st.integers(0, 3)})
steps = st.sampled_from(["put", "put", "delete", "replicate", "poll"])
millis_later = st.sampled_from([0, 0, 1, 3])
faults = st.sampled_from(["ok", "ok", "refused", "lost"])


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_every_write_is_announced_exactly_once_by_its_origin_region(world: World, data: st.DataObject) -> None:
    regions = data.draw(st.sampled_from([REGIONS[:2], REGIONS]), label="regions")
    filtered = data.draw(st.booleans(), label="mapping has the template's filter")
    example = Example(world, regions, filtered,
                      lambda: data.draw(faults, label="publish"))
    world.example = example
    in_region = st.sampled_from(regions)

    for _ in range(data.draw(st.integers(1, 24), label="steps")):
        step = data.draw(steps, label="step")
        if step in ("put", "delete"):
            example.now += timedelta(milliseconds=data.draw(millis_later, label="ms later"))
            region, name = data.draw(in_region, label="region"), data.draw(ids, label="id")
            if_match = data.draw(st.sampled_from(["none", "none", "current", "stale"]), label="If-Match")
            if step == "put":
                example.put(region, name, if_match, data.draw(payloads, label="data"))
            else:
                example.delete(region, name, if_match)
        elif step == "replicate":
            example.replicate(lambda links: data.draw(st.sampled_from(links), label="link"))
        else:
            example.poll(data.draw(in_region, label="region"), data.draw(st.integers(1, 5), label="batch size"),
                         data.draw(st.booleans(), label="response lost"))
    example.drain()

    published_by = {region: [note_of(m) for m in example.delivered(region)] for region in regions}
    for region, notes in published_by.items():
        mine = [n for n in example.expected if n.origin_region == region]
        # Exactly once: the same notifications as writes, no more (REMOVE records, replicated
        # copies, retries) and no fewer (a write lost between stream, processor and topic).
        assert Counter(notes) == Counter(mine), region
        # FIFO per item: a region's notifications of an item come in the order it wrote them.
        for item_id in {n.item_id for n in mine}:
            assert [n for n in notes if n.item_id == item_id] == [n for n in mine if n.item_id == item_id], item_id
        # The count moto delivered is the FIFO-deduplicated one, not an artefact of moto.
        accepted = example.topics[region].accepted
        assert len({p["MessageDeduplicationId"] for p in accepted}) == len(notes)
        assert all(p["MessageGroupId"] == json.loads(p["Message"])["id"] for p in accepted)


# ---------------------------------------------------------------------------------- fixed cases

def notes_in(example: Example, region: str) -> list[Note]:
    return [note_of(m) for m in example.delivered(region)]


def test_an_item_recreated_within_the_same_millisecond_is_announced_again(world: World) -> None:
    # Two clients' clocks can read the same millisecond: one creates, another deletes, a third
    # (whose request started in that same millisecond) creates again: version 1 twice, same
    # updated_at. The second creation is a different write and must not be dropped as a duplicate.
    example = world.example = Example(world, REGIONS[:2], True, lambda: "ok")
    eu = REGIONS[0]
    example.put(eu, "a", "none", {"n": 1})
    example.delete(eu, "a", "none")
    example.put(eu, "a", "none", {"n": 1})
    example.drain()

    notes = [(n.version, n.event_type) for n in notes_in(example, eu)]
    assert notes == [(1, "created"), (2, "deleted"), (1, "created")]


def test_a_failed_publish_does_not_let_a_later_version_of_the_item_overtake_it(world: World) -> None:
    faults = iter(["refused", "ok"])
    example = world.example = Example(world, REGIONS[:2], True, lambda: next(faults, "ok"))
    eu = REGIONS[0]
    example.put(eu, "a", "none", {"n": 1})
    example.now += timedelta(milliseconds=5)
    example.put(eu, "a", "none", {"n": 2})
    example.poll(eu, 2, lose_response=False)   # v1's publish refused, v2's accepted
    example.drain()

    assert [(n.version, n.data) for n in notes_in(example, eu)] == [(1, '{"n": 1}'), (2, '{"n": 2}')]
