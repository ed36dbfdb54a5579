"""bandit on the Lambda code (src/) and the CLI (cli/): no finding of MEDIUM severity or more.

Every `# nosec` must name the test(s) it silences and say why, as its own comment after them:

    risky_call()  # nosec B310 # why this one is safe

The reason goes after a second `#` because bandit reads the test list up to the next `#`
(bandit 1.9.4, core/manager.py NOSEC_COMMENT): words of a reason written as `# nosec B310 - why`
would be looked up as test names, and a word that happens to name a test would silence it too.
bandit warns "... is not a test name or id" for each such word; the scan must print none.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import tokenize
from pathlib import Path

import pytest
from tests.support import ROOT

BANDIT = ROOT / ".venv" / "bin" / "bandit"
SCANNED = ("src", "cli", "harness")  # harness: the demo, moved out of cli/localcloud
BLOCKING = {"MEDIUM", "HIGH"}
NOSEC = re.compile(r"#\s*nosec\b", re.IGNORECASE)
# "# nosec B310" or "# nosec B603,B607", then "# " and a reason of at least three words.
JUSTIFIED_NOSEC = re.compile(r"#\s*nosec\s+B\d{3}(?:\s*,\s*B\d{3})*\s*#\s*(?P<reason>\S+(?:\s+\S+){2,})\s*$")


def python_files() -> list[Path]:
    return sorted(p for top in SCANNED for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts)


def nosec_problems(source: str) -> list[tuple[int, str]]:
    """(line, comment) of every nosec comment that lacks test ids or a reason (comments only, not strings)."""
    problems = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT or not NOSEC.search(token.string):
            continue
        nosec = token.string[NOSEC.search(token.string).start():]
        if not JUSTIFIED_NOSEC.match(nosec):
            problems.append((token.start[0], token.string))
    return problems


@pytest.fixture(scope="module")
def bandit_report() -> tuple[dict, str]:
    if not BANDIT.exists():
        pytest.fail(f"bandit is not installed at {BANDIT.relative_to(ROOT)}: run `make venv`", pytrace=False)
    # Every severity is reported, so a failure can show what is around; only MEDIUM+ fails.
    result = subprocess.run([str(BANDIT), "--recursive", "--format", "json", "--quiet", *SCANNED],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode in (0, 1), f"bandit exited {result.returncode}: {result.stderr[-2000:]}"
    return json.loads(result.stdout), result.stderr


def test_bandit_scans_every_python_file(bandit_report):
    report, _ = bandit_report
    assert report["errors"] == [], f"bandit could not scan: {report['errors']}"
    scanned = {Path(name) for name in report["metrics"] if name != "_totals"}
    expected = {p.relative_to(ROOT) for p in python_files()}
    assert scanned == expected, f"not scanned: {sorted(map(str, expected - scanned))}"


def test_no_finding_of_medium_severity_or_more(bandit_report):
    report, _ = bandit_report
    blocking = [r for r in report["results"] if r["issue_severity"] in BLOCKING]
    lines = [f"{r['test_id']} {r['issue_severity']}/{r['issue_confidence']} {r['filename']}:{r['line_number']}: "
             f"{r['issue_text']}" for r in blocking]
    assert not blocking, f"{len(blocking)} bandit finding(s) of MEDIUM severity or more:\n" + "\n".join(lines)


def test_every_nosec_is_parsed_as_written(bandit_report):
    _, stderr = bandit_report
    misread = [line for line in stderr.splitlines() if "is not a test name or id" in line]
    assert not misread, "a nosec comment has words bandit reads as test names:\n" + "\n".join(misread)


def test_every_nosec_names_its_tests_and_gives_a_reason():
    problems = [f"{path.relative_to(ROOT)}:{line}: {comment}"
                for path in python_files() for line, comment in nosec_problems(path.read_text())]
    assert not problems, "write `# nosec Bxxx # reason` (ids, then the reason as its own comment):\n" + "\n".join(problems)


@pytest.mark.parametrize("line, justified", [
    ("urlopen(url)  # nosec B310 # scheme checked above: https only", True),
    ("run(cmd)  # noqa: S603  # nosec B603,B607 # fixed argv, no shell, git from PATH", True),
    ("urlopen(url)  # nosec", False),                             # blanket: silences every test
    ("urlopen(url)  # nosec B310", False),                        # no reason
    ("urlopen(url)  # nosec B310 - scheme checked above", False),  # reason parsed as test names
    ("urlopen(url)  # nosec: scheme checked above", False),       # no test id
    ("urlopen(url)  # nosec B310 # ok", False),                   # not a reason
    ("text = '# nosec'  # a string, not a comment", True),
])
def test_the_nosec_rule_itself(line, justified):
    assert (nosec_problems(line + "\n") == []) is justified
