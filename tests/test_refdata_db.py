"""Reference data in the database: save and load on TimescaleDB and plain PostgreSQL, and the CLI."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

import store
from refdata import db, files
from refdata.cli import app
from refdata.errors import RefdataError
from refdata.model import Agency, Holiday, Procedure, ReferenceData, Unit

Connection = psycopg.Connection[tuple[object, ...]]
TODAY = date(2026, 3, 2)
START = date(2025, 7, 1)

INSERT_EVENT = """
INSERT INTO events (event_id, occurred_at, event_type, application_id, procedure_code,
                    agency_code, unit_code, payload, source)
VALUES ('e1', now(), 'submitted', 'HS-1', %s, %s, '01', '{}', 'test/0/0')
"""


def small() -> ReferenceData:
    units = (
        Unit("01", "Thành phố Hà Nội", "province", None, START),
        Unit("001", "Huyện mẫu 1 (Hà Nội)", "district", "01", START, is_sample=True),
        Unit("90001", "Xã mẫu 1.1 (Hà Nội)", "commune", "001", START, is_sample=True),
        Unit("90002", "Xã mẫu 1.2 (Hà Nội)", "commune", "001", START, is_sample=True),
    )
    agencies = (
        Agency("P01.STP", "Sở Tư pháp thành phố Hà Nội", "department", "01"),
        Agency("P01.SYT", "Sở Y tế thành phố Hà Nội", "department", "01"),
        Agency("C90001.UBND", "Ủy ban nhân dân xã mẫu 1.1 (Hà Nội)", "commune_committee", "90001"),
    )
    procedures = (
        Procedure("9.000112", "Đăng ký khai sinh", "Hộ tịch", "full", "commune", False, True, 1, True),
        Procedure("9.000113", "Đăng ký khai tử", "Hộ tịch", "full", "commune", False, True, 1, True),
        Procedure(
            "9.000209", "Cấp chứng chỉ hành nghề dược", "Dược phẩm", "partial", "province", True, True, 20
        ),
    )
    holidays = (
        Holiday(date(2026, 1, 1), "Tết Dương lịch"),
        Holiday(date(2026, 8, 22), "Làm bù cho ngày nghỉ 31/08/2026", working=True),
    )
    return ReferenceData(units, agencies, procedures, holidays)


def words(text: str) -> str:
    return " ".join(text.split())


def changes(counts: dict[str, int]) -> dict[str, int]:
    """The counts that say something changed (all but the sizes of the set)."""
    return {k: v for k, v in counts.items() if "_" in k}


def test_the_default_set_round_trips_and_loading_twice_changes_nothing(migrated: Connection):
    data = files.read_dir(files.default_dir())
    first = db.save(migrated, data, today=TODAY)
    assert first["units"] == first["units_added"] == len(data.units)
    assert first["agencies_added"] == len(data.agencies)
    assert first["procedures_added"] == len(data.procedures)
    assert first["holidays_added"] == len(data.holidays)
    loaded = db.load(migrated)
    assert set(loaded.units) == set(data.units)
    assert set(loaded.agencies) == set(data.agencies)
    assert loaded.procedures == tuple(sorted(data.procedures, key=lambda p: p.code))
    assert loaded.holidays == tuple(sorted(data.holidays, key=lambda h: h.day))
    levels = [u.level for u in loaded.units]
    assert levels == sorted(levels, key=["province", "district", "commune"].index)  # parents first

    second = db.save(migrated, data, today=TODAY)
    assert set(changes(second).values()) == {0}, second
    assert db.load(migrated) == loaded


def test_units_are_saved_parents_first_whatever_their_order(migrated: Connection):
    data = small()
    reversed_units = dataclasses.replace(data, units=tuple(reversed(data.units)))
    db.save(migrated, reversed_units, today=TODAY)
    assert set(db.load(migrated).units) == set(data.units)


def test_a_removed_unit_is_retired_not_deleted_and_can_come_back(migrated: Connection):
    data = small()
    db.save(migrated, data, today=TODAY)
    renamed = dataclasses.replace(data.units[2], name="Xã mẫu 1.1 mới (Hà Nội)")
    without = dataclasses.replace(data, units=(*data.units[:2], renamed))
    counts = db.save(migrated, without, today=TODAY)
    assert (counts["units_added"], counts["units_changed"], counts["units_retired"]) == (0, 1, 1)
    units = {u.code: u for u in db.load(migrated).units}
    assert units["90002"].valid_to == TODAY
    assert units["90001"].name == "Xã mẫu 1.1 mới (Hà Nội)"
    assert units["90001"].valid_to is None

    later = db.save(migrated, without, today=date(2026, 6, 1))
    assert later["units_retired"] == 0  # already ended: its valid_to stays
    assert {u.code: u for u in db.load(migrated).units}["90002"].valid_to == TODAY

    back = db.save(migrated, data, today=date(2026, 6, 1))
    assert back["units_changed"] == 2
    assert {u.code: u for u in db.load(migrated).units}["90002"].valid_to is None


def test_a_unit_not_yet_in_force_is_retired_on_its_first_day(migrated: Connection):
    future = Unit("90009", "Xã mẫu tương lai", "commune", "001", date(2027, 1, 1), is_sample=True)
    data = small()
    db.save(migrated, dataclasses.replace(data, units=(*data.units, future)), today=TODAY)
    counts = db.save(migrated, data, today=TODAY)
    assert counts["units_retired"] == 1
    retired = {u.code: u for u in db.load(migrated).units}["90009"]
    assert retired.valid_to == retired.valid_from == date(2027, 1, 1)


def test_absent_agencies_and_procedures_are_deleted_unless_events_name_them(migrated: Connection):
    data = small()
    db.save(migrated, data, today=TODAY)
    migrated.execute(INSERT_EVENT, ("9.000113", "P01.SYT"))
    fewer = dataclasses.replace(data, agencies=data.agencies[:1], procedures=data.procedures[:1], holidays=())
    counts = db.save(migrated, fewer, today=TODAY)
    assert (counts["agencies_removed"], counts["agencies_kept"]) == (1, 1)
    assert (counts["procedures_removed"], counts["procedures_kept"]) == (1, 1)
    assert counts["holidays_removed"] == 2
    loaded = db.load(migrated)
    assert loaded.agency_codes == {"P01.STP", "P01.SYT"}  # C90001.UBND was named by no event
    assert loaded.procedure_codes == {"9.000112", "9.000113"}
    assert loaded.holidays == ()


def test_a_failed_save_changes_nothing(migrated: Connection):
    data = small()
    db.save(migrated, data, today=TODAY)
    before = db.load(migrated)
    orphan = Agency("X.UBND", "UBND X", "commune_committee", "77")  # no such unit: the FK refuses it
    renamed = dataclasses.replace(data.units[0], name="Tên khác")
    broken = dataclasses.replace(data, units=(renamed, *data.units[1:]), agencies=(*data.agencies, orphan))
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        db.save(migrated, broken, today=TODAY)
    assert db.load(migrated) == before


def test_an_unmigrated_database_is_reported(timescale_url: str):
    with store.connect(timescale_url, autocommit=True) as conn:
        with pytest.raises(RefdataError, match="run `ioc db migrate`"):
            db.save(conn, small(), today=TODAY)
        with pytest.raises(RefdataError, match="run `ioc db migrate`"):
            db.load(conn)


def test_cli_load_prints_counts_and_show_summarises(timescale_url: str, tmp_path: Path):
    with store.connect(timescale_url, autocommit=True) as conn:
        store.migrate(conn)
    env = {"IOC_DATABASE_URL": timescale_url}
    data = files.read_dir(files.default_dir())
    runner = CliRunner()

    first = runner.invoke(app, ["load"], env=env)
    assert first.exit_code == 0, first.output
    n = len(data.units)
    assert f"units: {n} in the files; {n} added, 0 changed, 0 retired" in words(first.output)
    p = len(data.procedures)
    assert f"procedures: {p} in the files; {p} added, 0 changed, 0 removed, 0 kept" in words(first.output)

    again = runner.invoke(app, ["load", str(files.default_dir())], env=env)
    assert again.exit_code == 0, again.output
    assert f"units: {n} in the files; 0 added, 0 changed, 0 retired" in words(again.output)

    shown = runner.invoke(app, ["show"], env=env)
    assert shown.exit_code == 0, shown.output
    communes = sum(u.level == "commune" for u in data.units)
    assert f"34 provinces, {n - 34 - communes} districts, {communes} communes" in shown.output
    assert "25 essential" in shown.output

    (tmp_path / "units.csv").write_text("code,name\n", encoding="utf-8")
    broken = runner.invoke(app, ["load", str(tmp_path)], env=env)
    assert isinstance(broken.exception, RefdataError)
    assert "units.csv:1: the header must name the columns" in str(broken.exception)
    assert "agencies.csv: file not found" in str(broken.exception)
