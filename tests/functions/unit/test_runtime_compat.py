"""The Lambda code runs on python3.13 while this machine runs 3.11: keep to what both offer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import ROOT

SRC = ROOT / "src"
# PEP 594: removed from the standard library in Python 3.13.
REMOVED_IN_313 = {"aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "mailcap", "msilib", "nis",
                  "nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau", "telnetlib", "uu", "xdrlib",
                  "lib2to3"}
# What the function may import: its own packages, the standard library, and what the runtime and
# the Powertools layer provide (boto3/botocore in the runtime; pydantic, aws_xray_sdk in the layer).
THIRD_PARTY_ALLOWED = {"boto3", "botocore", "aws_lambda_powertools", "pydantic", "aws_xray_sdk", "jmespath"}
OWN = {p.name for p in SRC.iterdir() if p.is_dir()}

SOURCES = sorted(SRC.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), feature_version=(3, 11))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_source_parses_as_311_and_imports_what_the_runtime_has(path: Path):
    import sys

    imports = _imports(path)
    assert not imports & REMOVED_IN_313
    outside = {name for name in imports - OWN - set(sys.stdlib_module_names) if name != "__future__"}
    assert outside <= THIRD_PARTY_ALLOWED, outside


def test_there_is_code_to_check():
    assert len(SOURCES) >= 5
