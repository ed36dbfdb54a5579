"""Lambda FilterCriteria on DynamoDB stream records (EventBridge pattern syntax)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.awslambda.event_source_mappings import FilterCriteria, InvalidFilterPattern
from localcloud.awslambda.event_source_mappings.filters import matches, parse_pattern
from localcloud.dynamodb import make_stream_record


def record(event_name: str = "INSERT", origin: str | None = "eu-west-1", **attrs: dict[str, Any]) -> dict[str, Any]:
    image: dict[str, Any] = {"id": {"S": "order-1"}, **attrs}
    if origin is not None:
        image["origin_region"] = {"S": origin}
    return make_stream_record(sequence_number="100000000000000000001", event_name=event_name,
                              keys={"id": {"S": "order-1"}},
                              new_image=None if event_name == "REMOVE" else image,
                              old_image=image if event_name != "INSERT" else None, region="eu-west-1")


def criteria(*patterns: dict[str, Any]) -> FilterCriteria:
    return FilterCriteria.parse({"Filters": [{"Pattern": json.dumps(p)} for p in patterns]})


def new_image(**fields: Any) -> dict[str, Any]:
    return {"dynamodb": {"NewImage": fields}}


def test_the_templates_origin_filter_matches_only_this_regions_writes() -> None:
    # regional/stream.yaml: {"dynamodb": {"NewImage": {"origin_region": {"S": ["${AWS::Region}"]}}}}
    eu = criteria(new_image(origin_region={"S": ["eu-west-1"]}))
    assert eu.matches(record(origin="eu-west-1"))
    assert eu.matches(record("MODIFY", origin="eu-west-1"))
    assert not eu.matches(record(origin="us-east-1"))
    assert not eu.matches(record(origin=None))
    assert not eu.matches(record("REMOVE"))  # no NewImage on a delete


def test_no_criteria_matches_everything() -> None:
    assert FilterCriteria.parse(None).matches(record())
    assert FilterCriteria.parse({"Filters": []}).matches(record("REMOVE"))


def test_filters_are_ored_and_fields_anded() -> None:
    either = criteria({"eventName": ["REMOVE"]}, new_image(origin_region={"S": ["us-east-1"]}))
    assert either.matches(record("REMOVE"))
    assert either.matches(record(origin="us-east-1"))
    assert not either.matches(record(origin="eu-west-1"))

    both = criteria({"eventName": ["INSERT"], **new_image(origin_region={"S": ["eu-west-1"]})})
    assert both.matches(record("INSERT"))
    assert not both.matches(record("MODIFY"))


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        (["eu-west-1", "us-east-1"], "us-east-1", True),
        (["eu-west-1"], "eu-west-2", False),
        ([{"prefix": "eu-"}], "eu-central-1", True),
        ([{"prefix": "eu-"}], "us-east-1", False),
        ([{"prefix": {"equals-ignore-case": "EU-"}}], "eu-west-1", True),
        ([{"suffix": "-1"}], "eu-west-1", True),
        ([{"suffix": "-1"}], "eu-west-2", False),
        ([{"anything-but": "eu-west-1"}], "us-east-1", True),
        ([{"anything-but": "eu-west-1"}], "eu-west-1", False),
        ([{"anything-but": ["eu-west-1", "us-east-1"]}], "us-east-1", False),
        ([{"anything-but": {"prefix": "eu-"}}], "eu-west-3", False),
        ([{"anything-but": {"prefix": "eu-"}}], "ap-southeast-1", True),
        ([{"equals-ignore-case": "EU-WEST-1"}], "eu-west-1", True),
        ([{"wildcard": "eu-*-1"}], "eu-west-1", True),
        ([{"wildcard": "eu-*-1"}], "eu-west-2", False),
        ([{"exists": True}], "eu-west-1", True),
        ([{"exists": False}], "eu-west-1", False),
        (["x", {"prefix": "eu"}], "eu-west-1", True),
    ],
)
def test_string_rules_on_a_new_image_attribute(rule: list[Any], value: str, expected: bool) -> None:
    assert criteria(new_image(origin_region={"S": rule})).matches(record(origin=value)) is expected


def test_exists_false_and_anything_but_on_a_missing_attribute() -> None:
    missing = record(origin=None)
    assert criteria(new_image(origin_region={"S": [{"exists": False}]})).matches(missing)
    assert not criteria(new_image(origin_region={"S": [{"exists": True}]})).matches(missing)
    # anything-but needs the field to be there
    assert not criteria(new_image(origin_region={"S": [{"anything-but": "eu-west-1"}]})).matches(missing)
    # a missing parent (REMOVE has no NewImage) still satisfies exists: false
    assert criteria(new_image(origin_region={"S": [{"exists": False}]})).matches(record("REMOVE"))


def test_numeric_compares_json_numbers_only() -> None:
    size = record()["dynamodb"]["SizeBytes"]
    assert criteria({"dynamodb": {"SizeBytes": [{"numeric": [">", 0, "<=", size]}]}}).matches(record())
    assert not criteria({"dynamodb": {"SizeBytes": [{"numeric": [">", size]}]}}).matches(record())
    # DynamoDB numbers are strings inside {"N": ...}, so numeric does not match them.
    total = record(total={"N": "42"})
    assert not criteria(new_image(total={"N": [{"numeric": [">", 1]}]})).matches(total)
    assert criteria(new_image(total={"N": ["42"]})).matches(total)


def test_values_match_by_json_type() -> None:
    assert matches({"flag": [True]}, {"flag": True})
    assert not matches({"flag": [1]}, {"flag": True})
    assert not matches({"count": ["1"]}, {"count": 1})
    assert matches({"count": [1]}, {"count": 1.0})
    assert matches({"value": [None]}, {"value": None})
    assert not matches({"value": [None]}, {})


def test_an_array_in_the_event_matches_when_any_element_does() -> None:
    event = {"dynamodb": {"NewImage": {"tags": {"SS": ["red", "blue"]}}}}
    assert matches({"dynamodb": {"NewImage": {"tags": {"SS": ["blue"]}}}}, event)
    assert matches({"dynamodb": {"NewImage": {"tags": {"SS": [{"prefix": "re"}]}}}}, event)
    assert not matches({"dynamodb": {"NewImage": {"tags": {"SS": ["green"]}}}}, event)


def test_or_inside_a_pattern() -> None:
    pattern = parse_pattern(json.dumps({"$or": [{"eventName": ["REMOVE"]},
                                                new_image(origin_region={"S": ["us-east-1"]})]}))
    assert matches(pattern, record("REMOVE"))
    assert matches(pattern, record(origin="us-east-1"))
    assert not matches(pattern, record(origin="eu-west-1"))


def test_a_rule_on_an_object_never_matches_it_as_a_value() -> None:
    assert not criteria({"dynamodb": {"NewImage": ["x"]}}).matches(record())
    assert not criteria({"dynamodb": {"NewImage": [{"exists": True}]}}).matches(record())


@pytest.mark.parametrize(
    "pattern",
    [
        "{",
        "[]",
        '{"eventName": "INSERT"}',
        '{"eventName": []}',
        '{"eventName": [{"startsWith": "I"}]}',
        '{"eventName": [{"prefix": 1}]}',
        '{"eventName": [{"exists": "yes"}]}',
        '{"n": [{"numeric": [">"]}]}',
        '{"n": [{"numeric": ["~", 1]}]}',
        '{"eventName": [{"anything-but": {"numeric": [">", 1]}}]}',
        '{"eventName": [{"anything-but": []}]}',
        '{"$or": [{"eventName": ["INSERT"]}]}',
        '{"eventName": [{"prefix": "a", "suffix": "b"}]}',
        json.dumps({"eventName": ["x" * 5000]}),
    ],
)
def test_patterns_lambda_rejects_are_rejected(pattern: str) -> None:
    with pytest.raises(InvalidFilterPattern):
        FilterCriteria.parse({"Filters": [{"Pattern": pattern}]})


def test_filter_list_shape_and_quota() -> None:
    with pytest.raises(InvalidFilterPattern, match="at most 5"):
        FilterCriteria.parse({"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}] * 6})
    with pytest.raises(InvalidFilterPattern):
        FilterCriteria.parse({"Filters": [{"pattern": "{}"}]})
    with pytest.raises(InvalidFilterPattern):
        FilterCriteria.parse({"Filters": "nope"})
