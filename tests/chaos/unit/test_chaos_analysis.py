"""The chaos verdicts on hand-made logs and replicas: each check must be able to fail."""

from __future__ import annotations

from chaos import analysis
from chaos.workload import Request


def put(item, sent, version, status=200, routed="eu-west-1", updated=None, data=None, client=0):
    return Request(client, "eu-west-2", "PUT", item, sent, sent + 0.01, status, routed, version,
                   updated or f"2026-11-23T00:00:{sent:06.3f}Z", data if data is not None else {"v": version})


def delete(item, sent, status=204, routed="eu-west-1"):
    return Request(0, "eu-west-2", "DELETE", item, sent, sent + 0.01, status, routed)


def get(item, sent, status=200, version=None):
    return Request(0, "eu-west-2", "GET", item, sent, sent + 0.01, status, "us-east-1", version)


def stored(version, updated, data=None, deleted=False):
    item = {"version": version, "updated_at": updated, "data": data if data is not None else {"v": version}}
    return {**item, "deleted": True} if deleted else item


def everywhere(items):
    return {"eu-west-1": dict(items), "us-east-1": dict(items)}


def test_an_acknowledged_write_held_everywhere_is_not_lost():
    log = [put("c0-1", 1.0, 1), put("c0-1", 2.0, 2)]
    assert analysis.lost_writes(log, everywhere({"c0-1": stored(2, "2026-11-23T00:00:02.000Z")})) == []


def test_a_write_missing_from_one_replica_is_lost():
    log = [put("c0-1", 1.0, 1)]
    replicas = {"eu-west-1": {"c0-1": stored(1, "2026-11-23T00:00:01.000Z")}, "us-east-1": {}}
    lost = analysis.lost_writes(log, replicas)
    assert [(x["region"], x["why"]) for x in lost] == [("us-east-1", "missing")]


def test_an_older_version_than_an_acknowledged_write_is_a_loss():
    log = [put("c0-1", 1.0, 1), put("c0-1", 2.0, 2)]
    lost = analysis.lost_writes(log, everywhere({"c0-1": stored(1, "2026-11-23T00:00:01.000Z")}))
    assert {x["why"] for x in lost} == {"older than an acknowledged write"} and len(lost) == 2


def test_a_later_write_with_a_lower_version_supersedes_an_earlier_one():
    # Failover: v2 acked in euw1 but not replicated; the client's next write lands in use1 as v2, then v3...
    # here as a lower version with a later update time: last writer wins, nothing acknowledged is lost.
    log = [put("c0-1", 1.0, 3), put("c0-1", 5.0, 2, routed="us-east-1")]
    assert analysis.lost_writes(log, everywhere({"c0-1": stored(2, "2026-11-23T00:00:05.000Z")})) == []


def test_an_unanswered_write_may_have_been_applied():
    log = [put("c0-1", 1.0, 1), put("c0-1", 2.0, None, status=0, data={"v": 9})]
    assert analysis.lost_writes(log, everywhere({"c0-1": stored(2, "2026-11-23T00:00:02.000Z", {"v": 9})})) == []


def test_deletes_after_a_write_explain_its_absence_and_a_resurrection_is_a_loss():
    log = [put("c0-1", 1.0, 1), delete("c0-1", 2.0)]
    assert analysis.lost_writes(log, everywhere({})) == []
    assert analysis.lost_writes(log, everywhere({"c0-1": stored(1, "2026-11-23T00:00:01.000Z", deleted=True)})) == []
    resurrected = analysis.lost_writes(log, everywhere({"c0-1": stored(1, "2026-11-23T00:00:01.000Z")}))
    assert {x["why"] for x in resurrected} == {"present after its last delete"}


def test_a_shared_item_must_hold_data_some_write_wrote():
    log = [put("x-shared-1", 1.0, 1, data={"c": 1}), put("x-shared-1", 1.0, 1, data={"c": 2}, client=1)]
    assert analysis.lost_writes(log, everywhere({"x-shared-1": stored(1, "t", {"c": 2})})) == []
    lost = analysis.lost_writes(log, everywhere({"x-shared-1": stored(1, "t", {"c": 3})}))
    assert len(lost) == 2 and lost[0]["why"] == "holds no write's data"
    assert len(analysis.lost_writes(log, everywhere({}))) == 2


def test_failover_is_measured_to_the_last_answer_routed_to_the_failed_region_before_heal():
    log = [put("a", 9.0, 1), put("a", 11.0, 2, status=502), put("a", 14.2, 3, status=502),
           put("a", 15.0, 4, routed="us-east-1"), put("a", 31.0, 5)]  # after heal: back home, not failover
    moved = analysis.failover(log, "eu-west-1", 10.0, 30.0)
    assert round(moved.seconds, 2) == 4.21 and moved.requests_to_failed == 2


def test_error_rates_per_window_count_answers_by_when_they_came():
    log = [put("a", 1.0, 1), put("a", 11.0, None, status=502), get("a", 12.0, 404), put("a", 20.0, 2)]
    rates = analysis.error_rates(log, {"before": (0, 10), "during": (10, 15), "after": (15, float("inf"))})
    assert rates["before"]["errors"] == 0
    assert rates["during"] == {"requests": 2, "errors": 1, "error_rate": 0.5, "statuses": {"502": 1}}
    assert rates["after"]["errors"] == 0


def test_stale_reads_are_reads_missing_the_clients_own_last_write():
    log = [put("c0-1", 1.0, 2), get("c0-1", 2.0, 200, version=1), get("c0-1", 3.0, 404), get("c0-1", 4.0, 200, 2)]
    assert analysis.stale_reads(log) == 2


def test_conflicts_count_shared_items_written_on_both_sides_of_a_partition():
    log = [put("p-shared-1", 5.0, 1, routed="eu-west-1"), put("p-shared-1", 6.0, 1, routed="us-east-1"),
           put("p-shared-2", 6.0, 1, routed="us-east-1"), put("p-shared-3", 50.0, 1, routed="eu-west-1")]
    assert analysis.conflicts(log, "eu-west-1", 0.0, 20.0) == 1


def test_checksums_differ_when_any_attribute_differs():
    a = {"x": stored(1, "t")}
    assert analysis.checksum(a) == analysis.checksum({"x": stored(1, "t")})
    assert analysis.checksum(a) != analysis.checksum({"x": stored(2, "t")})


def test_the_bad_release_edit_still_applies_to_the_api_and_breaks_only_delete():
    from chaos.scenarios import BAD_RELEASE_EDIT
    from tests.support import ROOT

    source = (ROOT / "src" / "api" / "app.py").read_text()
    assert source.count(BAD_RELEASE_EDIT[0]) == 1
    broken = source.replace(*BAD_RELEASE_EDIT, 1)
    function = broken.split("def delete_item(", 1)[1].split("\ndef ", 1)[0]
    assert "raise RuntimeError('the bad release: deleting is broken')" in function
    compile(broken, "app.py", "exec")


def test_the_bad_release_report_rows():
    from chaos.report import rows

    measures = {"canary": "eu-west-1", "fault_s": [20.0, 45.0], "rollout_exit": 1, "rollout_s": 25.0,
                "detection_s": 7.5, "detection_bound_s": 15.0, "client_errors": 9, "requests": 1200,
                "blast_radius": 0.0075, "errors_by_region": {"eu-west-1": 9},
                "releases_after": {"euw1": "chaos", "use1": "chaos"}, "acknowledged_writes": 500, "lost_writes": 0,
                "convergence_s": 0.5, "stale_reads": 0}
    shown = dict(rows({"scenario": "bad release", "measures": measures, "checks": {"every replica identical": True}}))
    assert shown["detection: first client error to ALARM (bound)"] == "7.5 s (15.0 s)"
    assert shown["blast radius: client errors / requests"] == "9/1200 (0.75%)"
    assert shown["client errors by region"] == "eu-west-1 9"
