"""The deployed global app on the local cloud: stacks, replication, notifications, failover, faults.

Every test asserts on resources and data read back from the cloud (never on a stack status alone).
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections import Counter

import pytest

from tests.e2e.conftest import globalctl_bin, http, wait_until

pytestmark = pytest.mark.slow

REGIONS = {"euw1": "eu-west-1", "use1": "us-east-1", "apse1": "ap-southeast-1"}
TABLE = "global-items"


def _replica_items(cloud, region: str) -> dict[str, dict]:
    items = {}
    for page in cloud.client("dynamodb", region).get_paginator("scan").paginate(TableName=TABLE):
        for item in page["Items"]:
            items[item["id"]["S"]] = item
    return items


def _checksum(items: dict[str, dict]) -> str:
    return hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()


def test_sam_deploy_created_every_stack_with_its_resources(global_app):
    cloud = global_app
    for env, region in REGIONS.items():
        functions = {f["FunctionName"] for f in cloud.client("lambda", region).list_functions()["Functions"]}
        assert any("ApiFunction" in name for name in functions), functions
        assert any("StreamProcessorFunction" in name for name in functions), functions
        api_id = cloud.outputs[env]["ApiHost"].split(".")[0]
        routes = {r["RouteKey"] for r in cloud.client("apigatewayv2", region).get_routes(ApiId=api_id)["Items"]}
        assert {"PUT /items/{id}", "GET /items/{id}", "GET /health", "$default"} <= routes
        table = cloud.client("dynamodb", region).describe_table(TableName=TABLE)["Table"]
        assert {r["RegionName"] for r in table["Replicas"]} == set(REGIONS.values()) - {region}
        mappings = cloud.client("lambda", region).list_event_source_mappings()["EventSourceMappings"]
        assert any(m["EventSourceArn"] == cloud.outputs[env]["ReplicaStreamArn"] for m in mappings)
        assert cloud.outputs[env]["ReplicaStreamArn"].startswith(f"arn:aws:dynamodb:{region}:")
    route53 = cloud.client("route53", "us-east-1")
    checks = route53.list_health_checks()["HealthChecks"]
    hosts = {c["HealthCheckConfig"]["FullyQualifiedDomainName"] for c in checks}
    assert {cloud.outputs[env]["ApiHost"] for env in REGIONS} <= hosts
    instances = route53.list_traffic_policy_instances()["TrafficPolicyInstances"]
    assert [i["Name"] for i in instances] == ["api.global-backend.example."]


def test_a_write_in_one_region_is_read_in_another(global_app):
    item_id = f"demo-{uuid.uuid4().hex[:8]}"
    put = http("PUT", f"{global_app.api('euw1')}/items/{item_id}", {"data": {"colour": "blue"}})
    assert put.status == 201, put.body
    assert put.headers["x-served-by-region"] == "eu-west-1"
    read = wait_until(lambda: (r := http("GET", f"{global_app.api('apse1')}/items/{item_id}")).status == 200 and r,
                      10, "the item to replicate to ap-southeast-1")
    assert read.json()["data"] == {"colour": "blue"}
    assert read.json()["origin_region"] == "eu-west-1"
    assert read.headers["x-served-by-region"] == "ap-southeast-1"


def test_conflicting_concurrent_writes_from_three_regions_settle_identically(global_app):
    cloud = global_app
    ids = [f"conflict-{uuid.uuid4().hex[:6]}-{n}" for n in range(4)]
    barrier = threading.Barrier(len(REGIONS))
    failures: list[str] = []

    def writer(env: str) -> None:
        barrier.wait()
        for round_ in range(3):
            for item_id in ids:
                response = http("PUT", f"{cloud.api(env)}/items/{item_id}", {"data": {"by": env, "round": round_}})
                if response.status not in (200, 201):
                    failures.append(f"{env} {item_id}: {response.status} {response.body[:200]!r}")

    threads = [threading.Thread(target=writer, args=(env,)) for env in REGIONS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures

    def converged():
        views = {region: {k: v for k, v in _replica_items(cloud, region).items() if k in ids}
                 for region in REGIONS.values()}
        sums = {_checksum(view) for view in views.values()}
        return len(sums) == 1 and all(len(view) == len(ids) for view in views.values()) and views

    views = wait_until(converged, 15, "every replica to hold the same items")
    for item_id in ids:
        answers = {http("GET", f"{cloud.api(env)}/items/{item_id}").body for env in REGIONS}
        assert len(answers) == 1, answers
    winners = {json.loads(http("GET", f"{cloud.api('euw1')}/items/{i}").body)["data"]["round"] for i in ids}
    assert winners == {2}, "last writer wins: every item ends with a write of the last round"
    assert len(views) == 3


def test_exactly_one_change_notification_per_write_across_regions(global_app):
    cloud = global_app
    queues = {}
    for env, region in REGIONS.items():
        sqs = cloud.client("sqs", region)
        url = sqs.create_queue(QueueName=f"changes-{uuid.uuid4().hex[:8]}.fifo",
                               Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        cloud.client("sns", region).subscribe(TopicArn=cloud.outputs[env]["ChangeTopicArn"], Protocol="sqs",
                                              Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        queues[region] = url
    writes = []
    prefix = f"notify-{uuid.uuid4().hex[:6]}"
    for n, env in enumerate(list(REGIONS) * 3):
        item_id = f"{prefix}-{n}"
        response = http("PUT", f"{cloud.api(env)}/items/{item_id}", {"data": {"n": n}})
        assert response.status == 201, response.body
        writes.append((item_id, 1, REGIONS[env]))
    # Each region's stream is delivered in order: once its last write is announced, any duplicate
    # of an earlier one would already have arrived.
    last = {origin: (item_id, version, origin) for item_id, version, origin in writes}
    received: Counter = Counter()

    def drain() -> bool:
        for region, url in queues.items():
            sqs = cloud.client("sqs", region)
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                body = json.loads(message["Body"])
                if body["id"].startswith(prefix):  # stream backlog of earlier tests may still arrive
                    received[(body["id"], body["version"], body["origin_region"], region)] += 1
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        seen = {(i, v, o) for i, v, o, _ in received}
        return sum(received.values()) >= len(writes) and set(last.values()) <= seen

    wait_until(drain, 20, "a notification for every write")
    expected = Counter((item_id, version, origin, origin) for item_id, version, origin in writes)
    assert received == expected, "each write is announced once, by the region that took it"


def test_failover_through_the_global_entry_and_back(global_app):
    cloud = global_app
    entry = cloud.state["global_url"]

    def routed(location: str) -> str | None:
        response = http("GET", f"{entry}/health", headers={"X-Client-Location": location})
        return response.headers.get("x-routed-to") if response.status == 200 else None

    assert routed("eu-west-2") == "eu-west-1"
    assert routed("ap-northeast-1") == "ap-southeast-1"
    cloud.control("fault", {"env": "euw1", "kind": "outage"})
    try:
        moved = wait_until(lambda: (r := routed("eu-west-2")) not in (None, "eu-west-1") and r, 20,
                           "traffic from eu-west-2 to leave eu-west-1")
        assert moved in ("us-east-1", "ap-southeast-1")
        answer = cloud.control("resolve", {"name": "api.global-backend.example", "from": "eu-west-2"})
        assert answer["region"] != "eu-west-1"
        printed = cloud.run(globalctl_bin(), "--config", str(cloud.config), "local", "resolve",
                            "api.global-backend.example", "--from", "eu-west-2").stdout
        assert f"region {moved}" in printed
        route53 = cloud.client("route53", "us-east-1")
        check = next(c for c in route53.list_health_checks()["HealthChecks"]
                     if c["HealthCheckConfig"]["FullyQualifiedDomainName"] == cloud.outputs["euw1"]["ApiHost"])
        observations = route53.get_health_check_status(HealthCheckId=check["Id"])["HealthCheckObservations"]
        assert observations and observations[0]["StatusReport"]["Status"].startswith("Failure")
    finally:
        cloud.control("heal", {"env": "euw1"})
    wait_until(lambda: routed("eu-west-2") == "eu-west-1", 20, "traffic from eu-west-2 to return to eu-west-1")


def test_an_outage_queues_writes_and_heal_delivers_them(global_app):
    cloud = global_app
    item_id = f"queued-{uuid.uuid4().hex[:8]}"
    dynamodb_euw1 = cloud.client("dynamodb", "eu-west-1")
    cloud.control("fault", {"env": "euw1", "kind": "outage"})
    try:
        put = http("PUT", f"{cloud.api('use1')}/items/{item_id}", {"data": {"during": "outage"}})
        assert put.status == 201, put.body
        wait_until(lambda: http("GET", f"{cloud.api('apse1')}/items/{item_id}").status == 200, 10,
                   "the write to reach ap-southeast-1")
        assert "Item" not in dynamodb_euw1.get_item(TableName=TABLE, Key={"id": {"S": item_id}})
        with pytest.raises(Exception):
            http("GET", f"{cloud.api('euw1')}/health", timeout=3)
    finally:
        cloud.control("heal", {"env": "euw1"})
    wait_until(lambda: "Item" in dynamodb_euw1.get_item(TableName=TABLE, Key={"id": {"S": item_id}}), 10,
               "the queued write to reach eu-west-1 after heal")
    assert http("GET", f"{cloud.api('euw1')}/items/{item_id}").json()["data"] == {"during": "outage"}


def test_a_partition_cuts_replication_only_and_the_errors_fault_answers_503(global_app):
    cloud = global_app
    item_id = f"partitioned-{uuid.uuid4().hex[:8]}"
    cloud.control("fault", {"env": "apse1", "kind": "partition"})
    try:
        put = http("PUT", f"{cloud.api('apse1')}/items/{item_id}", {"data": {"side": "apse1"}})
        assert put.status == 201, put.body  # the region still serves: only its replication is cut
        wait_until(lambda: http("GET", f"{cloud.api('euw1')}/health").status == 200, 5, "euw1 to answer")
        assert http("GET", f"{cloud.api('euw1')}/items/{item_id}").status == 404
        cloud.control("fault", {"env": "use1", "kind": "errors", "error_rate": 1.0})
        assert {http("GET", f"{cloud.api('use1')}/health").status for _ in range(5)} == {503}
        status = cloud.control("status", {})
        assert status["regions"]["apse1"]["fault"] == "partition"
        assert status["regions"]["use1"]["fault"] == "errors"
    finally:
        cloud.control("heal", {"env": "all"})
    read = wait_until(lambda: (r := http("GET", f"{cloud.api('euw1')}/items/{item_id}")).status == 200 and r, 10,
                      "the partitioned write to arrive after heal")
    assert read.json()["data"] == {"side": "apse1"}
    assert http("GET", f"{cloud.api('use1')}/health").status == 200


def test_a_redeployed_code_and_environment_change_takes_effect(global_app):
    cloud = global_app
    app = cloud.project / "src" / "api" / "app.py"
    before = http("GET", f"{cloud.api('use1')}/health")
    assert before.status == 200 and before.json()["release"] == "unreleased"
    source = app.read_text()
    marker = "x-served-by-region"
    assert marker in source
    app.write_text(source.replace('"x-served-by-region"', '"x-served-by-region-v2"', 1))
    try:
        cloud.deploy("use1", "TableName=global-items", "Release=r-test-2", "ThrottleBurstLimit=3",
                     "ThrottleRateLimit=1")
        after = http("GET", f"{cloud.api('use1')}/health")
        assert after.json()["release"] == "r-test-2"
        assert after.headers.get("x-served-by-region-v2") == "us-east-1"
        # The stage's new throttle applies: a burst of 3 at 1 request per second.
        statuses = [http("GET", f"{cloud.api('use1')}/items/none").status for _ in range(8)]
        assert statuses.count(429) >= 3, statuses
    finally:
        app.write_text(source)
    untouched = http("GET", f"{cloud.api('euw1')}/health")
    assert untouched.json()["release"] == "unreleased"
    assert "x-served-by-region-v2" not in untouched.headers


def test_strong_mode_refuses_writes_in_a_region_cut_off_from_the_majority(strong_app):
    cloud = strong_app
    table = "global-items-strong"
    ok = http("PUT", f"{cloud.api('use1')}/items/before", {"data": {"n": 1}})
    assert ok.status == 201, ok.body
    for region in ("us-east-2", "us-west-2"):  # synchronous: already in every replica
        item = cloud.client("dynamodb", region).get_item(TableName=table, Key={"id": {"S": "before"}})
        assert item["Item"]["origin_region"]["S"] == "us-east-1"
    cloud.control("fault", {"env": "use1", "kind": "partition"})
    try:
        refused = http("PUT", f"{cloud.api('use1')}/items/isolated", {"data": {"n": 2}})
        assert refused.status == 503, refused.body
        assert refused.json()["error"] == "unavailable"
        assert refused.headers.get("retry-after")
        assert "Item" not in cloud.client("dynamodb", "us-east-1").get_item(
            TableName=table, Key={"id": {"S": "isolated"}})
        cloud.client("dynamodb", "us-east-2").put_item(
            TableName=table, Item={"id": {"S": "majority"}, "origin_region": {"S": "us-east-2"}})
    finally:
        cloud.control("heal", {"env": "use1"})
    wait_until(lambda: "Item" in cloud.client("dynamodb", "us-east-1").get_item(
        TableName=table, Key={"id": {"S": "majority"}}), 10, "the majority's write to reach us-east-1")
    healed = http("PUT", f"{cloud.api('use1')}/items/isolated", {"data": {"n": 3}})
    assert healed.status == 201, healed.body


def test_latency_records_over_custom_domains_route_and_fail_over(global_app):
    # The last test on this app: it moves the routing from the traffic policy to latency records.
    cloud = global_app
    domain = "api.global-backend.example"
    for env, region in REGIONS.items():
        cloud.deploy(env, "TableName=global-items", "Release=unreleased", f"DomainName={domain}",
                     f"CertificateArn=arn:aws:acm:{region}:123456789012:certificate/local-test")
    text = cloud.config.read_text()  # the mode is declared in samconfig, as a user switches it
    assert "RoutingMode=traffic-policy" in text
    cloud.config.write_text(text.replace("RoutingMode=traffic-policy", "RoutingMode=latency-records"))
    cloud.deploy("routing", cloud.params("routing"))

    route53 = cloud.client("route53", "us-east-1")
    assert route53.list_traffic_policy_instances()["TrafficPolicyInstances"] == []
    zone = next(z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"].startswith("global-backend"))
    records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    guards = [r for r in records if r["Name"].startswith("guard-")]
    assert {r["Region"] for r in guards} == set(REGIONS.values())
    assert all(r["AliasTarget"]["DNSName"].startswith("d-") and r.get("HealthCheckId") for r in guards)
    nearest = [r for r in records if r["Name"].rstrip(".") == domain]
    assert sorted(r["SetIdentifier"] for r in nearest) == sorted(f"guard-{env}" for env in REGIONS)
    assert all(r["AliasTarget"]["DNSName"].rstrip(".") == f"{r['SetIdentifier']}.rules.{domain}" for r in nearest)

    answer = cloud.control("resolve", {"name": domain, "from": "ap-northeast-1"})
    assert (answer["region"], answer["via"]) == ("ap-southeast-1", "record sets")

    def routed(location: str) -> str | None:
        response = http("GET", f"{cloud.state['global_url']}/health", headers={"X-Client-Location": location})
        return response.headers.get("x-routed-to") if response.status == 200 else None

    assert routed("ap-northeast-1") == "ap-southeast-1"  # served through the custom domain's mapping
    cloud.control("fault", {"env": "apse1", "kind": "outage"})
    try:
        wait_until(lambda: routed("ap-northeast-1") not in (None, "ap-southeast-1"), 20,
                   "traffic from ap-northeast-1 to leave ap-southeast-1")
    finally:
        cloud.control("heal", {"env": "apse1"})
