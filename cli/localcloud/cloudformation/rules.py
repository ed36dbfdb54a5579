"""Template Rules, checked before anything is created or changed, as CloudFormation does (moto
ignores the section): for each rule whose RuleCondition holds (or that has none), every Assert
must hold, else the call fails with a ValidationError carrying the AssertDescription.

Rule functions: Fn::And, Fn::Or, Fn::Not, Fn::Equals, Fn::Contains, Fn::EachMemberEquals,
Fn::EachMemberIn, and Ref of a parameter ("Template Rules syntax", CloudFormation User Guide). A
rule that reads a parameter whose value is not known here (UsePreviousValue, resolved later) is
not checked rather than guessed at.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import ValidationError


class _Unknown(Exception):
    pass


def is_list(declaration: Any) -> bool:
    """A parameter declaration whose value CloudFormation hands on as a list."""
    kind = str((declaration or {}).get("Type", "")) if isinstance(declaration, dict) else ""
    return kind == "CommaDelimitedList" or kind.startswith("List<")


def check(template: dict[str, Any], parameters: dict[str, Any]) -> None:
    declared = template.get("Parameters") or {}
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        value = parameters.get(name, (spec or {}).get("Default"))
        if value is None:
            continue
        values[name] = (value if isinstance(value, list) else str(value).split(",")) if is_list(spec) else str(value)
    for name, rule in (template.get("Rules") or {}).items():
        try:
            if "RuleCondition" in rule and not _eval(rule["RuleCondition"], values):
                continue
            for assertion in rule.get("Assertions") or []:
                if not _eval(assertion["Assert"], values):
                    described = assertion.get("AssertDescription") or f"Template validation error: rule {name}"
                    raise ValidationError(message=" ".join(str(described).split()))
        except _Unknown:
            continue


def _eval(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, dict) and len(node) == 1:
        (key, arg), = node.items()
        if key == "Ref":
            if arg not in values:
                raise _Unknown(arg)
            return values[arg]
        if key == "Fn::Not":
            return not _eval(arg[0], values)
        if key == "Fn::And":
            return all(_eval(item, values) for item in arg)
        if key == "Fn::Or":
            return any(_eval(item, values) for item in arg)
        if key == "Fn::Equals":
            return _eval(arg[0], values) == _eval(arg[1], values)
        if key == "Fn::Contains":
            return _eval(arg[1], values) in _eval(arg[0], values)
        if key == "Fn::EachMemberEquals":
            expected = _eval(arg[1], values)
            return all(member == expected for member in _eval(arg[0], values))
        if key == "Fn::EachMemberIn":
            allowed = _eval(arg[1], values)
            return all(member in allowed for member in _eval(arg[0], values))
        raise _Unknown(key)
    if isinstance(node, list):
        return [_eval(item, values) for item in node]
    return node
