"""CloudWatch metric math for alarms: the arithmetic, comparison and logical operators and IF, over
time series aligned by period (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html).

Parsed with Python's own `ast` (mode "eval"), with a strict whitelist of nodes: metric math's
operator syntax is a subset of Python's once its AND/OR/NOT/&&/|| are spelled the Python way. Every
other node (calls other than IF, attributes, subscripts, names that are no query id) is refused
with the reason, so an alarm whose expression cannot be evaluated here is refused at
PutMetricAlarm instead of sitting in OK forever.

Semantics per period: an operation with a missing operand yields no value for that period, and a
division by zero yields no value (CloudWatch drops such points), IF(cond, a, b) takes a where cond
is non-zero and b elsewhere; IF(cond, a) has no value where cond is zero.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence

Series = list[float | None]

_LOGICAL = [(re.compile(r"&&"), " and "), (re.compile(r"\|\|"), " or "), (re.compile(r"\bAND\b"), " and "),
            (re.compile(r"\bOR\b"), " or "), (re.compile(r"\bNOT\b"), " not ")]
_FUNCTIONS = {"IF", "ABS"}


class UnsupportedExpression(ValueError):
    """An expression the local CloudWatch cannot evaluate (the reason says what)."""


def parse(expression: str, ids: Sequence[str]) -> ast.Expression:
    """The checked syntax tree of `expression`, whose names must be among `ids`."""
    text = expression
    for pattern, python in _LOGICAL:
        text = pattern.sub(python, text)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise UnsupportedExpression(f"metric math {expression!r} does not parse: {error.msg}") from None
    known = set(ids)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords:
                name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                raise UnsupportedExpression(f"metric math function {name} is not supported locally "
                                            f"(supported: {', '.join(sorted(_FUNCTIONS))})")
            arity = {"IF": (2, 3), "ABS": (1, 1)}[node.func.id]
            if not arity[0] <= len(node.args) <= arity[1]:
                raise UnsupportedExpression(f"{node.func.id} takes {arity[0]} to {arity[1]} arguments")
        elif isinstance(node, ast.Name):
            if node.id not in known and node.id not in _FUNCTIONS:
                raise UnsupportedExpression(f"metric math {expression!r} names {node.id!r}, not one of the "
                                            f"alarm's query ids ({', '.join(sorted(known)) or 'none'})")
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
                raise UnsupportedExpression(f"metric math constant {node.value!r} is not a number")
        elif not isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.Load,
                                   ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd, ast.Not,
                                   ast.And, ast.Or, ast.Gt, ast.GtE, ast.Lt, ast.LtE, ast.Eq, ast.NotEq)):
            raise UnsupportedExpression(f"metric math {expression!r}: {type(node).__name__} is not supported locally")
    return tree


def evaluate(expression: str, series: Mapping[str, Series], length: int) -> Series:
    """The expression's value in each of `length` periods, from each query id's series."""
    tree = parse(expression, list(series))
    return [_value(tree.body, series, i) for i in range(length)]


def _value(node: ast.AST, series: Mapping[str, Series], i: int) -> float | None:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        values = series[node.id]
        return values[i] if i < len(values) else None
    if isinstance(node, ast.UnaryOp):
        operand = _value(node.operand, series, i)
        if operand is None:
            return None
        return float(not operand) if isinstance(node.op, ast.Not) else -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = _value(node.left, series, i), _value(node.right, series, i)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Div):
            return None if right == 0 else left / right
        if isinstance(node.op, ast.Pow):
            try:
                return float(left ** right)
            except (OverflowError, ZeroDivisionError, TypeError):
                return None
        return {ast.Add: left + right, ast.Sub: left - right, ast.Mult: left * right}[type(node.op)]
    if isinstance(node, ast.Compare):
        left = _value(node.left, series, i)
        result = 1.0
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _value(comparator, series, i)
            if left is None or right is None:
                return None
            ok = {ast.Gt: left > right, ast.GtE: left >= right, ast.Lt: left < right, ast.LtE: left <= right,
                  ast.Eq: left == right, ast.NotEq: left != right}[type(op)]
            result = min(result, float(ok))
            left = right
        return result
    if isinstance(node, ast.BoolOp):
        values = [_value(v, series, i) for v in node.values]
        if any(v is None for v in values):
            return None
        return float(all(values)) if isinstance(node.op, ast.And) else float(any(values))
    if isinstance(node, ast.Call):
        name = node.func.id  # type: ignore[attr-defined]  # checked by parse
        if name == "ABS":
            value = _value(node.args[0], series, i)
            return None if value is None else abs(value)
        condition = _value(node.args[0], series, i)
        if condition is None:
            return None
        if condition:
            return _value(node.args[1], series, i)
        return _value(node.args[2], series, i) if len(node.args) == 3 else None
    raise UnsupportedExpression(f"{type(node).__name__} is not supported locally")
