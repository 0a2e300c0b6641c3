"""The Decision 766 estimate: points at the boundaries, bands, coverage, a checked configuration."""

from __future__ import annotations

from fractions import Fraction
from importlib import resources

import pytest

from kpi import index766
from kpi.index766 import ConfigError, estimate, indicator_points, load

CONFIG = load()
INDICATORS = {i.kpi: i for g in CONFIG.groups for i in g.indicators}
FULL = {kpi: Fraction(1) for kpi in INDICATORS}


def test_the_groups_computable_from_events():
    assert {g.key: g.max_points for g in CONFIG.groups} == {
        "progress": 20,
        "online_services": 12,
        "online_payment": 10,
        "digitization": 22,
        "satisfaction": 6,
    }
    assert CONFIG.covered_max == 70
    assert {u.key: u.points for u in CONFIG.not_covered} == {"publicity": 18, "satisfaction_other": 12}


@pytest.mark.parametrize(
    ("kpi", "rate", "points"),
    [
        # on time: linear, 20 x rate
        ("on_time_rate", Fraction(0), 0),
        ("on_time_rate", Fraction(19, 20), 19),
        ("on_time_rate", Fraction(1), 20),
        # online submission: full points from 50 %
        ("online_submission_rate", Fraction(1, 4), 3),
        ("online_submission_rate", Fraction(49, 100), Fraction(147, 25)),
        ("online_submission_rate", Fraction(1, 2), 6),
        ("online_submission_rate", Fraction(9, 10), 6),
        # from 80 %
        ("services_with_online_apps_rate", Fraction(4, 5), 6),
        ("services_with_online_apps_rate", Fraction(2, 5), 3),
        ("digitization_rate", Fraction(79, 100), Fraction(869, 80)),
        ("digitization_rate", Fraction(4, 5), 11),
        ("data_reuse_rate", Fraction(81, 100), 11),
        # satisfaction from 90 %
        ("satisfaction_rate", Fraction(9, 10), 6),
        ("satisfaction_rate", Fraction(3, 5), 4),
        # online payment from 50 % (our choice)
        ("online_payment_rate", Fraction(1, 2), 10),
        ("online_payment_rate", Fraction(1, 5), 4),
        ("online_payment_rate", None, None),
    ],
)
def test_indicator_points_at_the_boundaries(kpi, rate, points):
    assert indicator_points(INDICATORS[kpi], rate) == points


def test_full_rates_earn_every_covered_point_and_the_top_band():
    result = estimate(FULL)
    assert result.points == 70
    assert (result.covered_max, result.evaluated_max, result.total_points) == (70, 70, 100)
    assert result.score == 100
    assert result.band is not None
    assert (result.band.key, result.band.name_vi, result.band.confirmed) == ("excellent", "Xuất sắc", True)


def test_groups_sum_their_indicators():
    rates = {**FULL, "online_submission_rate": Fraction(1, 4), "data_reuse_rate": Fraction(2, 5)}
    result = estimate(rates)
    points = {g.group.key: g.points for g in result.groups}
    assert points == {
        "progress": 20,
        "online_services": 9,
        "online_payment": 10,
        "digitization": Fraction(33, 2),
        "satisfaction": 6,
    }
    assert result.points == Fraction(123, 2)


def test_no_data_leaves_an_indicator_out_of_the_rating_not_at_zero():
    result = estimate({"on_time_rate": Fraction(9, 10)})
    assert result.points == 18
    assert result.evaluated_max == 20
    assert result.score == 90
    assert result.band is not None
    assert result.band.key == "excellent"
    assert estimate({}).score is None
    assert estimate({}).band is None


@pytest.mark.parametrize(
    ("score", "band", "confirmed"),
    [
        (Fraction(100), "excellent", True),
        (Fraction(90), "excellent", True),
        (Fraction(8999, 100), "good", False),
        (Fraction(50), "average", False),
        (Fraction(4999, 100), "weak", True),
        (Fraction(0), "weak", True),
    ],
)
def test_bands_only_the_ends_are_confirmed(score, band, confirmed):
    found = index766.band_of(score)
    assert (found.key, found.confirmed) == (band, confirmed)
    assert found.name_vi in {"Xuất sắc", "Tốt", "Khá", "Trung bình", "Yếu"}


def test_the_coverage_statement_says_what_is_left_out_and_why():
    vi = index766.coverage_statement(estimate(FULL))
    en = index766.coverage_statement(estimate(FULL), "en")
    assert vi.startswith("Ước tính 70/100 điểm của Quyết định 766/QĐ-TTg")
    assert "Công khai, minh bạch (18 điểm)" in vi
    assert "(12 điểm)" in vi
    assert en.startswith("Estimate of 70 of the 100 points of Decision 766/QĐ-TTg")
    assert "Publicity and transparency (18 points)" in en
    assert "(12 points)" in en
    partial = index766.coverage_statement(estimate({"on_time_rate": Fraction(1)}), "en")
    assert "(data for 20 points)" in partial


def test_an_inconsistent_configuration_is_refused():
    text = (resources.files("kpi").joinpath("index766.yaml")).read_text(encoding="utf-8")
    assert index766.parse(text) == CONFIG
    with pytest.raises(ConfigError, match="do not sum to 21"):
        index766.parse(text.replace("max_points: 20\n    indicators", "max_points: 21\n    indicators", 1))
    with pytest.raises(ConfigError, match="unknown KPI"):
        index766.parse(text.replace("kpi: on_time_rate", "kpi: on_time", 1))
    with pytest.raises(ConfigError, match="is a count"):
        index766.parse(text.replace("kpi: on_time_rate", "kpi: overdue_open", 1))
    with pytest.raises(ConfigError, match="should make 100"):
        index766.parse(text.replace("points: 18", "points: 17", 1))
    with pytest.raises(ConfigError, match="bands"):
        index766.parse(text.replace('min_score: "0"', 'min_score: "10"', 1))
    with pytest.raises(ConfigError, match="missing"):
        index766.parse(text.replace("total_points:", "total:", 1))
