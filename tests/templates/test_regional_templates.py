"""The per-region stack after the SAM transform: what CloudFormation would create in a region."""

from __future__ import annotations

import json

import pytest

from tests.support import ROOT
from tests.templates.cfn_eval import Renderer
from tests.templates.sam_transform import expand

TABLE_ARN = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName}"


@pytest.fixture(scope="module")
def api() -> dict:
    return expand(ROOT / "regional" / "api.yaml")["Resources"]


@pytest.fixture(scope="module")
def stream() -> dict:
    return expand(ROOT / "regional" / "stream.yaml")["Resources"]


def _statements(role: dict) -> list[dict]:
    return [s for policy in role["Properties"].get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_root_nests_both_regional_templates():
    resources = expand(ROOT / "template.yaml")["Resources"]
    assert {k: v["Type"] for k, v in resources.items()} == {
        "Api": "AWS::CloudFormation::Stack", "ChangeStream": "AWS::CloudFormation::Stack"}


def test_functions_run_python313_on_arm64_with_the_regional_powertools_layer(api, stream):
    functions = [r for r in {**api, **stream}.values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 3
    for function in functions:
        props = function["Properties"]
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == [{"Ref": "Architecture"}]
        assert props["Layers"] == [{"Ref": "PowertoolsLayerArn"}]
    root = expand(ROOT / "template.yaml")
    assert root["Parameters"]["Architecture"]["Default"] == "arm64"  # x86_64 only for sam local's native runs
    # Resolved per region by CloudFormation: no layer ARN pasted per region.
    assert root["Parameters"]["PowertoolsLayerArn"]["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert root["Parameters"]["PowertoolsLayerArn"]["Default"].startswith("/aws/service/powertools/python/arm64/")


def test_api_function_may_only_touch_its_table_and_its_switch(api):
    statements = _statements(api["ApiFunctionRole"])
    table = next(s for s in statements if s.get("Sid") == "ItemsOnTheLocalReplica")
    assert table["Resource"] == {"Fn::Sub": TABLE_ARN}
    assert sorted(table["Action"]) == sorted(["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                                              "dynamodb:Scan"])
    switch = next(s for s in statements if s.get("Sid") == "ReadTheServiceSwitch")
    assert switch["Action"] == "ssm:GetParameter"
    for statement in statements:
        assert "*" not in _as_list(statement["Action"]) and statement["Resource"] != "*"


def test_stream_function_reads_only_its_replica_stream(stream):
    statements = _statements(stream["StreamProcessorFunctionRole"])
    wildcard = [s for s in statements if s["Resource"] == "*"]
    assert wildcard == [{"Sid": "ListStreamsHasNoResourceScope", "Effect": "Allow",
                         "Action": "dynamodb:ListStreams", "Resource": "*"}]
    read = next(s for s in statements if s.get("Sid") == "ReadTheLocalReplicaStream")
    assert read["Resource"] == {"Fn::GetAtt": ["ReplicaStream", "StreamArn"]}
    publish = next(s for s in statements if s.get("Sid") == "PublishChanges")
    assert publish["Resource"] == {"Ref": "ChangeTopic"}
    lookup = _statements(stream["ReplicaStreamLookupFunctionRole"])
    assert lookup == [{"Effect": "Allow", "Action": "dynamodb:DescribeTable", "Resource": {"Fn::Sub": TABLE_ARN}}]


def test_the_stream_mapping_reads_the_local_replica_and_only_local_writes(stream):
    mapping = stream["StreamProcessorFunctionLocalReplicaStream"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["ReplicaStream", "StreamArn"]}
    assert stream["ReplicaStream"]["Type"] == "Custom::ReplicaStream"
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["MaximumRetryAttempts"] == {"Ref": "StreamMaximumRetryAttempts"}
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["StreamDeadLetterQueue", "Arn"]}
    pattern = mapping["FilterCriteria"]["Filters"][0]["Pattern"]["Fn::Sub"]
    assert json.loads(pattern.replace("${AWS::Region}", "eu-west-1")) == {
        "dynamodb": {"NewImage": {"origin_region": {"S": ["eu-west-1"]}}}}


def test_change_topic_is_fifo_and_encrypted(stream):
    topic = stream["ChangeTopic"]["Properties"]
    assert topic["FifoTopic"] is True
    assert topic["KmsMasterKeyId"] == {"Ref": "ChangeTopicKey"}
    assert stream["StreamDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True


def test_http_api_routes_every_endpoint_and_a_catch_all(api):
    body = api["HttpApi"]["Properties"]["Body"]["paths"]
    assert set(body) == {"/", "/site/{asset}", "/health", "/openapi.json", "/items", "/items/{id}", "$default"}
    assert set(body["/items/{id}"]) == {"get", "put", "delete"}
    for methods in body.values():
        for route in methods.values():
            assert route["x-amazon-apigateway-integration"]["payloadFormatVersion"] == "2.0"
    stage = api["HttpApiApiGatewayDefaultStage"]["Properties"]
    assert stage["DefaultRouteSettings"] == {"ThrottlingBurstLimit": {"Ref": "ThrottleBurstLimit"},
                                             "ThrottlingRateLimit": {"Ref": "ThrottleRateLimit"}}
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["AccessLogs", "Arn"]}
    assert api["AccessLogs"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_custom_domain_exists_only_when_a_domain_is_given(api):
    template = expand(ROOT / "regional" / "api.yaml")
    assert template["Conditions"]["HasDomain"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]}
    domain = api["CustomDomain"]
    assert domain["Condition"] == "HasDomain" and api["CustomDomainMapping"]["Condition"] == "HasDomain"
    config = domain["Properties"]["DomainNameConfigurations"][0]
    assert config["SecurityPolicy"] == "TLS_1_2" and config["EndpointType"] == "REGIONAL"


def test_every_alarm_the_rollout_gates_on_is_an_output(api, stream):
    expected = {
        "Api5xxRateAlarm": None, "ApiLatencyP99Alarm": ("AWS/ApiGateway", "Latency"),
        "ApiFunctionErrorsAlarm": ("AWS/Lambda", "Errors"), "ApiFunctionThrottlesAlarm": ("AWS/Lambda", "Throttles"),
        "StreamProcessorErrorsAlarm": ("AWS/Lambda", "Errors"),
        "StreamProcessorThrottlesAlarm": ("AWS/Lambda", "Throttles"),
        "StreamIteratorAgeAlarm": ("AWS/Lambda", "IteratorAge"),
        "DeadLetterDepthAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    }
    alarms = {k: v["Properties"] for k, v in {**api, **stream}.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == set(expected)
    for name, metric in expected.items():
        if metric:
            assert (alarms[name]["Namespace"], alarms[name]["MetricName"]) == metric
    rate = {m["Id"]: m for m in alarms["Api5xxRateAlarm"]["Metrics"]}
    assert rate["errors"]["MetricStat"]["Metric"]["MetricName"] == "5xx"
    assert rate["requests"]["MetricStat"]["Metric"]["MetricName"] == "Count"
    assert alarms["ApiLatencyP99Alarm"]["ExtendedStatistic"] == "p99"
    for path in ("regional/api.yaml", "regional/stream.yaml"):
        template = expand(ROOT / path)
        listed = template["Outputs"]["AlarmNames"]["Value"]["Fn::Join"][1]
        assert {ref["Ref"] for ref in listed} == {n for n in expected if n in template["Resources"]}
    root = expand(ROOT / "template.yaml")["Outputs"]["AlarmNames"]["Value"]["Fn::Sub"]
    assert "${Api.Outputs.AlarmNames}" in root and "${ChangeStream.Outputs.AlarmNames}" in root


def test_outputs_give_the_routing_target_and_release():
    outputs = expand(ROOT / "template.yaml")["Outputs"]
    for key in ("ApiEndpoint", "ApiHost", "HealthUrl", "RoutingTarget", "RoutingTargetHostedZoneId", "DeployedRelease",
                "AlarmNames", "ServiceStateParameter", "ChangeTopicArn", "DeadLetterQueueUrl", "ReplicaStreamArn"):
        assert key in outputs, key


def test_release_reaches_the_api_environment(api):
    env = api["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert env["RELEASE"] == {"Ref": "Release"}
    assert env["TABLE_NAME"] == {"Ref": "TableName"}


def _calls(package: str) -> set[str]:
    """AWS actions the code of one src/ package calls through boto3 (client.<operation>(...))."""
    import re

    services = {"get_item": "dynamodb:GetItem", "update_item": "dynamodb:UpdateItem",
                "delete_item": "dynamodb:DeleteItem", "scan": "dynamodb:Scan", "put_item": "dynamodb:PutItem",
                "query": "dynamodb:Query", "describe_table": "dynamodb:DescribeTable", "publish": "sns:Publish",
                "get_parameter": "ssm:GetParameter"}
    found = set()
    for path in (ROOT / "src" / package).rglob("*.py"):
        if "SSMProvider" in path.read_text():  # Powertools' provider calls GetParameter for .get()
            found.add("ssm:GetParameter")
        for name in re.findall(r"(?:client|dynamodb|dynamodb_health|sns|ssm)\(\)\s*\.\s*(\w+)\(", path.read_text()):
            found.add(services.get(name, name))
    return found


@pytest.mark.parametrize(("package", "role", "template"), [
    ("api", "ApiFunctionRole", "api"), ("stream", "StreamProcessorFunctionRole", "stream"),
    ("custom_resources", "ReplicaStreamLookupFunctionRole", "stream")])
def test_each_function_is_granted_exactly_what_its_code_calls(package, role, template, api, stream):
    resources = api if template == "api" else stream
    granted = {action for s in _statements(resources[role]) for action in _as_list(s["Action"])}
    called = _calls(package)
    assert called, f"no boto3 call found in src/{package}"
    assert called <= granted
    # Stream reading is Lambda's (event source mapping) and KMS/SQS serve the topic and DLQ.
    extra = {a for a in granted - called if not a.startswith(("dynamodb:DescribeStream", "dynamodb:GetRecords",
             "dynamodb:GetShardIterator", "dynamodb:ListStreams", "kms:", "sqs:"))}
    assert extra == set()


API_PARAMETERS = {"TableName": "global-items", "Release": "v1", "PowertoolsLayerArn": "arn:layer",
                  "Architecture": "arm64", "LocalEndpointUrl": "", "ThrottleBurstLimit": "1",
                  "ThrottleRateLimit": "1", "LogRetentionDays": "1", "DomainName": "", "CertificateArn": "",
                  "LatencyP99ThresholdMs": "1", "ErrorRateThresholdPercent": "1",
                  "SiteOrigins": "", "SiteDirectoryParameter": "/global-backend/global-backend/site-directory"}


def _cors(**parameters: str):
    template = expand(ROOT / "regional" / "api.yaml")
    body = Renderer(template, {**API_PARAMETERS, **parameters}).eval(template["Resources"]["HttpApi"])["Properties"]["Body"]
    return body.get("x-amazon-apigateway-cors")


@pytest.mark.parametrize(("parameters", "origins"), [
    ({"SiteOrigins": "http://127.0.0.1:4611,http://localhost:4611"}, ["http://127.0.0.1:4611", "http://localhost:4611"]),
    ({"DomainName": "api.example.com", "CertificateArn": "arn:cert"}, ["https://api.example.com"]),
    ({"SiteOrigins": "https://site.example.org", "DomainName": "api.example.com"}, ["https://site.example.org"]),
])
def test_cors_lets_only_the_sites_origins_read_and_only_with_get(parameters, origins):
    cors = _cors(**parameters)
    assert cors["allowOrigins"] == origins
    assert cors["allowMethods"] == ["GET"]  # writes go to the page's own origin, never across
    assert "allowCredentials" not in cors and "allowHeaders" not in cors
    assert {"x-served-by-region", "x-item-version"} <= set(cors["exposeHeaders"])


def test_no_site_origin_and_no_domain_means_no_cors_at_all():
    assert _cors() is None


def test_the_api_function_reads_only_its_regions_site_directory(api):
    function = api["ApiFunction"]["Properties"]
    assert function["Environment"]["Variables"]["SITE_DIRECTORY_PARAMETER"] == {"Ref": "SiteDirectoryParameter"}
    statements = _statements(api["ApiFunctionRole"])
    site = next(s for s in statements if s.get("Sid") == "ReadTheSiteDirectory")
    assert site["Action"] == "ssm:GetParameter"
    assert site["Resource"]["Fn::Sub"].endswith(":parameter${SiteDirectoryParameter}")


@pytest.mark.parametrize("name", ["api.yaml", "stream.yaml"])
def test_functions_name_an_endpoint_only_for_sam_local(name):
    """sam local passes a function only the variables its template declares, so AWS_ENDPOINT_URL is
    declared when samconfig's local environments set LocalEndpointUrl, and absent in AWS."""
    template = expand(ROOT / "regional" / name)
    parameters = {"TableName": "t", "Release": "v1", "PowertoolsLayerArn": "arn:layer", "Architecture": "arm64",
                  "LogRetentionDays": "1", "StreamBatchSize": "1", "StreamMaximumRetryAttempts": "1",
                  "IteratorAgeThresholdMs": "1", **API_PARAMETERS}
    functions = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"]
    for endpoint, expected in (("", None), ("http://host.docker.internal:4610", "http://host.docker.internal:4610")):
        renderer = Renderer(template, {**parameters, "LocalEndpointUrl": endpoint})
        for function in functions:
            variables = renderer.eval(template["Resources"][function]["Properties"]["Environment"]["Variables"])
            assert variables.get("AWS_ENDPOINT_URL") == expected


def test_the_local_endpoint_parameter_takes_only_local_names():
    import re

    pattern = re.compile(expand(ROOT / "template.yaml")["Parameters"]["LocalEndpointUrl"]["AllowedPattern"])
    for good in ("", "http://host.docker.internal:4610", "http://127.0.0.1:4610", "http://localhost:1"):
        assert pattern.fullmatch(good), good
    for bad in ("https://dynamodb.eu-west-1.amazonaws.com", "http://10.0.0.1:4610", "http://host.docker.internal",
                "http://evil.example:4610"):
        assert not pattern.fullmatch(bad), bad
