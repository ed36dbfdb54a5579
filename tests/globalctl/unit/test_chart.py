"""The timeline chart: request events bucketed per region, and the SVG read back as XML: a line per
region with its own dash and shape, the fault window and the failover moment where the x axis puts
those seconds, failed requests in their lane, text escaped, nothing fetched from outside."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from globalctl import chart

SVG = "{http://www.w3.org/2000/svg}"
EU, US, AP = "eu-west-1", "us-east-1", "ap-southeast-1"


def outage_events() -> list[tuple[float, str, bool]]:
    """Ten requests a second for 30 s: eu-west-1 and us-east-1 share them until eu-west-1 fails at
    10 s; its requests fail until the failover at 14 s; us-east-1 takes them all after that."""
    events = []
    for k in range(300):
        t = k / 10
        region = (EU if k % 2 else US) if t < 14 else US
        events.append((t, region, not (10 <= t < 14 and region == EU)))
    return events


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def tick_x(root: ET.Element, seconds: float) -> float:
    ticks = {float(t.get("data-value")): float(t.get("x")) for t in by_class(root, "text", "x-tick")}
    return ticks[seconds]


def by_class(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if e.get("class") == cls]


def texts(root: ET.Element, cls: str) -> list[str]:
    return [t.text for t in by_class(root, "text", cls)]


def draw(events=None, **moments) -> ET.Element:
    timeline = chart.timeline(outage_events() if events is None else events, 1.0)
    return parse(chart.render_timeline("chaos: outage", timeline.series(), bucket_s=timeline.bucket_s,
                                       end_s=timeline.end_s, **moments))


# --- bucketing ---------------------------------------------------------------------------------------

def test_timeline_counts_answered_and_failed_per_region_per_bucket_with_zeros_where_a_region_got_none():
    timeline = chart.timeline(outage_events(), 1.0)
    assert list(timeline.regions) == [EU, US]
    eu_ok, eu_failed = timeline.regions[EU]
    us_ok, us_failed = timeline.regions[US]
    assert len(eu_ok) == len(us_ok) == 30  # every region has every bucket
    assert eu_ok[:10] == [5] * 10 and eu_ok[10:] == [0] * 20
    assert eu_failed[10:14] == [5] * 4 and sum(eu_failed) == 20
    assert us_ok[:14] == [5] * 14 and us_ok[14:] == [10] * 16 and sum(us_failed) == 0
    assert timeline.end_s == pytest.approx(29.9)
    assert chart.Timeline.from_dict(timeline.to_dict()) == timeline
    series = timeline.series()[EU]
    assert series[10] == (10.0, 0, 5) and series[0][0] == 0.0 and series[29][0] == 29.0


def test_requests_no_region_answered_come_last_and_the_bucket_fits_the_span():
    timeline = chart.timeline([(0.2, chart.NO_ANSWER, False), (0.4, US, True), (0.1, AP, True)], 0.5)
    assert list(timeline.regions) == [AP, US, chart.NO_ANSWER]
    assert chart.bucket_seconds(10.6) == 0.5 and chart.bucket_seconds(60.3) == 2.0
    assert chart.bucket_seconds(1.0) == chart.BUCKET_CHOICES[0]
    assert chart.timeline([]) == chart.Timeline(chart.BUCKET_CHOICES[0], {}, None)


# --- the picture -------------------------------------------------------------------------------------

def test_the_svg_has_a_title_a_desc_and_one_line_per_region_each_dashed_and_named_differently():
    root = draw(window=(10.0, 20.0), window_label="eu-west-1 outage", failover_at=14.0, failover_label="failover 4 s")
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root[0].tag == f"{SVG}title" and root[0].text == "chaos: outage"
    desc = root[1].text
    assert root[1].tag == f"{SVG}desc"
    assert "eu-west-1 outage: 10 to 20 s" in desc and "failover 4 s: at 14 s" in desc
    assert f"failed requests per bucket below: 20 ({EU} 20)" in desc
    lines = by_class(root, "path", "region")
    assert [line.get("data-region") for line in lines] == [EU, US]
    assert len({line.get("stroke-dasharray") for line in lines}) == 2  # told apart without colour
    assert texts(root, "region-label") == [US, EU]  # us-east-1's line ends higher
    assert [t for t in texts(root, "legend")] == [EU, US, "failed requests"]


@pytest.mark.parametrize("regions", [[EU, US, AP], [EU, US, AP, "us-west-2", "eu-central-1", "sa-east-1"]])
def test_no_region_is_dropped_and_no_two_look_alike(regions):
    events = [(k / 10, regions[k % len(regions)], True) for k in range(200)]
    root = draw(events)
    lines = by_class(root, "path", "region")
    assert sorted(line.get("data-region") for line in lines) == sorted(regions)
    assert sorted(texts(root, "region-label")) == sorted(regions)
    assert len({(line.get("stroke-dasharray"), line.get("stroke")) for line in lines}) == len(regions)


def test_the_window_and_the_failover_line_sit_where_the_axis_puts_their_seconds():
    root = draw(window=(10.0, 20.0), window_label="eu-west-1 outage", failover_at=14.0, failover_label="failover 4 s")
    (window,) = by_class(root, "rect", "fault-window")
    assert float(window.get("x")) == pytest.approx(tick_x(root, 10), abs=0.1)
    assert float(window.get("x")) + float(window.get("width")) == pytest.approx(tick_x(root, 20), abs=0.1)
    (failover,) = by_class(root, "line", "failover")
    between = tick_x(root, 10) + 0.4 * (tick_x(root, 20) - tick_x(root, 10))
    assert float(failover.get("x1")) == pytest.approx(between, abs=0.1)
    assert texts(root, "window-label") == ["eu-west-1 outage"] and texts(root, "failover-label") == ["failover 4 s"]


def test_a_line_follows_its_region_down_to_zero_when_it_stops_answering():
    root = draw()
    (eu,) = [p for p in by_class(root, "path", "region") if p.get("data-region") == EU]
    ys = [float(y) for y in re.findall(r"[ML][\d.]+,([\d.]+)", eu.get("d"))]
    zero = max(float(t.get("y")) for t in by_class(root, "text", "y-tick")) - 4  # the 0 tick's baseline
    assert len(ys) == 30 and all(y == pytest.approx(zero, abs=0.2) for y in ys[10:])
    assert all(y < zero - 50 for y in ys[:10])


def test_failed_requests_are_hatched_bars_in_their_own_lane_as_tall_as_their_count():
    root = draw()
    bars = by_class(root, "rect", "errors")
    assert len(bars) == 4 and all(bar.get("fill") == "url(#tl-hatch)" for bar in bars)
    per_second = (tick_x(root, 20) - tick_x(root, 10)) / 10
    assert [float(b.get("x")) for b in bars] == pytest.approx([tick_x(root, 10) + k * per_second for k in range(4)],
                                                              abs=0.3)
    assert len({b.get("height") for b in bars}) == 1 and texts(root, "error-max") == ["5"]
    assert texts(draw([(0.5, EU, True)]), "no-errors") == ["no failed request"]


def test_a_last_bucket_the_traffic_covered_in_part_is_drawn_as_a_rate_not_a_drop():
    timeline = chart.timeline([(k / 10, EU, True) for k in range(95)], 1.0)  # 10 a second until 9.4 s

    def last_to_first(end_s):
        root = parse(chart.render_timeline("t", timeline.series(), bucket_s=1.0, end_s=end_s))
        (line,) = by_class(root, "path", "region")
        ys = [float(y) for y in re.findall(r"[ML][\d.]+,([\d.]+)", line.get("d"))]
        zero = max(float(t.get("y")) for t in by_class(root, "text", "y-tick")) - 4
        return (zero - ys[-1]) / (zero - ys[0])

    assert 0.9 <= last_to_first(timeline.end_s) <= 1.3  # 5 requests in the 0.4 s covered
    assert last_to_first(None) == pytest.approx(0.5, abs=0.02)  # as if the bucket were whole: a false drop


def test_labels_of_close_moments_go_on_separate_rows_and_stay_inside_the_picture():
    root = draw(window=(10.0, 20.0), window_label="eu-west-1 outage with a long label",
                failover_at=10.5, failover_label="failover 0.5 s",
                markers=[chart.Marker(29.8, "eu-west-1 serves again 0.3 s after the restore")])
    rows = {t.text: float(t.get("y")) for t in root.iter(f"{SVG}text") if (t.get("class") or "").endswith("-label")
            and t.get("class") != "region-label"}
    assert rows["eu-west-1 outage with a long label"] != rows["failover 0.5 s"]
    (marker_label,) = by_class(root, "text", "marker-label")
    assert marker_label.get("text-anchor") == "end" and float(marker_label.get("x")) <= chart.WIDTH
    assert len(by_class(root, "line", "marker")) == 1


def test_titles_and_region_names_are_escaped():
    name, title = 'eu<&>"1', 'drill <script>alert("x")</script> & more'
    timeline = chart.timeline([(0.1, name, True), (0.2, name, False)], 0.5)
    svg = chart.render_timeline(title, timeline.series(), bucket_s=0.5, window=(0.0, 0.3),
                                window_label=f"{name} outage")
    root = parse(svg)
    assert root[0].text == title and not list(root.iter(f"{SVG}script")) and "<script>" not in svg
    assert [p.get("data-region") for p in by_class(root, "path", "region")] == [name]
    assert texts(root, "region-label") == [name] and texts(root, "window-label") == [f"{name} outage"]


def test_the_svg_is_self_contained():
    svg = chart.render_timeline("t", chart.timeline(outage_events(), 1.0).series(), failover_at=14.0)
    root = parse(svg)
    assert not any(e.tag in (f"{SVG}script", f"{SVG}style", f"{SVG}image", f"{SVG}foreignObject") for e in root.iter())
    values = [v for e in root.iter() for k, v in e.attrib.items()]
    assert all(v == "url(#tl-hatch)" for v in values if "url(" in v)
    assert not any("href" in k for e in root.iter() for k in e.attrib)
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_no_requests_is_a_chart_that_says_so():
    for series in ({}, {EU: []}, {EU: [(0.0, 0, 0)]}):
        root = parse(chart.render_timeline("drill", series, window=(1.0, 2.0), failover_at=1.5))
        assert "no requests" in [t.text for t in root.iter(f"{SVG}text")]
        assert root[0].text == "drill" and not by_class(root, "path", "region")
