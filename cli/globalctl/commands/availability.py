"""`globalctl availability`: composite availability of the topology, or of ad-hoc figures."""

from __future__ import annotations

import json
from fractions import Fraction

import typer

from globalctl import availability as model
from globalctl.context import Context
from globalctl.errors import reported
from globalctl.exceptions import TopologyError, UsageError

MAX_AD_HOC_VALUES = 64


@reported
def availability(
    ctx: typer.Context,
    values: list[str] = typer.Argument(None, metavar="PCT", show_default=False,
                                       help="Ad-hoc percentages, with --series or --parallel."),
    series: bool = typer.Option(False, "--series", help="Ad-hoc: the PCT values in series (all needed)."),
    parallel: bool = typer.Option(False, "--parallel", help="Ad-hoc: the PCT values in parallel (any one suffices)."),
    component: list[str] = typer.Option(None, "--component", metavar="NAME=PCT", show_default=False,
                                        help="Override a figure (apigateway, lambda, dynamodb, route53); repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print the numbers as JSON."),
) -> None:
    """Composite availability from per-service SLA figures: percentage, nines, downtime per year.

    Default: the samconfig topology (Route 53 x regions in parallel; a region = API Gateway x Lambda x DynamoDB).

    Ad-hoc what-ifs: `--series 99 99.99` (all needed) or `--parallel 99 99` (any one suffices).
    """
    values = values or []
    if series or parallel:
        _ad_hoc("series" if series else "parallel", values, series and parallel, component, as_json)
        return
    if values:
        raise UsageError(f"percentages {' '.join(values)} need --series or --parallel")
    try:
        components = model.with_overrides(component or [])
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    topology = Context.from_typer(ctx).topology
    regions = [env.name for env in topology.regions]
    if not regions:
        raise TopologyError(f"{topology.config_path}: no region environment, nothing to compose")
    result = model.topology_availability(len(regions), components)
    if as_json:
        typer.echo(json.dumps(_topology_json(result, regions), indent=2))
    else:
        _print_topology(result, regions, str(topology.config_path))


def _ad_hoc(mode: str, values: list[str], both: bool, component: list[str] | None, as_json: bool) -> None:
    if both:
        raise UsageError("choose one of --series and --parallel")
    if component:
        raise UsageError("--component applies to the topology, not to --series/--parallel")
    if not values:
        raise UsageError(f"--{mode} needs at least one PCT, e.g. --{mode} 99 99.99")
    if len(values) > MAX_AD_HOC_VALUES:  # exact fractions: each value multiplies the digits carried
        raise UsageError(f"--{mode} takes at most {MAX_AD_HOC_VALUES} PCT values, got {len(values)}")
    try:
        percents = [model.parse_percent(v) for v in values]
    except ValueError as exc:
        raise UsageError(f"--{mode}: {exc}") from None
    combine = model.series if mode == "series" else model.parallel
    result = combine(p / 100 for p in percents)
    if as_json:
        typer.echo(json.dumps({"mode": mode, "inputs": [float(p) for p in percents], **model.figures(result)},
                              indent=2))
        return
    formula = "A = A1 x A2 x ..." if mode == "series" else "A = 1 - (1 - A1) x (1 - A2) x ..."
    typer.echo(f"{mode} of {', '.join(model.format_percent(p / 100) + '%' for p in percents)} ({formula})")
    _echo_figures(result)


def _echo_figures(value: Fraction) -> None:
    typer.echo(f"  availability   {model.format_percent(value)}%")
    typer.echo(f"  nines          {model.format_nines(value)}")
    typer.echo(f"  downtime/year  {model.format_downtime(model.downtime_seconds_per_year(value))}")


def _topology_json(result: model.TopologyAvailability, regions: list[str]) -> dict:
    return {
        "mode": "topology",
        "basis": model.COMMITMENTS_NOTE,
        "regions": regions,
        "region_count": result.region_count,
        "components": {
            c.name: {"service": c.service, "scope": c.scope, "percent": float(c.percent),
                     "source": c.source, "overridden": c.overridden}
            for c in result.components.values()
        },
        "region": model.figures(result.region),
        "regions_parallel": model.figures(result.regions),
        "whole": model.figures(result.whole),
    }


def _print_topology(result: model.TopologyAvailability, regions: list[str], config: str) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    # Four narrow columns keep the source URLs on one line in an 80-column terminal.
    components = Table(title=escape(f"{config}: {len(regions)} regions ({', '.join(regions)})"),
                       caption=model.COMMITMENTS_NOTE)
    components.add_column("component", no_wrap=True)
    components.add_column("scope", no_wrap=True)
    components.add_column("SLA %", justify="right", no_wrap=True)
    components.add_column("source", overflow="fold")
    for c in result.components.values():
        components.add_row(c.name, c.scope, model.format_percent(c.availability) + ("*" if c.overridden else ""),
                           "--component override" if c.overridden else escape(c.source))
    console.print(components)
    for c in result.components.values():
        if c.note and not c.overridden:
            typer.echo(f"  {c.name}: {c.note}")

    composite = Table(title="Composite availability")
    for column in ("level", "availability", "nines", "downtime/year"):
        composite.add_column(column, justify="left" if column in ("level", "downtime/year") else "right",
                             no_wrap=True)
    global_names = " x ".join(c.name for c in result.components.values() if c.scope == "global")
    rows = [
        ("one region", result.region),
        (f"{result.region_count} regions, parallel", result.regions),
        (f"whole: {global_names} x regions" if global_names else "whole", result.whole),
    ]
    for level, value in rows:
        composite.add_row(level, model.format_percent(value) + "%", model.format_nines(value),
                          model.format_downtime(model.downtime_seconds_per_year(value)))
    console.print(composite)
    region_names = " x ".join(c.name for c in result.components.values() if c.scope == "region")
    typer.echo(f"model: region = {region_names} (series)")
    typer.echo(f"       regions = 1 - (1 - region)^{result.region_count} (parallel); failures assumed independent")
    typer.echo(f"note: {model.COMMITMENTS_NOTE}")
