"""The KPI registry: complete against DOMAIN.md §3, exact ratios, display in Vietnamese and English."""

from __future__ import annotations

import unicodedata
from fractions import Fraction

import pytest

from kpi import registry
from kpi.registry import format_value, get, ratio

# DOMAIN.md §3, the table: key and Vietnamese name, as written there.
DOMAIN_TABLE = {
    "online_submission_rate": "Tỷ lệ hồ sơ nộp trực tuyến",
    "full_online_rate": "Tỷ lệ hồ sơ trực tuyến toàn trình",
    "online_resolution_rate": "Tỷ lệ hồ sơ giải quyết trực tuyến",
    "services_with_online_apps_rate": "Tỷ lệ DVCTT có phát sinh hồ sơ",
    "on_time_rate": "Tỷ lệ giải quyết đúng hạn",
    "overdue_open": "Hồ sơ quá hạn đang xử lý",
    "due_soon_open": "Hồ sơ sắp đến hạn",
    "avg_processing_days": "Thời gian giải quyết trung bình",
    "digitization_rate": "Tỷ lệ số hóa hồ sơ",
    "e_result_rate": "Tỷ lệ cấp kết quả điện tử",
    "data_reuse_rate": "Tỷ lệ tái sử dụng dữ liệu số hóa",
    "vneid_rate": "Tỷ lệ hồ sơ dùng định danh điện tử (VNeID)",
    "online_payment_rate": "Tỷ lệ thanh toán trực tuyến",
    "satisfaction_rate": "Tỷ lệ hài lòng",
    # the "counts" row: Tiếp nhận, Đã giải quyết, Đang xử lý, by channel
    "received": "Tiếp nhận",
    "resolved": "Đã giải quyết",
    "open": "Đang xử lý",
}
CHANNELS = ("online", "in_person", "postal")


def test_every_kpi_of_the_domain_table_is_registered_with_its_exact_name():
    for key, name in DOMAIN_TABLE.items():
        assert get(key).name_vi == name
    by_channel = {f"{count}_{channel}" for count in ("received", "resolved", "open") for channel in CHANNELS}
    assert {k.key for k in registry.all_kpis()} == set(DOMAIN_TABLE) | by_channel


def test_names_and_descriptions_are_complete_and_in_composed_unicode():
    for kpi in registry.all_kpis():
        texts = [kpi.name_vi, kpi.name_en, kpi.numerator_vi, kpi.numerator_en]
        if kpi.kind != "count":
            texts += [kpi.denominator_vi, kpi.denominator_en]
        for text in texts:
            assert text.strip(), kpi.key
            assert unicodedata.normalize("NFC", text) == text, kpi.key


@pytest.mark.parametrize(
    ("key", "kind", "direction", "display"),
    [
        ("on_time_rate", "ratio", "higher_is_better", "percent"),
        ("overdue_open", "count", "lower_is_better", "integer"),
        ("due_soon_open", "count", "lower_is_better", "integer"),
        ("avg_processing_days", "average", "lower_is_better", "days"),
        ("received_online", "count", "neutral", "integer"),
    ],
)
def test_kind_direction_and_display(key, kind, direction, display):
    kpi = get(key)
    assert (kpi.kind, kpi.direction, kpi.display) == (kind, direction, display)


def test_an_unknown_key_names_the_known_ones():
    with pytest.raises(registry.UnknownKpi, match="on_time_rate"):
        get("on_time")


def test_ratio_is_exact_and_none_without_a_denominator():
    assert ratio(1, 3) == Fraction(1, 3)
    assert ratio(0, 5) == 0
    assert ratio(0, 0) is None
    assert ratio(7, 0) is None
    with pytest.raises(ValueError, match=">= 0"):
        ratio(-1, 3)


@pytest.mark.parametrize(
    ("key", "value", "vi", "en"),
    [
        ("online_submission_rate", Fraction(458, 1000), "45,8 %", "45.8%"),
        ("online_submission_rate", Fraction(4585, 10000), "45,9 %", "45.9%"),  # half up, not to even
        ("online_submission_rate", Fraction(4575, 10000), "45,8 %", "45.8%"),
        ("online_submission_rate", Fraction(1, 3), "33,3 %", "33.3%"),
        ("online_submission_rate", Fraction(1), "100,0 %", "100.0%"),
        ("online_submission_rate", Fraction(0), "0,0 %", "0.0%"),
        ("received", 1234567, "1.234.567", "1,234,567"),
        ("overdue_open", 0, "0", "0"),
        ("avg_processing_days", Fraction(7, 2), "3,5 ngày", "3.5 days"),
        ("avg_processing_days", Fraction(24001, 20), "1.200,1 ngày", "1,200.1 days"),
        ("on_time_rate", None, "Không có dữ liệu", "No data"),
        ("received", None, "Không có dữ liệu", "No data"),
    ],
)
def test_format_value(key, value, vi, en):
    assert format_value(get(key), value) == vi
    assert format_value(get(key), value, locale="vi") == vi
    assert format_value(get(key), value, locale="en") == en


def test_format_value_rejects_an_unknown_locale():
    with pytest.raises(ValueError, match="'vi' or 'en'"):
        format_value(get("received"), 1, locale="fr")  # type: ignore[arg-type]
