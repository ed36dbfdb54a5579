"""The numbers every benchmark reports, computed one way: medians of repeated runs, p50/p99 by the
nearest-rank method, and the README table each module renders.

Nearest rank: the p-th percentile of n sorted samples is the sample at rank ceil(p/100 * n)
(1-based), so it is always an observed value, never an interpolation; p99 of 100 samples is the
99th smallest, of 7 samples the largest. The median is statistics.median (the mean of the two
middle values for an even count), used for "median of N runs" where N is small and odd anyway.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence

COLUMNS = ("measure", "value", "baseline", "ratio", "target")


def median(samples: Iterable[float]) -> float:
    values = list(samples)
    if not values:
        raise ValueError("median of no samples")
    return float(statistics.median(values))


def percentile(samples: Iterable[float], p: float) -> float:
    """The nearest-rank p-th percentile, 0 < p <= 100."""
    values = sorted(samples)
    if not values:
        raise ValueError("percentile of no samples")
    if not 0 < p <= 100:
        raise ValueError(f"percentile {p} is outside (0, 100]")
    rank = math.ceil(p / 100 * len(values))
    return float(values[rank - 1])


def summary(samples: Sequence[float]) -> dict[str, float | int]:
    """count, min, p50, p99, max (and the median) of one series of samples."""
    return {"count": len(samples), "min": float(min(samples)), "p50": percentile(samples, 50),
            "median": median(samples), "p99": percentile(samples, 99), "max": float(max(samples))}


def summary_ms(seconds: Sequence[float], digits: int = 2) -> dict[str, float | int]:
    """summary() of durations in seconds, reported in milliseconds (the count left alone)."""
    return {key: value if key == "count" else round(value * 1000, digits)
            for key, value in summary(seconds).items()}


def ratio(value: float, baseline: float) -> float | None:
    return None if not baseline else value / baseline


def verdict(met: bool | None) -> str:
    """The word the target column ends with (None: not judged, e.g. a quick run)."""
    return "" if met is None else ("met" if met else "NOT met")


def table(title: str, rows: Sequence[Sequence[object]]) -> str:
    """A bold title line and a GitHub table with the contract's five columns; None prints as '-'."""
    lines = [f"**{title}**", "", "| " + " | ".join(COLUMNS) + " |", "| " + " | ".join("---" for _ in COLUMNS) + " |"]
    for row in rows:
        if len(row) != len(COLUMNS):
            raise ValueError(f"a row needs {len(COLUMNS)} cells, got {len(row)}: {row!r}")
        lines.append("| " + " | ".join("-" if cell is None or cell == "" else str(cell) for cell in row) + " |")
    return "\n".join(lines)
