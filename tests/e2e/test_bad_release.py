"""A bad release under live traffic, on a local cloud whose alarm periods last 3 s (60 s x 0.05).

The release breaks a route the smoke gate never calls (GET /items, the list, answers 500), so
health, smoke and replication all pass while the canary is drained. With clients sending steady
traffic through the global entry from three locations (one per region), the canary's share of them
meets the broken route once its traffic is back, Api5xxRateAlarm fires during its bake, and the
operator's default command (`globalctl rollout`, default bake) stops there: exit 1, the reason
names the alarm, every region is left on the previous release. Then a good release rolls out
under the same traffic with the same bake and passes: the gate is not one that always fails.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from tests.e2e.conftest import FAST, http, running_cloud

pytestmark = pytest.mark.slow

REGIONS = {"euw1": "eu-west-1", "use1": "us-east-1", "apse1": "ap-southeast-1"}
# A client near each region: the latency routing sends each to its own region.
LOCATIONS = ("eu-west-2", "us-east-2", "ap-southeast-2")
ALARM_PERIOD_SCALE = 0.05
RATE_PER_LOCATION = 5.0  # requests per second, a cycle of list, write, read


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory):
    with running_cloud(tmp_path_factory, "badrelease", alarm_period_scale=ALARM_PERIOD_SCALE) as cloud:
        result = cloud.cli("rollout", "--release", "v1", *FAST)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        yield cloud


class Clients:
    """Steady traffic through the global entry; what each answer was and which region gave it."""

    def __init__(self, entry: str):
        self.entry = entry
        self.answers: Counter[tuple[str, int]] = Counter()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(location,), daemon=True) for location in LOCATIONS]

    def _run(self, location: str) -> None:
        headers = {"X-Client-Location": location}
        n = 0
        while not self._stop.is_set():
            n += 1
            item = f"client-{location}-{n % 20}"
            for method, path, body in (("GET", "/items?limit=5", None), ("PUT", f"/items/{item}", {"data": {"n": n}}),
                                       ("GET", f"/items/{item}", None)):
                answer = http(method, f"{self.entry}{path}", body, headers, timeout=10)
                self.answers[(answer.headers.get("x-served-by-region", "?"), answer.status)] += 1
                self._stop.wait(1 / RATE_PER_LOCATION)

    def __enter__(self) -> "Clients":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def released(cloud) -> dict[str, str]:
    return {env: http("GET", f"{cloud.api(env)}/health").json().get("release") for env in REGIONS}


def test_a_release_breaking_an_unsmoked_route_is_stopped_in_the_canary_by_its_alarm(cloud):
    app = cloud.project / "src" / "api" / "app.py"
    source = app.read_text()
    broken = source.replace("    page_size = codec.parse_limit(limit)\n",
                            "    raise RuntimeError('the bad release: listing is broken')\n", 1)
    assert broken != source
    app.write_text(broken)
    try:
        with Clients(cloud.state["global_url"]) as clients:
            started = time.monotonic()
            result = cloud.cli("rollout", "--release", "v2-bad", "--yes", "--skip-validate", "--gate-timeout", "10")
            took = time.monotonic() - started
    finally:
        app.write_text(source)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-4000:]
    assert "Api5xxRateAlarm" in output and "in ALARM" in output, output[-4000:]
    assert "bake: alarms gate" in output, output[-4000:]  # health, smoke and replication had passed
    assert released(cloud) == dict.fromkeys(REGIONS, "v1")
    # Only the canary (euw1) ever served the bad release: use1 and apse1 answered no 500.
    errors = {region: count for (region, status), count in clients.answers.items() if status >= 500}
    assert set(errors) <= {"eu-west-1"}, (errors, clients.answers)
    assert errors, f"the canary's clients saw no error at all: {clients.answers}"
    print(f"bad release stopped in {took:.0f} s; answers: {dict(clients.answers)}")


def test_a_good_release_passes_the_same_bake_under_the_same_traffic(cloud):
    with Clients(cloud.state["global_url"]) as clients:
        # use1 and apse1 in one wave after the canary: two bakes at once, under the same traffic
        result = cloud.cli("rollout", "--release", "v3", "--yes", "--skip-validate", "--gate-timeout", "10",
                           "--max-concurrent", "2")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "under live traffic" in output
    assert released(cloud) == dict.fromkeys(REGIONS, "v3")
    assert not [key for key in clients.answers if key[1] >= 500], clients.answers


def test_the_data_planes_metrics_answer_cloudwatchs_apis(cloud):
    from datetime import datetime, timedelta, timezone

    api = cloud.stack_outputs("global-backend", "eu-west-1")
    api_id = api["ApiHost"].split(".")[0]
    assert http("GET", f"{cloud.api('euw1')}/items/metrics-probe").status == 404
    sent = [http("GET", f"{cloud.api('euw1')}/health").status for _ in range(5)]
    assert sent == [200] * 5
    window = dict(StartTime=datetime.now(timezone.utc) - timedelta(minutes=30),
                  EndTime=datetime.now(timezone.utc) + timedelta(minutes=1), Period=3600)

    def total(region: str, namespace: str, name: str, dimensions: dict[str, str], statistic: str = "Sum") -> float:
        points = cloud.client("cloudwatch", region).get_metric_statistics(
            Namespace=namespace, MetricName=name, Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
            Statistics=[statistic], **window)["Datapoints"]
        return sum(p[statistic] for p in points)

    from tests.support.polling import wait_until

    # Published as each request ends; the current second shows once it is closed.
    api_dims = {"ApiId": api_id, "Stage": "$default"}
    wait_until(lambda: total("eu-west-1", "AWS/ApiGateway", "4xx", api_dims) >= 1, 10, "the 404 in 4xx")
    assert total("eu-west-1", "AWS/ApiGateway", "Count", api_dims) >= 6
    assert total("eu-west-1", "AWS/ApiGateway", "Latency", api_dims, "Maximum") > 0
    function = next(d["Value"] for m in cloud.client("cloudwatch", "eu-west-1").list_metrics(
        Namespace="AWS/Lambda", MetricName="Invocations")["Metrics"] for d in m["Dimensions"]
        if d["Name"] == "FunctionName" and "ApiFunction" in d["Value"])
    assert total("eu-west-1", "AWS/Lambda", "Invocations", {"FunctionName": function}) >= 6
    assert total("eu-west-1", "AWS/Lambda", "Duration", {"FunctionName": function}, "Maximum") > 0
    # The writes of the tests above replicated (ReplicationLatency, in the source region), were
    # processed from the stream (IteratorAge), and Route 53 checked every region (us-east-1).
    names = {m["MetricName"] for m in cloud.client("cloudwatch", "eu-west-1").list_metrics(
        Namespace="AWS/DynamoDB")["Metrics"]}
    assert "ReplicationLatency" in names
    lambda_metrics = {m["MetricName"] for m in cloud.client("cloudwatch", "eu-west-1").list_metrics(
        Namespace="AWS/Lambda")["Metrics"]}
    assert {"Invocations", "Errors", "Duration", "ConcurrentExecutions", "IteratorAge"} <= lambda_metrics
    statuses = cloud.client("cloudwatch", "us-east-1").list_metrics(Namespace="AWS/Route53",
                                                                    MetricName="HealthCheckStatus")["Metrics"]
    assert len(statuses) >= 3
    # The function's own lines are in its log group (sam logs, aws logs tail), and its Powertools
    # EMF lines became metrics in its namespace.
    events = cloud.client("logs", "eu-west-1").filter_log_events(
        logGroupName=f"/aws/lambda/{function}", filterPattern="REPORT")["events"]
    assert events and all(e["logStreamName"].count("[$LATEST]") == 1 for e in events)
    from tests.e2e.conftest import _sam

    sam_logs = cloud.run(_sam(), "logs", "--stack-name", "global-backend", "--region", "eu-west-1",
                         "--start-time", "30mins ago")  # as a user reads them: every function of the stack
    assert "REPORT RequestId:" in sam_logs.stdout and "[$LATEST]" in sam_logs.stdout, sam_logs.stdout[-2000:]
    emf = {m["MetricName"] for m in cloud.client("cloudwatch", "eu-west-1").list_metrics(
        Namespace="GlobalBackend")["Metrics"]}
    assert {"Requests", "ServerErrors"} <= emf
