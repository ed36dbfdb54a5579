"""The deployment lease (globalctl.lease) against moto's DynamoDB in-process: taken once, refused
to a second taker with the holder named, taken over only after expiry, renewed and released only
with its token, and reported lost to its holder when broken."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Iterator

import pytest
from moto import mock_aws
from typer.testing import CliRunner

from globalctl import aws
from globalctl import topology as topo
from globalctl.lease import Lease, LeaseHeld, LeaseLost
from globalctl.main import app
from tests.support.polling import wait_until

SAMCONFIG = '''version = 0.1
[table.deploy.parameters]
stack_name = "app-table"
region = "eu-west-1"
template_file = "global/table.yaml"
[euw1.deploy.parameters]
stack_name = "app"
region = "eu-west-1"
[use1.deploy.parameters]
stack_name = "app"
region = "us-east-1"
'''


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    path = tmp_path / "samconfig.toml"
    path.write_text(SAMCONFIG)
    with mock_aws():
        aws.client.cache_clear()
        yield path
    aws.client.cache_clear()


def test_a_second_taker_is_refused_with_the_holder_the_operation_and_since_when(config):
    top = topo.load(config)
    first = Lease(top, owner="ci@runner-1 pid 10").acquire("rollout v2")
    with pytest.raises(LeaseHeld, match=r"^another change holds the deployment lease: rollout v2 by ci@runner-1 "
                                        r"pid 10 since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(expires in \d+ s\)$"):
        Lease(top, owner="alice@laptop pid 20").acquire("rollback to v1")
    lease = Lease(top)
    assert (lease.table, lease.region) == ("app-globalctl-lease", "eu-west-1")  # the home region
    assert lease.current() == first


def test_an_expired_lease_is_taken_over_and_its_old_holder_can_neither_renew_nor_delete_it(config):
    top = topo.load(config)
    crashed = Lease(top, owner="crashed", seconds=-1).acquire("rollout v2")  # expired as soon as it was taken
    taker = Lease(top, owner="next")
    taken = taker.acquire("rollout --resume")
    assert taker.current().owner == "next"
    with pytest.raises(LeaseLost):
        Lease(top, owner="crashed").renew(crashed)
    Lease(top, owner="crashed").release(crashed)  # a no-op: the token is not its own any more
    assert taker.current() == taken
    taker.release(taken)
    assert taker.current() is None


def test_held_renews_releases_at_the_end_and_hears_when_it_is_broken(config):
    top = topo.load(config)
    lease = Lease(top, owner="me", seconds=0.6)
    lost = threading.Event()
    with lease.held("destroy", on_lost=lambda why: lost.set()) as info:
        # Renewed every third of its length while the block runs: the expiry moves forward.
        wait_until(lambda: lease.current().expires_at > info.expires_at, what="a renewal")
        assert not lost.is_set()
        assert Lease(top, owner="operator").break_().owner == "me"
        assert lost.wait(10), "the holder was not told its lease was broken"
    assert lease.current() is None


def test_lease_show_and_break_from_the_cli_record_the_break(config):
    runner = CliRunner()
    Lease(topo.load(config), owner="gone@ci pid 1").acquire("rollout v9")
    shown = runner.invoke(app, ["--config", str(config), "lease", "show", "--json"])
    assert shown.exit_code == 0 and json.loads(shown.output)["operation"] == "rollout v9"
    assert runner.invoke(app, ["--config", str(config), "lease", "break"], input="n\n").exit_code == 1
    broken = runner.invoke(app, ["--config", str(config), "lease", "break", "--yes"])
    assert broken.exit_code == 0 and "broke the lease held for rollout v9 by gone@ci pid 1" in broken.output
    assert runner.invoke(app, ["--config", str(config), "lease", "show"]).output.startswith("free")
    history = json.loads((config.parent / ".globalctl" / "history.json").read_text())
    assert history[-1]["action"] == "lease break" and history[-1]["holder"] == "gone@ci pid 1"
