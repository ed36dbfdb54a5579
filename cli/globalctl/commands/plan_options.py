"""The options that shape a rollout plan, declared once: `plan` must accept exactly what `rollout`
(and, for its subset, `rollback`) accepts, with the same bounds and checks."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from globalctl import inputs
from globalctl.checks import MAX_REGIONS

# Bounds a typo cannot slip past (a bake in ms instead of s); a plan holds at most MAX_REGIONS
# regions, so more at once or more tolerated failures mean nothing.
MAX_BAKE_SECONDS = 86_400

Release = Annotated[Optional[str], typer.Option(
    "--release", callback=inputs.release_option, help="Release id (default: git short sha + UTC time).")]
Regions = Annotated[Optional[str], typer.Option(
    "--regions", callback=inputs.env_list_option, help="Region envs, comma-separated (default: all).")]
MaxConcurrent = Annotated[int, typer.Option(
    "--max-concurrent", min=1, max=MAX_REGIONS, help="Regions deployed at once (the canary always goes alone).")]
FailureTolerance = Annotated[int, typer.Option(
    "--failure-tolerance", min=0, max=MAX_REGIONS - 1, help="Failed regions tolerated before stopping.")]
Bake = Annotated[Optional[int], typer.Option(
    "--bake", min=0, max=MAX_BAKE_SECONDS, show_default="the minimum the region's alarms need to fire",
    help="Seconds each region's alarms must stay quiet under live traffic after its deploy; 0 skips the "
         "alarm gate.")]
BakeTraffic = Annotated[float, typer.Option(
    "--bake-traffic", min=0.0, max=50.0, metavar="RPS",
    help="Synthetic requests per second through each baking region's own API (write, read, list, delete "
         "of probe items, cleaned up), so a region with few clients still trips its alarms.")]
Canary = Annotated[Optional[str], typer.Option(
    "--canary", help="The region env deployed first, alone (default: the first).")]
SkipValidate = Annotated[bool, typer.Option("--skip-validate", help="Skip `globalctl validate` (not advised).")]
