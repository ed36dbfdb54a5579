"""The endpoint for sam local's containers (AwsEndpoint containers / container_gateway): they
reach it as host.docker.internal, it listens on a Docker gateway only when that is a private
address, and without --containers the name is refused as any other."""

from __future__ import annotations

import http.client
from typing import Iterator

import pytest

from localcloud.aws_endpoint import CONTAINER_HOST_NAME, AwsEndpoint, checked_gateway


def _status(endpoint: AwsEndpoint, host: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
    try:
        connection.request("GET", "/_localcloud/no-such-call", headers={"Host": host})
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.fixture
def endpoints() -> Iterator[list[AwsEndpoint]]:
    started: list[AwsEndpoint] = []
    yield started
    for endpoint in started:
        endpoint.stop()


def test_containers_reach_it_as_host_docker_internal_only_when_asked(endpoints):
    plain, containers = AwsEndpoint(port=0), AwsEndpoint(port=0, containers=True)
    for endpoint in (plain, containers):
        endpoint.start()
        endpoints.append(endpoint)
    name = f"{CONTAINER_HOST_NAME}:{containers.port}"
    assert _status(containers, name) == 404  # served: no such control call
    assert _status(plain, f"{CONTAINER_HOST_NAME}:{plain.port}") == 403
    assert containers.container_url == f"http://{CONTAINER_HOST_NAME}:{containers.port}"
    assert plain.container_url is None
    assert _status(containers, f"evil.example:{containers.port}") == 403  # the guard still refuses the rest


@pytest.mark.parametrize("address", ["127.0.0.1", "8.8.8.8", "0.0.0.0", "::1", "docker0", "172.17.0.1/16"])
def test_only_a_private_gateway_address_is_listened_on(address):
    with pytest.raises(ValueError):
        checked_gateway(address)


@pytest.mark.parametrize("address", ["172.17.0.1", "192.168.65.1", "10.0.0.1"])
def test_private_gateway_addresses_are_taken(address):
    assert checked_gateway(address) == address
