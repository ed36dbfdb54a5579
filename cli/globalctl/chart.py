"""A traffic timeline as one self-contained SVG: the requests each region answered per time bucket
(a line per region), the failed requests in a lane below, the fault window shaded and the failover
moment marked. The drill and the chaos suite save one beside their JSON and the README shows them,
so the file fetches nothing: no font, script or stylesheet, only the generic sans-serif family.

Readable without colour: every region has its own dash pattern and marker shape and is named at
the end of its line, failed requests are hatched, and the window and the failover are labelled in
words. The <title> and <desc> say what the chart shows for a screen reader.

Pure and standard library only: timeline() buckets request events, render_timeline() draws.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

NO_ANSWER = "no answer"  # failed requests no region answered (refused, reset, timed out)
MIN_BUCKETS = 20  # a 10 s drill in 0.5 s buckets: a sub-second drain failover still shows
BUCKET_CHOICES = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

WIDTH, HEIGHT = 960, 480
LEFT, PLOT_RIGHT = 70, 800  # the region labels go right of the plot
TOP, PLOT_BOTTOM = 104, 318
LANE_TOP, LANE_BOTTOM = 340, 408
CHAR_W = 6.6  # the width of a 12 px sans-serif character, near enough to keep labels apart
LABEL_ROW = 15

# Okabe-Ito colours (distinguishable with the common colour deficiencies); red is for errors.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#000000")
DASHES = ("", "9 4", "2 3", "10 3 2 3", "5 5", "14 3 2 3 2 3")
SHAPES = ("circle", "square", "triangle", "diamond", "cross", "triangle-down")
ERROR_RED = "#B2182B"


@dataclass(frozen=True)
class Timeline:
    """Requests per region per bucket from 0 s: what a chart needs, small enough for a report."""

    bucket_s: float
    regions: dict[str, tuple[list[int], list[int]]]  # region -> (answered, failed) per bucket
    end_s: float | None = None  # the last request: the last bucket is only partly covered

    def series(self) -> dict[str, list[tuple[float, int, int]]]:
        return {region: [(round(i * self.bucket_s, 6), ok, failed) for i, (ok, failed) in enumerate(zip(*counts))]
                for region, counts in self.regions.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"bucket_s": self.bucket_s, "end_s": self.end_s,
                "regions": {region: {"ok": ok, "errors": failed} for region, (ok, failed) in self.regions.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Timeline:
        return cls(float(data["bucket_s"]),
                   {region: (list(c["ok"]), list(c["errors"])) for region, c in data["regions"].items()},
                   data.get("end_s"))


def bucket_seconds(span: float) -> float:
    """The widest round bucket that still cuts `span` seconds into MIN_BUCKETS."""
    fitting = [b for b in BUCKET_CHOICES if span / b >= MIN_BUCKETS]
    return fitting[-1] if fitting else BUCKET_CHOICES[0]


def timeline(events: Iterable[tuple[float, str, bool]], bucket_s: float | None = None) -> Timeline:
    """Bucket (seconds since start, region, answered ok) events; every region gets every bucket, so
    a region that stopped serving shows as a line down to 0, not as a gap."""
    events = list(events)
    end = max((t for t, _, _ in events), default=0.0)
    size = bucket_s or bucket_seconds(end)
    count = int(max(0.0, end) // size) + 1 if events else 0
    regions: dict[str, tuple[list[int], list[int]]] = {}
    for t, region, ok in events:
        ok_counts, failed_counts = regions.setdefault(region, ([0] * count, [0] * count))
        (ok_counts if ok else failed_counts)[int(max(0.0, t) // size)] += 1
    ordered = dict(sorted(regions.items(), key=lambda kv: (kv[0] == NO_ANSWER, kv[0])))
    return Timeline(size, ordered, round(end, 3) if events else None)


@dataclass(frozen=True)
class Marker:
    """A moment worth a vertical line and its label (a restore, an alarm)."""

    at: float
    label: str


def render_timeline(title: str, series_by_region: dict[str, list[tuple[float, int, int]]], *,
                    bucket_s: float = 1.0, end_s: float | None = None, window: tuple[float, float] | None = None,
                    window_label: str = "fault window", failover_at: float | None = None,
                    failover_label: str = "failover", markers: Sequence[Marker] = (), desc: str = "") -> str:
    """The SVG text. Series points are (bucket start s, answered, failed); end_s, the last request,
    says how much of the last bucket the traffic covered."""
    answered = {r: sum(p[1] for p in points) for r, points in series_by_region.items()}
    failed = {r: sum(p[2] for p in points) for r, points in series_by_region.items()}
    moments = [*([Marker(failover_at, failover_label)] if failover_at is not None else []), *markers]
    summary = _summary(answered, failed, bucket_s, window, window_label, moments)
    out = [_head(title, f"{desc} {summary}".strip()), _text(LEFT, 30, title, size=18, weight="bold")]
    if not any(answered.values()) and not any(failed.values()):
        out.append(_text((LEFT + PLOT_RIGHT) / 2, (TOP + LANE_BOTTOM) / 2, "no requests", size=16, anchor="middle"))
        return "\n".join(out + ["</svg>", ""])
    rates = {region: _rates(points, bucket_s, end_s) for region, points in series_by_region.items()}
    ends = [min(t + bucket_s, end_s if end_s is not None else math.inf)
            for points in series_by_region.values() for t, _, _ in points]
    ends += [*(window or ()), *(m.at for m in moments)]
    x = _Scale(0.0, max(ends), LEFT, PLOT_RIGHT)
    y_ticks = _ticks(max((r for points in rates.values() for _, r in points), default=0), 5, cover=True,
                     least_step=1)
    # Headroom above the top tick for the window's and the moments' labels.
    y = _Scale(0.0, y_ticks[-1], PLOT_BOTTOM, TOP + 2 * LABEL_ROW + 6)
    if window:
        out.append(_tag("rect", {"class": "fault-window", "x": _n(x(window[0])), "y": TOP,
                                 "width": _n(x(window[1]) - x(window[0])), "height": LANE_BOTTOM - TOP,
                                 "fill": "#000000", "fill-opacity": "0.09"}))
    out += _axes(x, y, y_ticks, bucket_s)
    out += _error_lane(x, series_by_region, bucket_s)
    styles = {region: i for i, region in enumerate(series_by_region)}
    out += _legend(styles)
    for region, points in rates.items():
        out.append(_region_line(region, styles[region], points, x, y))
    out += _end_labels(rates, styles, y)
    out += _moments(x, window, window_label, failover_at, failover_label, markers)
    return "\n".join(out + ["</svg>", ""])


def _rates(points: list[tuple[float, int, int]], bucket_s: float, end_s: float | None) -> list[tuple[float, float]]:
    """(middle of the bucket, requests answered per second): per second, so that a last bucket the
    traffic covered only in part does not read as a drop; one it barely covered is left out."""
    out = []
    for t, ok, _ in points:
        covered = bucket_s if end_s is None else min(bucket_s, end_s - t)
        if covered >= bucket_s / 4:
            out.append((t + covered / 2, ok / covered))
    return out


class _Scale:
    def __init__(self, lo: float, hi: float, a: float, b: float):
        self.lo, self.span, self.a, self.b = lo, (hi - lo) or 1.0, a, b

    def __call__(self, v: float) -> float:
        return self.a + (v - self.lo) / self.span * (self.b - self.a)


def _ticks(top: float, most: int, cover: bool = False, least_step: float = 0.0) -> list[float]:
    """0 and round steps (1, 2 or 5 x 10^k, at least least_step) up to top (past it with `cover`,
    so the last tick is at or above the highest value)."""
    raw = max(top, least_step, 1e-9) / most
    power = 10 ** math.floor(math.log10(raw))
    step = max(least_step, next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9)))
    count = max(1, math.ceil(top / step - 1e-9)) if cover else math.floor(top / step + 1e-9)
    return [round(i * step, 6) for i in range(count + 1)]


def _summary(answered: dict[str, int], failed: dict[str, int], bucket_s: float, window: tuple[float, float] | None,
             window_label: str, moments: Sequence[Marker]) -> str:
    """The <desc>: the chart's numbers in words."""
    per_region = ", ".join(f"{r} {n}" for r, n in answered.items()) or "none"
    failed_at = ", ".join(f"{r} {n}" for r, n in failed.items() if n)
    parts = [f"Requests answered per second by each region in {_fmt(bucket_s)} s buckets, one line each "
             f"(answered in all: {per_region}); failed requests per bucket below: {sum(failed.values())}"
             f"{f' ({failed_at})' if failed_at else ''}."]
    if window:
        parts.append(f"{window_label}: {_fmt(window[0])} to {_fmt(window[1])} s.")
    parts += [f"{m.label}: at {_fmt(m.at)} s." for m in moments]
    return " ".join(parts)


def _head(title: str, desc: str) -> str:
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="tl-title tl-desc" font-family="sans-serif" font-size="12">',
        f'<title id="tl-title">{escape(title)}</title>', f'<desc id="tl-desc">{escape(desc)}</desc>',
        '<defs><pattern id="tl-hatch" patternUnits="userSpaceOnUse" width="6" height="6" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#F4C7C3"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{ERROR_RED}" stroke-width="3"/></pattern></defs>',
        _tag("rect", {"width": WIDTH, "height": HEIGHT, "fill": "#FFFFFF"})])


def _axes(x: _Scale, y: _Scale, y_ticks: list[float], bucket_s: float) -> list[str]:
    out = []
    for v in y_ticks:
        out.append(_tag("line", {"x1": LEFT, "x2": PLOT_RIGHT, "y1": _n(y(v)), "y2": _n(y(v)), "stroke": "#DDDDDD"}))
        out.append(_text(LEFT - 6, y(v) + 4, _fmt(v), anchor="end", cls="y-tick"))
    for v in _ticks(x.lo + x.span, 10):
        out.append(_tag("line", {"x1": _n(x(v)), "x2": _n(x(v)), "y1": LANE_BOTTOM, "y2": LANE_BOTTOM + 5,
                                 "stroke": "#333333"}))
        out.append(_text(x(v), LANE_BOTTOM + 18, _fmt(v), anchor="middle", cls="x-tick", x_value=v))
    out.append(_tag("path", {"d": f"M{LEFT},{TOP} V{PLOT_BOTTOM} H{PLOT_RIGHT} M{LEFT},{LANE_BOTTOM} H{PLOT_RIGHT}",
                             "stroke": "#333333", "fill": "none"}))
    out.append(_text((LEFT + PLOT_RIGHT) / 2, LANE_BOTTOM + 38, "seconds since the traffic started", anchor="middle"))
    middle = (TOP + PLOT_BOTTOM) / 2
    out.append(_text(18, middle, f"requests answered per second ({_fmt(bucket_s)} s buckets)", anchor="middle",
                     transform=f"rotate(-90 18 {_n(middle)})"))
    return out


def _error_lane(x: _Scale, series: dict[str, list[tuple[float, int, int]]], bucket_s: float) -> list[str]:
    totals: dict[float, int] = {}
    for points in series.values():
        for t, _, failed in points:
            totals[t] = totals.get(t, 0) + failed
    most = max(totals.values(), default=0)
    middle = (LANE_TOP + LANE_BOTTOM) / 2
    out = [_text(LEFT - 6, middle, "failed", anchor="end"), _text(LEFT - 6, middle + 14, f"per {_fmt(bucket_s)} s",
                                                                  anchor="end")]
    if not most:
        return out + [_text((LEFT + PLOT_RIGHT) / 2, (LANE_TOP + LANE_BOTTOM) / 2 + 4, "no failed request",
                            anchor="middle", cls="no-errors")]
    out.append(_text(LEFT - 6, LANE_TOP + 4, str(most), anchor="end", cls="error-max"))
    for t, n in sorted(totals.items()):
        if n:
            height = (LANE_BOTTOM - LANE_TOP) * n / most
            right = min(x(t + bucket_s), PLOT_RIGHT)  # the last bucket may end past the traffic
            out.append(_tag("rect", {"class": "errors", "x": _n(x(t)), "y": _n(LANE_BOTTOM - height),
                                     "width": _n(max(1.0, right - x(t) - 1)), "height": _n(height),
                                     "fill": "url(#tl-hatch)", "stroke": ERROR_RED, "stroke-width": "0.8"},
                            f"<title>{n} failed at {_fmt(t)}-{_fmt(t + bucket_s)} s</title>"))
    return out


def _legend(styles: dict[str, int]) -> list[str]:
    items = [(region, _text_width(region) + 46) for region in styles] + [("failed requests", 130)]
    out, at, row = [], float(LEFT), 0
    for name, width in items:
        if at + width > PLOT_RIGHT and at > LEFT:
            at, row = float(LEFT), row + 1
        y = 56 + row * 18
        if name in styles:
            i = styles[name]
            out.append(_tag("line", {"x1": _n(at), "x2": _n(at + 30), "y1": y, "y2": y, "stroke": _colour(i),
                                     "stroke-width": 2, **_dash(i)}))
            out.append(_shape(i, at + 15, y))
        else:
            out.append(_tag("rect", {"x": _n(at + 8), "y": y - 6, "width": 14, "height": 12,
                                     "fill": "url(#tl-hatch)", "stroke": ERROR_RED}))
        out.append(_text(at + 36, y + 4, name, cls="legend"))
        at += width
    return out


def _region_line(region: str, i: int, points: list[tuple[float, float]], x: _Scale, y: _Scale) -> str:
    xy = [(x(t), y(rate)) for t, rate in points]
    d = " ".join(f"{'M' if k == 0 else 'L'}{_n(px)},{_n(py)}" for k, (px, py) in enumerate(xy))
    # A marker every few points, shifted per region so overlapping lines still show each shape.
    every = max(1, math.ceil(len(xy) / 12))
    shapes = [_shape(i, px, py) for k, (px, py) in enumerate(xy) if (k + i * every // 3) % every == 0]
    line = _tag("path", {"class": "region", "data-region": region, "d": d or "M0,0", "fill": "none",
                         "stroke": _colour(i), "stroke-width": 2, **_dash(i)})
    return "\n".join([f"<g>{_tag('title', {}, escape(region))}", line, *shapes, "</g>"])


def _end_labels(series: dict[str, list[tuple[float, float]]], styles: dict[str, int], y: _Scale) -> list[str]:
    """Each region named right of its line's last point, nudged apart so no two overlap."""
    wanted = sorted((y(points[-1][1]) if points else PLOT_BOTTOM, region) for region, points in series.items())
    placed: list[tuple[float, str]] = []
    for want, region in wanted:
        placed.append((max(want, placed[-1][0] + LABEL_ROW) if placed else want, region))
    shift = max(0.0, placed[-1][0] - PLOT_BOTTOM) if placed else 0.0
    out = []
    for at, region in placed:
        at = max(TOP, at - shift)
        out.append(_shape(styles[region], PLOT_RIGHT + 12, at))
        out.append(_text(PLOT_RIGHT + 21, at + 4, region, cls="region-label"))
    return out


def _moments(x: _Scale, window: tuple[float, float] | None, window_label: str, failover_at: float | None,
             failover_label: str, markers: Sequence[Marker]) -> list[str]:
    """The failover and markers as vertical lines; their labels and the window's in rows above the
    plot, a row lower whenever a label would overlap the one before it."""
    labels: list[tuple[float, str, str]] = []
    out = []
    if window:
        labels.append((x(window[0]) + 4, window_label, "window-label"))
    lines = ([(failover_at, failover_label, "failover", "6 3", 2)] if failover_at is not None else [])
    lines += [(m.at, m.label, "marker", "2 3", 1.5) for m in markers]
    for at, label, cls, dash, width in lines:
        out.append(_tag("line", {"class": cls, "x1": _n(x(at)), "x2": _n(x(at)), "y1": TOP - 6, "y2": LANE_BOTTOM,
                                 "stroke": "#000000", "stroke-width": width, "stroke-dasharray": dash}))
        labels.append((x(at) + 4, label, f"{cls}-label"))
    row_ends: list[float] = []
    for left, label, cls in sorted(labels):
        width = _text_width(label, bold=True)
        # Right of its line when it fits in the picture, else left of it.
        anchor, at = ("start", left) if left + width < WIDTH - 4 else ("end", left - 8)
        left = at if anchor == "start" else at - width
        row = next((k for k, end in enumerate(row_ends) if left > end + 6), len(row_ends))
        row_ends[row:row + 1] = [left + width]
        out.append(_text(at, TOP + 12 + row * LABEL_ROW, label, cls=cls, weight="bold", anchor=anchor))
    return out


def _shape(i: int, cx: float, cy: float) -> str:
    kind, colour, r = SHAPES[i % len(SHAPES)], _colour(i), 4.0
    corners = {"square": [(-r, -r), (r, -r), (r, r), (-r, r)], "triangle": [(0, -r - 1), (r + 1, r), (-r - 1, r)],
               "diamond": [(0, -r - 1), (r + 1, 0), (0, r + 1), (-r - 1, 0)],
               "triangle-down": [(0, r + 1), (r + 1, -r), (-r - 1, -r)]}
    if kind == "circle":
        return _tag("circle", {"cx": _n(cx), "cy": _n(cy), "r": r, "fill": colour})
    if kind == "cross":
        return _tag("path", {"d": f"M{_n(cx - r)},{_n(cy - r)} L{_n(cx + r)},{_n(cy + r)} "
                                  f"M{_n(cx - r)},{_n(cy + r)} L{_n(cx + r)},{_n(cy - r)}",
                             "stroke": colour, "stroke-width": 2.5})
    points = " ".join(f"{_n(cx + dx)},{_n(cy + dy)}" for dx, dy in corners[kind])
    return _tag("polygon", {"points": points, "fill": colour})


def _colour(i: int) -> str:
    return COLOURS[i % len(COLOURS)]


def _dash(i: int) -> dict[str, str]:
    dash = DASHES[i % len(DASHES)]
    return {"stroke-dasharray": dash} if dash else {}


def _text(x: float, y: float, text: str, *, size: int | None = None, anchor: str | None = None,
          weight: str | None = None, cls: str | None = None, transform: str | None = None,
          x_value: float | None = None) -> str:
    attrs = {"x": _n(x), "y": _n(y), "font-size": size, "text-anchor": anchor, "font-weight": weight,
             "class": cls, "transform": transform, "data-value": None if x_value is None else _fmt(x_value)}
    # A white halo keeps a label readable where it crosses a line or the shaded window.
    attrs.update({"stroke": "#FFFFFF", "stroke-width": 3, "paint-order": "stroke", "fill": "#111111"})
    return _tag("text", attrs, escape(text))


def _tag(name: str, attrs: dict[str, Any], inner: str | None = None) -> str:
    rendered = "".join(f" {k}={quoteattr(str(v))}" for k, v in attrs.items() if v is not None)
    return f"<{name}{rendered}/>" if inner is None else f"<{name}{rendered}>{inner}</{name}>"


def _text_width(text: str, bold: bool = False) -> float:
    return CHAR_W * len(text) * (1.1 if bold else 1.0)


def _n(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _fmt(v: float) -> str:
    return f"{round(v, 3):g}"
