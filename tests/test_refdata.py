"""The default reference set shipped with the package, and its generator of sample units."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from refdata import files
from refdata.model import ReferenceData
from refdata.sample import COMMUNE_BASE, generate, sample_units

# Decision 19/2025/QĐ-TTg: the 34 provinces from 1/7/2025 keep the code of their seat's province.
PROVINCE_CODES = """
01 04 08 11 12 14 15 19 20 22 24 25 31 33 37 38 40
42 44 46 48 51 52 56 66 68 75 79 80 82 86 91 92 96
"""
OFFICIAL_34 = set(PROVINCE_CODES.split())
ESSENTIAL_NAMES = (
    "Đăng ký khai sinh",
    "Đăng ký khai tử",
    "Đăng ký kết hôn",
    "Đăng ký thường trú",
    "Đăng ký tạm trú",
    "thẻ căn cước",
    "Cấp đổi giấy phép lái xe",
    "Đăng ký biến động",
    "Gia hạn thẻ bảo hiểm y tế",
    "Phiếu lý lịch tư pháp",
    "trợ cấp thất nghiệp",
    "Cấp điện mới từ lưới điện hạ áp",
    "biển số xe",
)


@pytest.fixture(scope="module")
def default() -> ReferenceData:
    return files.read_dir(files.default_dir())


def test_the_default_set_has_the_34_provinces_with_official_names(default: ReferenceData):
    provinces = {u.code: u for u in default.units if u.level == "province"}
    assert set(provinces) == OFFICIAL_34
    assert provinces["01"].name == "Thành phố Hà Nội"
    assert provinces["79"].name == "Thành phố Hồ Chí Minh"
    assert provinces["66"].name == "Tỉnh Đắk Lắk"
    assert provinces["46"].name == "Thành phố Huế"
    for p in provinces.values():
        assert p.parent_code is None
        assert p.valid_from == date(2025, 7, 1)
        assert p.valid_to is None
        assert not p.is_sample


def test_every_sub_province_unit_is_a_flagged_sample_under_a_valid_parent(default: ReferenceData):
    by_code = {u.code: u for u in default.units}
    assert len(by_code) == len(default.units)
    children: Counter[str] = Counter()
    for unit in default.units:
        if unit.level == "province":
            continue
        assert unit.is_sample, unit
        assert "mẫu" in unit.name, unit
        assert unit.parent_code is not None
        parent = by_code[unit.parent_code]
        assert parent.level == ("province" if unit.level == "district" else "district"), unit
        assert len(unit.code) == (3 if unit.level == "district" else 5)
        assert unit.code not in OFFICIAL_34
        children[unit.parent_code] += 1
    for unit in default.units:
        if unit.level == "province":
            assert 4 <= children[unit.code] <= 9, unit
        elif unit.level == "district":
            assert 3 <= children[unit.code] <= 8, unit
    communes = [u for u in default.units if u.level == "commune"]
    assert all(int(u.code) > COMMUNE_BASE for u in communes)  # clear of official commune codes


def test_the_checked_in_units_and_agencies_are_the_generators_output(default: ReferenceData):
    provinces = [u for u in default.units if u.level == "province"]
    units_text, agencies_text = generate(provinces)
    folder = files.default_dir()
    assert (folder / files.UNITS).read_text(encoding="utf-8") == units_text
    assert (folder / files.AGENCIES).read_text(encoding="utf-8") == agencies_text


def test_sample_units_depend_only_on_the_seed(default: ReferenceData):
    provinces = [u for u in default.units if u.level == "province"]
    assert sample_units(provinces, seed=7) == sample_units(list(reversed(provinces)), seed=7)
    assert sample_units(provinces, seed=7) != sample_units(provinces, seed=8)


def test_agencies_cover_every_province_and_sample_unit(default: ReferenceData):
    assert all(a.unit_code in default.unit_codes for a in default.agencies)
    kinds = Counter((a.unit_code, a.kind) for a in default.agencies)
    for unit in default.units:
        if unit.level == "province":
            assert kinds[unit.code, "service_centre"] == 1
            assert kinds[unit.code, "department"] == 8
            assert kinds[unit.code, "vertical"] >= 2
        else:
            kind = "district_committee" if unit.level == "district" else "commune_committee"
            assert kinds[unit.code, kind] == 1
    names = {a.code: a.name for a in default.agencies}
    assert names["P01.TTPVHCC"] == "Trung tâm Phục vụ hành chính công thành phố Hà Nội"
    assert names["P04.STP"] == "Sở Tư pháp tỉnh Cao Bằng"
    assert names["C90001.UBND"].startswith("Ủy ban nhân dân xã mẫu 1.1")


def test_the_catalog_has_the_25_essential_services(default: ReferenceData):
    essential = [p for p in default.procedures if p.essential]
    assert len(essential) == 25
    assert 40 <= len(default.procedures) <= 50
    names = " | ".join(p.name for p in essential)
    for service in ESSENTIAL_NAMES:
        assert service in names
    assert {p.online_level for p in default.procedures} == {"full", "partial", "none"}
    assert {p.level for p in default.procedures} == {"province", "district", "commune"}
    assert all(p.max_days >= 1 for p in default.procedures)


@pytest.mark.parametrize(
    ("day", "what"),
    [
        (date(2024, 2, 10), "Mùng 1"),
        (date(2025, 1, 29), "Mùng 1"),
        (date(2026, 2, 17), "Mùng 1"),
        (date(2027, 2, 6), "Mùng 1"),
        (date(2024, 4, 18), "Giỗ Tổ Hùng Vương"),
        (date(2025, 4, 7), "Giỗ Tổ Hùng Vương"),
        (date(2026, 4, 26), "Giỗ Tổ Hùng Vương"),
        (date(2027, 4, 16), "Giỗ Tổ Hùng Vương"),
        (date(2025, 9, 1), "Quốc khánh"),
    ],
)
def test_lunar_and_announced_holidays(default: ReferenceData, day: date, what: str):
    holidays = {h.day: h for h in default.holidays}
    assert what in holidays[day].name
    assert not holidays[day].working


def test_every_year_has_the_fixed_holidays_and_make_up_days_are_weekends(default: ReferenceData):
    days = {h.day: h for h in default.holidays}
    for year in range(2024, 2028):
        for month, day in ((1, 1), (4, 30), (5, 1), (9, 2)):
            assert not days[date(year, month, day)].working
        weekdays_off = [d for d, h in days.items() if d.year == year and not h.working and d.weekday() < 5]
        assert len(weekdays_off) >= 11  # 1 + 5 Tết + 1 + 1 + 1 + 2, weekend ones compensated
    working = [h for h in default.holidays if h.working]
    assert {h.day for h in working} == {date(2024, 5, 4), date(2025, 4, 26), date(2026, 8, 22)}
    assert all(h.day.weekday() == 5 for h in working)
