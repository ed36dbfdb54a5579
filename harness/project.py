"""A throwaway copy of the project's deployable files, for a local cloud of its own (the tests,
`make chaos` and `make bench` each deploy into one, never touching the checkout's .globalctl/)."""

from __future__ import annotations

import shutil
from pathlib import Path

DEPLOYABLE = ("template.yaml", "regional", "global", "src", "samconfig.toml", "samconfig.strong.toml")


def copy_project(root: Path, target: Path, samconfig: str | None = None) -> Path:
    """The deployable files of the project at root into target; samconfig replaces samconfig.toml."""
    target.mkdir(parents=True, exist_ok=True)
    for name in DEPLOYABLE:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", ".aws-sam"))
        elif source.exists():
            shutil.copy2(source, target / name)
    if samconfig is not None:
        (target / "samconfig.toml").write_text(samconfig)
    return target
