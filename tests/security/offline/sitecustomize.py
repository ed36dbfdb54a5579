"""Python imports sitecustomize at start-up from sys.path: with this directory on PYTHONPATH, the
child process is guarded before any of its own code runs (see offline_guard)."""

from __future__ import annotations

import offline_guard

offline_guard.arm_from_environment()
