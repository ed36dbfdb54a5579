"""Composite availability math: series, parallel, nines, downtime, percent formatting, overrides."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction as F

import pytest
from hypothesis import given
from hypothesis import strategies as st

from globalctl import availability as av

unit = st.fractions(min_value=0, max_value=1, max_denominator=10**9)
units = st.lists(unit, min_size=1, max_size=8)
below_one = st.fractions(min_value=0, max_value=1, max_denominator=10**12).filter(lambda a: a < 1)


# --- series and parallel -----------------------------------------------------------------------


def test_series_known_value():
    assert av.series([F("0.99"), F("0.9999")]) == F("0.989901")


def test_parallel_known_value():
    assert av.parallel([F("0.99"), F("0.99")]) == F("0.9999")


def test_parallel_of_three_regions_is_one_minus_the_product_of_unavailabilities():
    assert av.parallel([F("0.999")] * 3) == 1 - F(1, 10**9)


def test_single_input_is_itself():
    assert av.series([F("0.9995")]) == av.parallel([F("0.9995")]) == F("0.9995")


def test_accepts_floats_and_ints():
    assert av.series([0.5, 0.5]) == F(1, 4)
    assert av.parallel([0.5, 0.5]) == F(3, 4)
    assert av.series([1, 1]) == 1 and av.parallel([0, 0]) == 0


def test_an_always_down_component_sinks_a_series_and_an_always_up_one_saves_a_parallel():
    assert av.series([F("0.99"), 0]) == 0
    assert av.parallel([F("0.5"), 1]) == 1


@pytest.mark.parametrize("bad", [[], [F(-1, 10)], [F(11, 10)], [1.5]])
def test_rejects_empty_or_out_of_range(bad):
    with pytest.raises(ValueError):
        av.series(bad)
    with pytest.raises(ValueError):
        av.parallel(bad)


def test_rejects_strings():
    with pytest.raises(TypeError):
        av.series(["0.9"])


@given(units)
def test_series_is_at_most_the_weakest_component(values):
    assert av.series(values) <= min(values)


@given(units)
def test_parallel_is_at_least_the_strongest_alternative(values):
    assert av.parallel(values) >= max(values)


@given(units)
def test_parallel_is_the_complement_of_the_series_of_unavailabilities(values):
    assert av.parallel(values) == 1 - av.series([1 - v for v in values])


@given(units, unit)
def test_adding_a_component_never_helps_a_series_nor_hurts_a_parallel(values, extra):
    assert av.series([*values, extra]) <= av.series(values)
    assert av.parallel([*values, extra]) >= av.parallel(values)


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=6))
def test_properties_hold_exactly_for_float_inputs(values):
    # A float implementation gets parallel([0.1, 0.0]) = 0.09999999999999998 < 0.1.
    assert av.parallel(values) >= max(F(v) for v in values)
    assert av.series(values) <= min(F(v) for v in values)


# --- nines -------------------------------------------------------------------------------------


@pytest.mark.parametrize("pct, expected", [("90", 1.0), ("99", 2.0), ("99.9", 3.0), ("99.99", 4.0),
                                           ("99.999", 5.0), ("99.9999999", 9.0)])
def test_nines_of_round_figures(pct, expected):
    assert av.nines(F(pct) / 100) == pytest.approx(expected, abs=1e-12)
    assert av.format_nines(F(pct) / 100) == f"{expected:.1f}"


def test_nines_of_99_95_is_log_of_2000():
    assert av.nines(F("0.9995")) == pytest.approx(math.log10(2000))
    assert av.format_nines(F("0.9995")) == "3.3"


def test_nines_are_rounded_down_to_one_decimal():
    # 99.9989 % is 4.96 nines: "5.0" would claim five nines it does not have.
    assert av.nines(F("0.999989")) == pytest.approx(4.9586, abs=1e-4)
    assert av.format_nines(F("0.999989")) == "4.9"


def test_nines_of_perfect_and_of_zero():
    assert math.isinf(av.nines(1)) and av.format_nines(1) == "inf"
    assert av.nines(0) == 0


def test_nines_stay_finite_for_tiny_unavailability():
    assert av.nines(1 - F(1, 10**400)) == pytest.approx(400)


# --- downtime ----------------------------------------------------------------------------------


def test_downtime_uses_a_365_25_day_year():
    assert av.downtime_seconds_per_year(F("0.999")) == F("31557.6")
    assert av.downtime_seconds_per_year(1) == 0
    assert av.downtime_seconds_per_year(0) == 365.25 * 86400


@pytest.mark.parametrize("pct, text", [
    ("99", "3 d 15 h 40 min"),  # 5259.6 min
    ("99.9", "8 h 46 min"),  # 525.96 min
    ("99.95", "4 h 23 min"),  # 262.98 min
    ("99.99", "53 min"),  # 52.596 min
    ("99.999", "5 min"),  # 5.2596 min
    ("99.9999", "1 min"),  # 31.56 s
    ("99.99999", "< 1 min"),  # 3.16 s
    ("100", "0 min"),
    ("50", "182 d 15 h"),
])
def test_downtime_per_year_text(pct, text):
    assert av.format_downtime(av.downtime_seconds_per_year(F(pct) / 100)) == text


@pytest.mark.parametrize("seconds, text", [
    (0, "0 min"), (0.001, "< 1 min"), (29.999, "< 1 min"), (30, "1 min"), (89.9, "1 min"), (90, "2 min"),
    (3600, "1 h"), (3629, "1 h"), (3630, "1 h 1 min"), (86400, "1 d"), (86460, "1 d 1 min"),
    (90000, "1 d 1 h"), (86400 * 400 + 59 * 60, "400 d 59 min"),
])
def test_downtime_formatting_edges(seconds, text):
    assert av.format_downtime(seconds) == text


def test_negative_downtime_is_refused():
    with pytest.raises(ValueError):
        av.format_downtime(-1)


@given(st.fractions(min_value=30, max_value=10**9, max_denominator=1000))
def test_downtime_text_reads_back_as_the_rounded_minutes(seconds):
    text = av.format_downtime(seconds)
    units = {"d": 1440, "h": 60, "min": 1}
    total = sum(int(n) * units[u] for n, u in re.findall(r"(\d+) (d|h|min)\b", text))
    assert abs(total - seconds / 60) <= F(1, 2)
    assert re.fullmatch(r"(\d+ d)?( ?([1-9]|1\d|2[0-3]) h)?( ?([1-9]|[1-5]\d) min)?", text)


# --- percent -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, text", [
    (F("0.989901"), "98.9901"), (F("0.9999"), "99.99"), (F("0.9999975"), "99.99975"), (F("0.99"), "99"),
    (F(1), "100"), (F(0), "0"), (F(1, 2), "50"), (F(1, 3), "33.3333"), (F("0.9995"), "99.95"),
    (F("0.9989902599975"), "99.899026"),
])
def test_format_percent(value, text):
    assert av.format_percent(value) == text


@given(below_one)
def test_nothing_short_of_one_prints_as_100(value):
    text = av.format_percent(value)
    assert text != "100" and Decimal(text) < 100


def test_format_percent_far_beyond_decimal_precision():
    text = av.format_percent(1 - F(1, 10**40))
    assert text == "99." + "9" * 38  # 100 - 1e-38


@pytest.mark.parametrize("text, value", [("99.95", F("99.95")), ("99.95%", F("99.95")), (" 100 ", F(100)),
                                         ("1e-3", F(1, 1000)), ("0.5", F(1, 2))])
def test_parse_percent(text, value):
    assert av.parse_percent(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "100.0001", "abc", "nan", "inf", "", "1/2", "99,9"])
def test_parse_percent_refuses(text):
    with pytest.raises(ValueError):
        av.parse_percent(text)


# --- components and the topology -----------------------------------------------------------------


def test_default_figures_are_the_published_commitments_with_their_sources():
    comps = av.DEFAULT_COMPONENTS
    assert {name: c.percent for name, c in comps.items()} == {
        "route53": 100, "apigateway": F("99.95"), "lambda": F("99.95"), "dynamodb": F("99.999")}
    assert {name: c.scope for name, c in comps.items()} == {
        "route53": "global", "apigateway": "region", "lambda": "region", "dynamodb": "region"}
    for name, c in comps.items():
        assert re.fullmatch(r"https://aws\.amazon\.com/[a-z0-9-]+/sla/", c.source), name
        assert not c.overridden


def test_overrides_replace_only_the_named_figure():
    comps = av.with_overrides(["Lambda=99.99", "route53 = 99.9%"])
    assert comps["lambda"].percent == F("99.99") and comps["lambda"].overridden
    assert comps["route53"].percent == F("99.9") and comps["route53"].overridden
    assert comps["apigateway"] == av.DEFAULT_COMPONENTS["apigateway"]
    assert av.DEFAULT_COMPONENTS["lambda"].percent == F("99.95")  # defaults untouched


def test_the_last_override_of_a_name_wins():
    assert av.with_overrides(["lambda=99", "lambda=98"])["lambda"].percent == 98


@pytest.mark.parametrize("entry, message", [
    ("cloudwatch=99.9", "unknown component 'cloudwatch'"),
    ("lambda", "expected NAME=PCT"),
    ("lambda=0", "outside (0, 100]"),
    ("lambda=100.5", "outside (0, 100]"),
    ("lambda=fast", "not a percentage"),
])
def test_bad_overrides_name_the_entry(entry, message):
    with pytest.raises(ValueError) as exc:
        av.with_overrides([entry])
    assert message in str(exc.value) and repr(entry) in str(exc.value)


def test_topology_with_the_default_figures():
    result = av.topology_availability(3)
    region = F("0.9995") * F("0.9995") * F("0.99999")
    assert result.region == region
    assert result.regions == 1 - (1 - region) ** 3
    assert result.whole == result.regions  # Route 53's commitment is 100 %
    assert result.region_count == 3


def test_route53_is_in_series_with_the_regions_not_inside_them():
    comps = av.with_overrides(["route53=99.99"])
    result = av.topology_availability(2, comps)
    assert result.region == av.topology_availability(2).region
    assert result.whole == F("0.9999") * result.regions


def test_more_regions_raise_availability_and_one_region_is_just_the_series():
    one, two, six = (av.topology_availability(n) for n in (1, 2, 6))
    assert one.whole == one.region
    assert one.whole < two.whole < six.whole < 1


def test_a_topology_needs_a_region():
    with pytest.raises(ValueError):
        av.topology_availability(0)


def test_figures_for_json():
    out = av.figures(F("0.9999"))
    assert out == {"availability": 0.9999, "percent": "99.99", "unavailability": pytest.approx(0.0001),
                   "nines": 4.0, "downtime_seconds_per_year": 3155.76, "downtime_per_year": "53 min"}
    assert av.figures(1)["nines"] is None
