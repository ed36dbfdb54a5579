"""checkov over every CloudFormation and SAM template: no failed check, every skip justified.

checkov's `cloudformation` framework is the one that reads SAM: it merges the Globals section into
each AWS::Serverless::* resource and its Lambda checks list AWS::Serverless::Function beside
AWS::Lambda::Function (checkov 3.3.30: cloudformation/cfn_utils.py, checks/resource/aws/Lambda*.py).
Its `serverless` framework is the Serverless Framework (it only opens serverless.yml/.yaml,
serverless/utils.py SLS_FILE_MASK), so it has nothing to scan here.

A skip lives in the resource's own Metadata (checkov docs, "Suppressing and Skipping Policies":
`Metadata: checkov: skip: - id: ... comment: ...`); checkov reports its comment, or "No comment
provided" when there is none. Nothing else may skip a check: the run ignores CKV_*/BC_* variables
and any home-directory config, and a .checkov.yaml in the repository fails the test.

checkov runs with --skip-download and CKV_SKIP_PACKAGE_UPDATE_CHECK so it never phones home, and
under tests/security/offline (a sitecustomize guard) which logs any lookup or connection outside
loopback: the log must show the guard armed and nothing refused.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.security import templates

ROOT = templates.ROOT
CHECKOV = ROOT / ".venv" / "checkov" / "bin" / "checkov"
GUARD_DIR = Path(__file__).resolve().parent / "offline"
NO_COMMENT = "No comment provided"  # what checkov reports for a skip without a comment
MIN_JUSTIFICATION_WORDS = 8

pytestmark = pytest.mark.slow  # about 4 s on an idle machine, more on a busy one


@dataclass
class Scan:
    templates: dict[Path, dict[str, Any]]
    report: dict[str, Any]
    egress_log: list[str]
    stderr: str


def _environment(home: Path, egress_log: Path) -> dict[str, str]:
    # CKV_SKIP_CHECK, CKV_CHECK and friends would change what runs without a trace in the templates.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CKV_", "BC_", "PRISMA_"))}
    env.update({
        "HOME": str(home),  # no ~/.checkov.yaml
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
        "BC_SKIP_MAPPING": "TRUE",
        "PYTHONPATH": str(GUARD_DIR),
        "OFFLINE_GUARD_LOG": str(egress_log),
    })
    return env


def _cloudformation_report(stdout: str) -> dict[str, Any]:
    parsed = json.loads(stdout)
    reports = parsed if isinstance(parsed, list) else [parsed]
    for report in reports:
        if report.get("check_type") == "cloudformation":
            return report
    raise AssertionError(f"checkov printed no cloudformation report: {stdout[:500]}")


def run_checkov(root: Path, work: Path) -> Scan:
    """checkov over every template under root, offline, with its JSON report and the egress log."""
    found = templates.discover(root)
    assert found, f"no CloudFormation template found under {root}"
    egress_log = work / "egress.log"
    files = [arg for path in found for arg in ("-f", str(path))]
    result = subprocess.run(
        [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "--output", "json", *files],
        cwd=root, env=_environment(work, egress_log), capture_output=True, text=True, timeout=300, check=False,
    )
    # 0: every check passed, 1: some failed; anything else is checkov itself failing.
    assert result.returncode in (0, 1), f"checkov exited {result.returncode}: {result.stderr[-2000:]}"
    log = egress_log.read_text().splitlines() if egress_log.exists() else []
    return Scan(found, _cloudformation_report(result.stdout), log, result.stderr)


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Scan:
    if not os.access(CHECKOV, os.X_OK):
        pytest.fail(f"checkov is not installed at {CHECKOV.relative_to(ROOT)}: run `make venv`", pytrace=False)
    return run_checkov(ROOT, tmp_path_factory.mktemp("checkov"))


def test_no_repository_config_can_skip_checks_out_of_sight():
    configs = [p.name for p in (ROOT / ".checkov.yaml", ROOT / ".checkov.yml") if p.exists()]
    assert not configs, f"{configs}: skip checks in the resource's Metadata, next to the resource, not in a config file"


def test_discovery_finds_every_deployed_and_nested_template(scan: Scan):
    found = set(scan.templates)
    missing = (templates.deployed() | templates.nested(scan.templates)) - found
    assert not missing, f"templates deployed or nested but not discovered: {sorted(map(str, missing))}"


def test_every_template_is_parsed_and_scanned(scan: Scan):
    summary, results = scan.report["summary"], scan.report["results"]
    assert summary["parsing_errors"] == 0, f"checkov could not parse: {results['parsing_errors']}"
    # checkov counts each parsed resource once per file, so the total proves every template was read.
    expected = sum(len(t["Resources"]) for t in scan.templates.values())
    assert summary["resource_count"] == expected, (
        f"checkov scanned {summary['resource_count']} resources; the {len(scan.templates)} templates "
        f"({', '.join(sorted(map(str, scan.templates)))}) hold {expected}")
    assert summary["passed"] > 0


def test_no_check_fails(scan: Scan):
    failed = scan.report["results"]["failed_checks"]
    lines = [f"{c['check_id']} {c['file_path'].lstrip('/')}:{c['file_line_range'][0]} {c['resource']}: {c['check_name']}"
             for c in failed]
    assert not failed, f"{len(failed)} failed checkov check(s):\n" + "\n".join(lines)


def test_every_skip_carries_a_justification(scan: Scan):
    skipped = scan.report["results"]["skipped_checks"]
    unjustified = []
    for check in skipped:
        comment = (check.get("check_result") or {}).get("suppress_comment") or ""
        if comment == NO_COMMENT or len(comment.split()) < MIN_JUSTIFICATION_WORDS:
            unjustified.append(f"{check['check_id']} {check['file_path'].lstrip('/')} {check['resource']}: "
                               f"{comment or '(empty)'}")
    assert not unjustified, (
        "skips need a real reason in the resource's Metadata (checkov: skip: - id/comment):\n" + "\n".join(unjustified))


def test_checkov_never_leaves_the_machine(scan: Scan):
    assert scan.egress_log[:1] == ["armed"], "the offline guard did not load into checkov (PYTHONPATH sitecustomize)"
    assert scan.egress_log[1:] == [], f"checkov tried to reach outside loopback: {scan.egress_log[1:]}"
