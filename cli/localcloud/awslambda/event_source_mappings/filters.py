"""Lambda event filtering (FilterCriteria) for stream event source mappings.

Lambda filters a stream record with EventBridge-style patterns before it batches: a record that
matches no filter is dropped and its position committed, never delivered. Filters are ORed; a
pattern's keys are ANDed; a leaf is a non-empty array of rules, any of which may match.

Sources:
- https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html (filters ORed,
  up to 5 per mapping by default, non-matching records discarded, pattern syntax)
- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html
  (exact, prefix, suffix, anything-but, numeric, exists, equals-ignore-case, wildcard, cidr, $or)

Only the JSON value types matter: DynamoDB numbers arrive as strings inside ``{"N": "..."}``, so a
``numeric`` rule on them does not match (as in EventBridge, numeric compares JSON numbers only).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Lambda's default quota; a quota increase allows up to 10.
MAX_FILTERS = 5
MAX_PATTERN_LENGTH = 4096

_MISSING = object()
_NUMERIC_OPS = {"<", "<=", "=", ">=", ">"}
_STRING_OPS = {"prefix", "suffix", "equals-ignore-case", "wildcard"}
_ALL_OPS = _STRING_OPS | {"anything-but", "numeric", "exists", "cidr"}


class InvalidFilterPattern(ValueError):
    """A FilterCriteria that Lambda would reject (InvalidParameterValueException)."""

    aws_error_code = "InvalidParameterValueException"


@dataclass(frozen=True)
class FilterCriteria:
    """The parsed ``FilterCriteria`` of an event source mapping; no patterns means "match all"."""

    patterns: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def parse(cls, criteria: Mapping[str, Any] | None) -> FilterCriteria:
        if not criteria:
            return cls()
        filters = criteria.get("Filters") or []
        if not isinstance(filters, Sequence) or isinstance(filters, (str, bytes)):
            raise InvalidFilterPattern("FilterCriteria.Filters must be a list")
        if len(filters) > MAX_FILTERS:
            raise InvalidFilterPattern(f"at most {MAX_FILTERS} filters are allowed, got {len(filters)}")
        patterns = []
        for entry in filters:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("Pattern"), str):
                raise InvalidFilterPattern("each filter must be {\"Pattern\": \"<json>\"}")
            patterns.append(parse_pattern(entry["Pattern"]))
        return cls(tuple(patterns))

    def matches(self, record: Mapping[str, Any]) -> bool:
        return not self.patterns or any(matches(p, record) for p in self.patterns)


def parse_pattern(text: str) -> dict[str, Any]:
    """Parse and validate one pattern string; raise InvalidFilterPattern as Lambda would."""
    if len(text) > MAX_PATTERN_LENGTH:
        raise InvalidFilterPattern(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
    try:
        pattern = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidFilterPattern(f"pattern is not valid JSON: {exc.msg}") from None
    if not isinstance(pattern, dict):
        raise InvalidFilterPattern("pattern must be a JSON object")
    _validate_node(pattern, path="")
    return pattern


def _validate_node(node: Mapping[str, Any], path: str) -> None:
    for key, value in node.items():
        where = f"{path}.{key}" if path else key
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(v, dict) for v in value):
                raise InvalidFilterPattern(f"{where}: $or needs a list of at least two objects")
            for branch in value:
                _validate_node(branch, path)
        elif isinstance(value, dict):
            _validate_node(value, where)
        elif isinstance(value, list):
            if not value:
                raise InvalidFilterPattern(f"{where}: empty arrays are not allowed")
            for rule in value:
                _validate_rule(rule, where)
        else:
            raise InvalidFilterPattern(f"{where}: must be an object or an array")


def _validate_rule(rule: Any, where: str) -> None:
    if rule is None or isinstance(rule, (str, int, float, bool)):
        return
    if not isinstance(rule, dict) or len(rule) != 1:
        raise InvalidFilterPattern(f"{where}: a rule is a value or an object with one operator")
    (op, arg), = rule.items()
    if op not in _ALL_OPS:
        raise InvalidFilterPattern(f"{where}: unknown operator {op!r}")
    if op == "exists" and not isinstance(arg, bool):
        raise InvalidFilterPattern(f"{where}: exists takes true or false")
    if op == "numeric":
        if not isinstance(arg, list) or not arg or len(arg) % 2:
            raise InvalidFilterPattern(f"{where}: numeric takes [op, value, ...]")
        for symbol, number in zip(arg[::2], arg[1::2]):
            if symbol not in _NUMERIC_OPS or not _is_number(number):
                raise InvalidFilterPattern(f"{where}: bad numeric comparison {symbol!r} {number!r}")
    if op == "cidr" and not isinstance(arg, str):
        raise InvalidFilterPattern(f"{where}: cidr takes a string")
    if op in _STRING_OPS and not _is_string_arg(arg, op, allow_list=False):
        raise InvalidFilterPattern(f"{where}: {op} takes a string")
    if op == "anything-but":
        _validate_anything_but(arg, where)


def _validate_anything_but(arg: Any, where: str) -> None:
    if isinstance(arg, dict):
        inner, inner_arg = next(iter(arg.items())) if len(arg) == 1 else ("", None)
        if inner not in _STRING_OPS or not _is_string_arg(inner_arg, inner, allow_list=True):
            raise InvalidFilterPattern(f"{where}: anything-but takes one string operator")
    elif isinstance(arg, list):
        if not arg or not all(isinstance(a, (str, int, float)) and not isinstance(a, bool) for a in arg):
            raise InvalidFilterPattern(f"{where}: anything-but takes a non-empty list of values")
    elif not isinstance(arg, (str, int, float)) or isinstance(arg, bool):
        raise InvalidFilterPattern(f"{where}: anything-but takes a string or a number")


def _is_string_arg(arg: Any, op: str, *, allow_list: bool) -> bool:
    if isinstance(arg, str):
        return True
    # prefix and suffix also take {"equals-ignore-case": "..."}
    if op in {"prefix", "suffix"} and isinstance(arg, dict) and list(arg) == ["equals-ignore-case"]:
        return isinstance(arg["equals-ignore-case"], str)
    return allow_list and isinstance(arg, list) and bool(arg) and all(isinstance(a, str) for a in arg)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """True when ``event`` (a JSON-like value) satisfies every field of ``pattern``."""
    if not isinstance(event, Mapping):
        event = {}
    for key, spec in pattern.items():
        if key == "$or":
            ok = any(matches(branch, event) for branch in spec)
        elif isinstance(spec, Mapping):
            # A missing parent still lets {"exists": false} below it match.
            ok = matches(spec, event.get(key, {}))
        else:
            ok = _leaf_matches(event.get(key, _MISSING), spec)
        if not ok:
            return False
    return True


def _leaf_matches(value: Any, rules: Sequence[Any]) -> bool:
    for rule in rules:
        if isinstance(rule, dict) and "exists" in rule:
            present = value is not _MISSING and not isinstance(value, Mapping)
            if present == rule["exists"]:
                return True
            continue
        if value is _MISSING or isinstance(value, Mapping):
            continue
        # An array in the event matches when any of its elements matches.
        candidates = value if isinstance(value, list) else [value]
        if any(_rule_matches(candidate, rule) for candidate in candidates):
            return True
    return False


def _rule_matches(value: Any, rule: Any) -> bool:
    if not isinstance(rule, dict):
        return _equal(value, rule)
    (op, arg), = rule.items()
    if op == "anything-but":
        if isinstance(arg, dict):
            return not _rule_matches(value, arg)
        excluded = arg if isinstance(arg, list) else [arg]
        return not any(_equal(value, e) for e in excluded)
    if op == "numeric":
        return _is_number(value) and all(
            _compare(value, symbol, number) for symbol, number in zip(arg[::2], arg[1::2])
        )
    if op == "cidr":
        try:
            return isinstance(value, str) and ipaddress.ip_address(value) in ipaddress.ip_network(arg, strict=False)
        except ValueError:
            return False
    if not isinstance(value, str):
        return False
    options = arg if isinstance(arg, list) else [arg]
    return any(_string_rule(value, op, option) for option in options)


def _string_rule(value: str, op: str, arg: Any) -> bool:
    ignore_case = isinstance(arg, dict)
    text = arg["equals-ignore-case"] if ignore_case else arg
    subject, text = (value.lower(), text.lower()) if ignore_case else (value, text)
    if op == "prefix":
        return subject.startswith(text)
    if op == "suffix":
        return subject.endswith(text)
    if op == "equals-ignore-case":
        return value.lower() == text.lower()
    return _wildcard(text).fullmatch(value) is not None


def _wildcard(text: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in text.split("*")), re.DOTALL)


def _equal(value: Any, expected: Any) -> bool:
    # JSON true is not the number 1, although Python says so.
    if isinstance(value, bool) or isinstance(expected, bool):
        return isinstance(value, bool) and isinstance(expected, bool) and value == expected
    if _is_number(value) and _is_number(expected):
        return float(value) == float(expected)
    return type(value) is type(expected) and value == expected


def _compare(value: float, symbol: str, number: float) -> bool:
    if symbol == "<":
        return value < number
    if symbol == "<=":
        return value <= number
    if symbol == "=":
        return value == number
    if symbol == ">=":
        return value >= number
    return value > number
