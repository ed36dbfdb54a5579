"""A small evaluator of CloudFormation intrinsic functions, enough to render the global templates
for a given parameter set the way CloudFormation resolves them: Conditions, Fn::If, Fn::Select,
Fn::Split, Fn::Join, Fn::Sub, Ref and AWS::NoValue. References to resources stay symbolic
("<Ref HealthCheck0>"), so a test can see which resource a value points at."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

NO_VALUE = object()
PSEUDO = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::StackName": "stack",
          "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}


def load_template(path: Path) -> dict:
    data, matches = decode(str(path))
    assert data is not None, matches
    return json.loads(json.dumps(data))  # plain dicts and lists


class Renderer:
    def __init__(self, template: dict, parameters: dict[str, str]):
        self.template = template
        self.params: dict[str, Any] = {}
        for name, spec in template.get("Parameters", {}).items():
            value = parameters.get(name, spec.get("Default"))
            assert value is not None, f"parameter {name} has no value"
            value = str(value)
            self.params[name] = value.split(",") if spec["Type"] == "CommaDelimitedList" else value
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.eval(self.template["Conditions"][name]))
        return self.conditions[name]

    def eval(self, node: Any) -> Any:
        if isinstance(node, list):
            out = [self.eval(item) for item in node]
            return [item for item in out if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            handler = {
                "Ref": self._ref, "Fn::If": self._if, "Fn::Select": self._select, "Fn::Split": self._split,
                "Fn::Join": self._join, "Fn::Sub": self._sub, "Fn::Equals": self._equals,
                "Fn::Not": lambda a: not self.eval(a[0]), "Fn::And": lambda a: all(self.eval(x) for x in a),
                "Fn::Or": lambda a: any(self.eval(x) for x in a), "Condition": self.condition,
                "Fn::GetAtt": lambda a: f"<GetAtt {'.'.join(a) if isinstance(a, list) else a}>",
            }.get(key)
            if handler:
                return handler(arg)
        out = {k: self.eval(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.params:
            return self.params[name]
        if name in PSEUDO:
            return PSEUDO[name]
        return f"<Ref {name}>"

    def _if(self, arg: list) -> Any:
        name, yes, no = arg
        return self.eval(yes if self.condition(name) else no)

    def _select(self, arg: list) -> Any:
        index, items = int(self.eval(arg[0])), self.eval(arg[1])
        return items[index]

    def _split(self, arg: list) -> list[str]:
        return str(self.eval(arg[1])).split(arg[0])

    def _join(self, arg: list) -> str:
        return arg[0].join(str(x) for x in self.eval(arg[1]))

    def _equals(self, arg: list) -> bool:
        return str(self.eval(arg[0])) == str(self.eval(arg[1]))

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.eval(arg[1]))

        def resolve(match: re.Match) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                return f"<GetAtt {name}>"
            return str(self._ref(name))

        return re.sub(r"\$\{([^}!]+)\}", resolve, text)

    def resources(self) -> dict[str, dict]:
        """The resources CloudFormation would create, with properties resolved."""
        out = {}
        for name, resource in self.template["Resources"].items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            out[name] = {"Type": resource["Type"], "Properties": self.eval(resource.get("Properties", {}))}
        return out
