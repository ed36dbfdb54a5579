"""What tests of every component share: the checkout's root, a fourth region for the topology,
and polling (support/polling.py). Fixtures stay in each folder's conftest.py."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# One more region environment, as a user would add it to samconfig.toml: nothing else changes.
FOURTH_REGION = '''
[euc1.deploy.parameters]
stack_name = "global-backend"
region = "eu-central-1"
capabilities = "CAPABILITY_IAM CAPABILITY_AUTO_EXPAND"
confirm_changeset = false
resolve_s3 = true
parameter_overrides = "TableName=global-items Release=unreleased"
'''
