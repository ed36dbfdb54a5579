"""The bundled region latency table and nearest-region ordering."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localcloud.route53 import latency

BRIEF_REGIONS = {
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1", "eu-west-1",
    "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
    "eu-south-2", "me-south-1", "me-central-1", "il-central-1", "af-south-1", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-east-1",
    "mx-central-1",
}
regions = st.sampled_from(sorted(latency.REGIONS))


def test_committed_table_is_what_the_generator_produces():
    on_disk = json.loads(latency.TABLE_PATH.read_text())
    assert on_disk == latency.generate_table(), "run: python -m localcloud.route53.latency"
    assert "great_circle" in on_disk["source"] and "Estimated" in on_disk["source"]


def test_table_is_complete_and_covers_the_commercial_regions():
    table = json.loads(latency.TABLE_PATH.read_text())["rtt_ms"]
    assert BRIEF_REGIONS <= set(table)
    for row in table.values():
        assert set(row) == set(table)


@given(regions, regions)
def test_latency_is_symmetric_and_same_region_is_fastest(a, b):
    assert latency.latency_ms(a, b) == latency.latency_ms(b, a)
    assert 1 <= latency.latency_ms(a, a) <= 2
    if a != b:
        assert latency.latency_ms(a, b) > latency.latency_ms(a, a)


@pytest.mark.parametrize(("client", "near", "far"), [
    ("eu-west-2", "eu-west-1", "us-east-1"),
    ("ap-northeast-1", "ap-southeast-1", "eu-west-1"),
    ("us-east-2", "us-east-1", "us-west-2"),
    ("sa-east-1", "us-east-1", "ap-southeast-1"),
    ("af-south-1", "eu-west-1", "ap-northeast-1"),
])
def test_nearest_orders_by_latency(client, near, far):
    assert latency.nearest(client, [far, near]) == [near, far]


def test_nearest_puts_the_clients_own_region_first_and_keeps_every_candidate():
    candidates = ["ap-southeast-1", "us-east-1", "eu-west-1", "eu-central-1"]
    ordered = latency.nearest("eu-central-1", candidates)
    assert ordered[0] == "eu-central-1"
    assert sorted(ordered) == sorted(candidates)
    assert ordered[-1] == "ap-southeast-1"


def test_known_magnitudes_are_plausible():
    assert 5 < latency.latency_ms("eu-west-1", "eu-west-2") < 20
    assert 60 < latency.latency_ms("eu-west-1", "us-east-1") < 110
    assert 200 < latency.latency_ms("eu-west-1", "ap-southeast-2") < 320


@pytest.mark.parametrize("call", [
    lambda: latency.latency_ms("eu-west-1", "mars-north-1"),
    lambda: latency.nearest("moon-1", ["eu-west-1"]),
    lambda: latency.nearest("eu-west-1", ["eu-west-1", "nowhere"]),
])
def test_unknown_region_is_a_clear_error(call):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert "unknown AWS region" in message
    assert "eu-west-1" in message and "ap-southeast-2" in message  # lists the known ones
