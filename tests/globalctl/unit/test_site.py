"""The demo site's configuration globalctl derives: the CORS origins each region allows and the
region directory the page reads (written to SSM in every routed region)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from globalctl import aws, site
from globalctl import topology as topo
from globalctl.exceptions import GlobalctlError
from tests.support import ROOT

LOCAL = {"global_url": "http://127.0.0.1:4611", "regions": {
    "euw1": {"region": "eu-west-1", "api_url": "http://127.0.0.1:4620"},
    "use1": {"region": "us-east-1", "api_url": "http://127.0.0.1:4621"},
    "apse1": {"region": "ap-southeast-1", "api_url": "http://127.0.0.1:4622"}}}


class FakeEndpoints:
    def __init__(self, state=None):
        self.state = state

    def refresh(self) -> None:
        pass


@pytest.fixture
def shipped() -> topo.Topology:
    return topo.load(ROOT / "samconfig.toml")


def deployed(monkeypatch, endpoints: dict[str, str | None]) -> None:
    """describe_stack answers an ApiEndpoint per region (None: not deployed, 'down': unreachable)."""
    def describe(stack_name: str, region: str):
        url = endpoints.get(region)
        if url == "down":
            raise GlobalctlError(f"{region}: cannot reach CloudFormation")
        return None if url is None else {"Outputs": [{"OutputKey": "ApiEndpoint", "OutputValue": url}]}
    monkeypatch.setattr(aws, "describe_stack", describe)


def test_on_the_local_cloud_every_region_allows_the_clouds_origins_under_both_loopback_names(shipped):
    origins = site.region_parameters(shipped, shipped.env("euw1"), FakeEndpoints(LOCAL))["SiteOrigins"].split(",")
    assert origins[:2] == ["http://127.0.0.1:4611", "http://localhost:4611"]
    assert {"http://127.0.0.1:4622", "http://localhost:4622"} <= set(origins) and len(origins) == 8


def test_on_aws_the_global_name_and_each_deployed_regions_api_are_allowed_and_nothing_else(shipped, monkeypatch):
    deployed(monkeypatch, {"eu-west-1": "https://a1.execute-api.eu-west-1.amazonaws.com/",
                           "us-east-1": "https://b2.execute-api.us-east-1.amazonaws.com", "ap-southeast-1": None})
    env = shipped.env("use1")
    env.parameters["DomainName"] = "api.example.com"
    assert site.region_parameters(shipped, env, FakeEndpoints())["SiteOrigins"].split(",") == [
        "https://api.example.com", "https://a1.execute-api.eu-west-1.amazonaws.com",
        "https://b2.execute-api.us-east-1.amazonaws.com"]


def test_samconfigs_own_site_origins_always_win(shipped, monkeypatch):
    env = shipped.env("euw1")
    env.parameters["SiteOrigins"] = "https://site.example.org"
    assert site.region_parameters(shipped, env, FakeEndpoints(LOCAL)) == {}


def test_nothing_deployed_and_no_domain_adds_nothing_and_an_unreachable_region_ends_the_look(shipped, monkeypatch):
    deployed(monkeypatch, {})
    assert site.region_parameters(shipped, shipped.env("euw1"), FakeEndpoints()) == {}
    asked: list[str] = []
    deployed(monkeypatch, {"eu-west-1": "https://a1.execute-api.eu-west-1.amazonaws.com", "us-east-1": "down",
                           "ap-southeast-1": "https://c3.execute-api.ap-southeast-1.amazonaws.com"})
    describe = aws.describe_stack
    monkeypatch.setattr(aws, "describe_stack", lambda name, region: (asked.append(region), describe(name, region))[1])
    assert site.region_parameters(shipped, shipped.env("euw1"), FakeEndpoints()) == {
        "SiteOrigins": "https://a1.execute-api.eu-west-1.amazonaws.com"}
    assert asked == ["eu-west-1", "us-east-1"]  # the first unreachable region ends the look: no retries wasted


def test_the_directory_lists_only_routed_regions_with_the_urls_a_browser_can_reach(shipped, monkeypatch):
    local = site.directory(shipped, FakeEndpoints(LOCAL), ["euw1", "apse1"])
    assert local == {"global_url": "http://127.0.0.1:4611", "regions": [
        {"env": "euw1", "region": "eu-west-1", "url": "http://127.0.0.1:4620"},
        {"env": "apse1", "region": "ap-southeast-1", "url": "http://127.0.0.1:4622"}]}
    deployed(monkeypatch, {"eu-west-1": "https://a1.execute-api.eu-west-1.amazonaws.com/"})
    remote = site.directory(shipped, FakeEndpoints(), ["euw1", "use1"])
    assert remote == {"global_url": "https://api.global-backend.example", "regions": [
        {"env": "euw1", "region": "eu-west-1", "url": "https://a1.execute-api.eu-west-1.amazonaws.com"}]}


def test_publish_writes_the_same_directory_into_every_routed_region_and_forget_deletes_it(shipped, monkeypatch):
    monkeypatch.setattr(aws, "client", lambda service, region: boto3.client(service, region_name=region))
    with mock_aws():
        assert site.publish(shipped, FakeEndpoints(LOCAL), ["euw1", "use1"]) == ["euw1", "use1"]
        name = site.directory_parameter(shipped.env("euw1"))
        assert name == "/global-backend/global-backend/site-directory"  # what template.yaml hands the function
        written = {region: json.loads(boto3.client("ssm", region_name=region).get_parameter(Name=name)["Parameter"]["Value"])
                   for region in ("eu-west-1", "us-east-1")}
        assert written["eu-west-1"] == written["us-east-1"]
        assert [entry["env"] for entry in written["eu-west-1"]["regions"]] == ["euw1", "use1"]
        ssm = boto3.client("ssm", region_name="ap-southeast-1")
        assert ssm.describe_parameters()["Parameters"] == []  # not routed: nothing written there
        site.forget(shipped.env("euw1"))
        site.forget(shipped.env("euw1"))  # gone already: no error
        assert boto3.client("ssm", region_name="eu-west-1").describe_parameters()["Parameters"] == []
