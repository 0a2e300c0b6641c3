"""Reading reference files: every problem reported by file and line, all of them at once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ioc.errors import IocError
from refdata.errors import MAX_SHOWN, RefdataError
from refdata.files import read_dir

UNITS = """\
code,name,level,parent_code,valid_from,valid_to,is_sample
01,Thành phố Hà Nội,province,,2025-07-01,,false
001,Huyện mẫu 1 (Hà Nội),district,01,2025-07-01,,true
90001,Xã mẫu 1.1 (Hà Nội),commune,001,2025-07-01,2026-01-01,true
90002,Phường mẫu (Hà Nội),commune,01,2025-07-01,,true
"""
AGENCIES = """\
# comment lines and blank lines are skipped

code,name,kind,unit_code
P01.STP,Sở Tư pháp thành phố Hà Nội,department,01
C90001.UBND,Ủy ban nhân dân xã mẫu 1.1 (Hà Nội),commune_committee,90001
"""
PROCEDURES = """\
name,code,sector,online_level,level,has_fee,result_is_document,max_days,essential
Đăng ký khai sinh,9.000112,Hộ tịch,full,commune,false,true,1,true
"Cấp đổi, cấp lại thẻ căn cước",9.000106,Căn cước,partial,province,TRUE,true,7,false
"""
HOLIDAYS = """\
day,name,working
2024-04-29,Nghỉ hoán đổi (làm bù thứ Bảy 04/05/2024),false
2024-05-04,Làm bù cho ngày nghỉ 29/04/2024,true
"""
GOOD = {"units.csv": UNITS, "agencies.csv": AGENCIES, "procedures.csv": PROCEDURES, "holidays.csv": HOLIDAYS}


def write(folder: Path, **overrides: str) -> Path:
    for name, text in GOOD.items():
        (folder / name).write_text(overrides.get(name.removesuffix(".csv"), text), encoding="utf-8")
    return folder


def problems(folder: Path) -> list[str]:
    with pytest.raises(RefdataError) as info:
        read_dir(folder)
    return list(info.value.problems)


def test_a_good_set_is_read_with_types(tmp_path: Path):
    data = read_dir(write(tmp_path))
    assert [u.code for u in data.units] == ["01", "001", "90001", "90002"]
    assert data.units[2].valid_to == date(2026, 1, 1)
    assert data.units[3].parent_code == "01"  # a commune directly under its province
    assert data.units[1].is_sample
    assert not data.units[0].is_sample
    assert data.agency_codes == {"P01.STP", "C90001.UBND"}
    procedure = data.procedures[1]
    assert procedure.name == "Cấp đổi, cấp lại thẻ căn cước"
    assert (procedure.has_fee, procedure.max_days, procedure.essential) == (True, 7, False)
    assert data.holidays[1].working


def unit_line(line: str) -> str:
    return UNITS + line + "\n"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"units": unit_line("0002,Huyện X,district,01,2025-07-01,,true")},
            "units.csv:6: code '0002' of a district must have 3 digits",
        ),
        (
            {"units": unit_line("1,Tỉnh X,province,,2025-07-01,,false")},
            "units.csv:6: code '1' of a province must have 2 digits",
        ),
        (
            {"units": unit_line("9000A,Xã X,commune,001,2025-07-01,,true")},
            "units.csv:6: code '9000A' is not digits",
        ),
        (
            {"units": unit_line("90003,Xã X,ward,001,2025-07-01,,true")},
            "units.csv:6: level 'ward' is not one of province, district, commune",
        ),
        (
            {"units": unit_line("001,Huyện lặp,district,01,2025-07-01,,true")},
            "units.csv:6: duplicate code '001' (first on line 3)",
        ),
        (
            {"units": unit_line("90003,Xã X,commune,999,2025-07-01,,true")},
            "units.csv:6: parent_code '999' is not a unit",
        ),
        (
            {"units": unit_line("90003,Xã X,commune,90001,2025-07-01,,true")},
            "units.csv:6: parent_code '90001' is a commune; a commune's parent is a district or province",
        ),
        (
            {"units": unit_line("002,Huyện X,district,001,2025-07-01,,true")},
            "units.csv:6: parent_code '001' is a district; a district's parent is a province",
        ),
        (
            {"units": unit_line("02,Tỉnh X,province,01,2025-07-01,,false")},
            "units.csv:6: a province has no parent_code, got '01'",
        ),
        (
            {"units": unit_line("002,Huyện X,district,,2025-07-01,,true")},
            "units.csv:6: a district needs a parent_code",
        ),
        (
            {"units": unit_line("002,Huyện X,district,01,2025-13-01,,true")},
            "units.csv:6: valid_from '2025-13-01' is not a date YYYY-MM-DD",
        ),
        (
            {"units": unit_line("002,Huyện X,district,01,1/7/2025,,true")},
            "units.csv:6: valid_from '1/7/2025' is not a date YYYY-MM-DD",
        ),
        (
            {"units": unit_line("002,Huyện X,district,01,2025-07-01,2025-07-01,true")},
            "units.csv:6: valid_to 2025-07-01 is not after valid_from 2025-07-01",
        ),
        (
            {"units": unit_line("002,Huyện X,district,01,2025-07-01,,yes")},
            "units.csv:6: is_sample 'yes' is not true or false",
        ),
        ({"units": unit_line("002,,district,01,2025-07-01,,true")}, "units.csv:6: name is empty"),
        (
            {"units": unit_line("002,Huyện X,district,01,2025-07-01,true")},
            "units.csv:6: 6 fields, expected 7",
        ),
        (
            {"agencies": AGENCIES + "X.UBND,UBND X,commune_committee,77\n"},
            "agencies.csv:6: unit_code '77' is not a unit",
        ),
        (
            {"agencies": AGENCIES + "P01.SYT,Sở Y tế,ministry,01\n"},
            "agencies.csv:6: kind 'ministry' is not one of department, service_centre",
        ),
        (
            {"agencies": AGENCIES + "P01 SYT,Sở Y tế,department,01\n"},
            "agencies.csv:6: code 'P01 SYT' is not 1-32 of the characters",
        ),
        (
            {"agencies": AGENCIES + "P01.STP,Sở Tư pháp,department,01\n"},
            "agencies.csv:6: duplicate code 'P01.STP' (first on line 4)",
        ),
        (
            {"procedures": PROCEDURES + "Thủ tục X,9.9,Khác,level4,province,false,true,3,false\n"},
            "procedures.csv:4: online_level 'level4' is not one of full, partial, none",
        ),
        (
            {"procedures": PROCEDURES + "Thủ tục X,9.9,Khác,full,ward,false,true,3,false\n"},
            "procedures.csv:4: level 'ward' is not one of province, district, commune",
        ),
        (
            {"procedures": PROCEDURES + "Thủ tục X,9.9,Khác,full,province,false,true,ten,false\n"},
            "procedures.csv:4: max_days 'ten' is not a whole number in 0..3650",
        ),
        (
            {"procedures": PROCEDURES + "Thủ tục X,9.9,Khác,full,province,false,true,-1,false\n"},
            "procedures.csv:4: max_days '-1' is not a whole number in 0..3650",
        ),
        (
            {"procedures": PROCEDURES + "Thủ tục X,9.9,Khác,full,province,maybe,true,3,false\n"},
            "procedures.csv:4: has_fee 'maybe' is not true or false",
        ),
        (
            {"holidays": HOLIDAYS + "2024-05-06,Làm bù,true\n"},
            "holidays.csv:4: working day 2024-05-06 is a Monday: a make-up working day is a weekend day",
        ),
        (
            {"holidays": HOLIDAYS + "2024-04-29,Lặp,false\n"},
            "holidays.csv:4: duplicate day '2024-04-29' (first on line 2)",
        ),
        (
            {"holidays": "day,name\n2024-01-01,Tết Dương lịch\n"},
            "holidays.csv:1: the header must name the columns day, name, working; missing: working",
        ),
        (
            {"holidays": "day,name,working,note\n"},
            "holidays.csv:1: the header must name the columns day, name, working; unknown: note",
        ),
        ({"holidays": ""}, "holidays.csv: no header row"),
        ({"holidays": HOLIDAYS + '2024-09-02,"Quốc khánh,false\n'}, "holidays.csv:4: not a CSV record"),
    ],
)
def test_each_kind_of_problem_is_reported_by_file_and_line(
    tmp_path: Path, overrides: dict[str, str], expected: str
):
    found = problems(write(tmp_path, **overrides))
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


def test_a_missing_file_and_non_utf8_text_are_reported(tmp_path: Path):
    write(tmp_path)
    (tmp_path / "holidays.csv").unlink()
    (tmp_path / "procedures.csv").write_bytes(b"code,name\n\xff\xfe\n")
    found = problems(tmp_path)
    assert found[0].startswith("procedures.csv: not UTF-8 text")
    assert found[1] == f"holidays.csv: file not found in {tmp_path}"


def test_all_problems_of_all_files_are_collected_in_file_and_line_order(tmp_path: Path):
    write(
        tmp_path,
        units=unit_line("90003,Xã X,commune,999,2025-07-01,,true")
        + "0004,Huyện Y,district,01,2025-07-01,,maybe\n",
        agencies=AGENCIES + "X.UBND,UBND X,commune_committee,77\n",
        holidays=HOLIDAYS + "2024-02-30,Ngày không có,false\n",
    )
    with pytest.raises(IocError) as info:  # RefdataError is an IocError: `ioc` prints it in one piece
        read_dir(tmp_path)
    assert isinstance(info.value, RefdataError)
    assert info.value.problems == (
        "units.csv:6: parent_code '999' is not a unit",
        "units.csv:7: code '0004' of a district must have 3 digits",
        "units.csv:7: is_sample 'maybe' is not true or false",
        "agencies.csv:6: unit_code '77' is not a unit",
        "holidays.csv:4: day '2024-02-30' is not a date YYYY-MM-DD",
    )
    message = str(info.value)
    assert message.splitlines()[0] == f"{tmp_path}: 5 problem(s) in the reference data:"
    assert "  units.csv:6: parent_code '999' is not a unit" in message.splitlines()


def test_the_message_shows_the_first_problems_and_counts_the_rest(tmp_path: Path):
    rows = "".join(f"{90100 + i},Xã {i},commune,999,2025-07-01,,true\n" for i in range(30))
    write(tmp_path, units=UNITS + rows)
    with pytest.raises(RefdataError) as info:
        read_dir(tmp_path)
    assert len(info.value.problems) == 30
    lines = str(info.value).splitlines()
    assert len(lines) == 1 + MAX_SHOWN + 1
    assert lines[1] == "  units.csv:6: parent_code '999' is not a unit"
    assert lines[-1] == f"  … and {30 - MAX_SHOWN} more"
