"""The reference data in the database (tables of migration 0002): saving a set, loading it back.

``save`` makes the tables say what a set says, in one transaction, and changes only rows that
differ, so saving the same set twice changes nothing:

- units are upserted, parents first. Official codes are never reused and old events keep
  naming them, so a unit absent from the set is never deleted: it gets ``valid_to`` = today
  (unless it had already ended), and ``load`` still returns it;
- agencies and procedures are upserted; one absent from the set is deleted unless an event
  names it or a row of another table refers to it, in which case it is kept unchanged;
- holidays become exactly those of the set; when that changes them, the working-day table
  (``ref_workdays``, migration 0010) is refilled and the rollups are rebuilt in the same
  transaction (the working days of resolved applications depend on them).

``load`` returns every unit, in force or not, with its validity: ingest validates codes
against all known codes, and views pick the units in force for their period.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import LiteralString, TypeVar
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import class_row

from refdata.errors import RefdataError
from refdata.model import Agency, Holiday, Procedure, ReferenceData, Unit
from store import rollups
from store.migrate import DEFAULT_TIMEZONE

Connection = psycopg.Connection[tuple[object, ...]]
LOCAL_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
LEVEL_ORDER = {"province": 0, "district": 1, "commune": 2}

LOCK = """
LOCK TABLE ref_units, ref_agencies, ref_procedures, ref_holidays IN SHARE ROW EXCLUSIVE MODE
"""
SELECT_UNITS = """
SELECT code, name, level, parent_code, valid_from, valid_to, is_sample
  FROM ref_units
 ORDER BY CASE level WHEN 'province' THEN 0 WHEN 'district' THEN 1 ELSE 2 END, code
"""
SELECT_AGENCIES = "SELECT code, name, kind, unit_code FROM ref_agencies ORDER BY code"
SELECT_PROCEDURES = """
SELECT code, name, sector, online_level, level, has_fee, result_is_document, max_days, essential
  FROM ref_procedures
 ORDER BY code
"""
SELECT_HOLIDAYS = "SELECT day, name, working FROM ref_holidays ORDER BY day"

UPSERT_UNIT = """
INSERT INTO ref_units (code, name, level, parent_code, valid_from, valid_to, is_sample)
VALUES (%(code)s, %(name)s, %(level)s, %(parent_code)s, %(valid_from)s, %(valid_to)s, %(is_sample)s)
ON CONFLICT (code) DO UPDATE
   SET name = EXCLUDED.name, level = EXCLUDED.level, parent_code = EXCLUDED.parent_code,
       valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to, is_sample = EXCLUDED.is_sample
"""
RETIRE_UNITS = """
UPDATE ref_units
   SET valid_to = GREATEST(valid_from, %(today)s)
 WHERE code = ANY(%(codes)s) AND (valid_to IS NULL OR valid_to > %(today)s)
"""
UPSERT_AGENCY = """
INSERT INTO ref_agencies (code, name, kind, unit_code)
VALUES (%(code)s, %(name)s, %(kind)s, %(unit_code)s)
ON CONFLICT (code) DO UPDATE
   SET name = EXCLUDED.name, kind = EXCLUDED.kind, unit_code = EXCLUDED.unit_code
"""
UPSERT_PROCEDURE = """
INSERT INTO ref_procedures (code, name, sector, online_level, level, has_fee, result_is_document,
                            max_days, essential)
VALUES (%(code)s, %(name)s, %(sector)s, %(online_level)s, %(level)s, %(has_fee)s,
        %(result_is_document)s, %(max_days)s, %(essential)s)
ON CONFLICT (code) DO UPDATE
   SET name = EXCLUDED.name, sector = EXCLUDED.sector, online_level = EXCLUDED.online_level,
       level = EXCLUDED.level, has_fee = EXCLUDED.has_fee,
       result_is_document = EXCLUDED.result_is_document, max_days = EXCLUDED.max_days,
       essential = EXCLUDED.essential
"""
UPSERT_HOLIDAY = """
INSERT INTO ref_holidays (day, name, working) VALUES (%(day)s, %(name)s, %(working)s)
ON CONFLICT (day) DO UPDATE SET name = EXCLUDED.name, working = EXCLUDED.working
"""
DELETE_HOLIDAYS = "DELETE FROM ref_holidays WHERE day = ANY(%(days)s)"
# Codes that events name: those rows are kept even when the set no longer lists them.
AGENCIES_IN_EVENTS = "SELECT DISTINCT agency_code FROM events WHERE agency_code = ANY(%(codes)s)"
PROCEDURES_IN_EVENTS = "SELECT DISTINCT procedure_code FROM events WHERE procedure_code = ANY(%(codes)s)"
DELETE_AGENCY = "DELETE FROM ref_agencies WHERE code = %(code)s"
DELETE_PROCEDURE = "DELETE FROM ref_procedures WHERE code = %(code)s"


@dataclass(frozen=True)
class _Catalog:
    """How to write one of the catalog tables whose absent rows may be deleted."""

    table: str
    upsert: LiteralString
    in_events: LiteralString
    delete: LiteralString


AGENCIES = _Catalog("agencies", UPSERT_AGENCY, AGENCIES_IN_EVENTS, DELETE_AGENCY)
PROCEDURES = _Catalog("procedures", UPSERT_PROCEDURE, PROCEDURES_IN_EVENTS, DELETE_PROCEDURE)

R = TypeVar("R", bound=Unit | Agency | Procedure | Holiday)
C = TypeVar("C", bound=Agency | Procedure)
K = TypeVar("K", str, date)


def load(conn: Connection) -> ReferenceData:
    """Every row of the four tables: units parents first, the others in code (or day) order."""
    try:
        return ReferenceData(
            units=tuple(_select(conn, Unit, SELECT_UNITS)),
            agencies=tuple(_select(conn, Agency, SELECT_AGENCIES)),
            procedures=tuple(_select(conn, Procedure, SELECT_PROCEDURES)),
            holidays=tuple(_select(conn, Holiday, SELECT_HOLIDAYS)),
        )
    except psycopg.errors.UndefinedTable:
        raise _not_migrated() from None


REFRESH_WORKDAYS = "SELECT refresh_workdays()"


def save(
    conn: Connection, data: ReferenceData, *, today: date | None = None, timezone: str = DEFAULT_TIMEZONE
) -> dict[str, int]:
    """Make the tables say what ``data`` says (see the module's docstring); return counts.

    The counts are, for each of ``units``, ``agencies``, ``procedures`` and ``holidays``: the
    number in ``data``, and ``<table>_added`` and ``<table>_changed``; then ``units_retired``,
    ``<table>_removed`` for the others, and ``agencies_kept`` / ``procedures_kept`` for rows
    absent from ``data`` that are still referenced; ``rollups_rebuilt`` is 1 when the holidays
    changed. ``today`` defaults to today in Vietnam; ``timezone`` is IOC_TIMEZONE.
    """
    day = today or datetime.now(LOCAL_TIMEZONE).date()
    try:
        with conn.transaction():
            conn.execute(LOCK)
            current = load(conn)
            counts = _save_units(conn, current.units, data.units, day)
            counts |= _save_catalog(conn, AGENCIES, current.agencies, data.agencies)
            counts |= _save_catalog(conn, PROCEDURES, current.procedures, data.procedures)
            counts |= _save_holidays(conn, current.holidays, data.holidays)
            if any(counts[f"holidays_{what}"] for what in ("added", "changed", "removed")):
                conn.execute(REFRESH_WORKDAYS)
                rollups.rebuild(conn, timezone)
                counts["rollups_rebuilt"] = 1
    except psycopg.errors.UndefinedTable:
        raise _not_migrated() from None
    return counts


def _not_migrated() -> RefdataError:
    return RefdataError("the database has no reference-data tables: run `ioc db migrate` first")


def _select(conn: Connection, record: type[R], query: LiteralString) -> list[R]:
    with conn.cursor(row_factory=class_row(record)) as cur:
        return cur.execute(query).fetchall()


def _diff(
    current: Iterable[R], wanted: Sequence[R], key: Callable[[R], K]
) -> tuple[list[R], list[R], list[K]]:
    """The rows of ``wanted`` to add and to change, and the keys in ``current`` only."""
    before = {key(r): r for r in current}
    added = [r for r in wanted if key(r) not in before]
    changed = [r for r in wanted if key(r) in before and before[key(r)] != r]
    listed = {key(r) for r in wanted}
    return added, changed, [k for k in before if k not in listed]


def _upsert(conn: Connection, query: LiteralString, rows: Iterable[R]) -> None:
    params = [asdict(r) for r in rows]
    if params:
        with conn.cursor() as cur:
            cur.executemany(query, params)


def _save_units(
    conn: Connection, current: Sequence[Unit], wanted: Sequence[Unit], today: date
) -> dict[str, int]:
    added, changed, absent = _diff(current, wanted, lambda u: u.code)
    _upsert(conn, UPSERT_UNIT, sorted([*added, *changed], key=lambda u: LEVEL_ORDER[u.level]))
    retired = conn.execute(RETIRE_UNITS, {"today": today, "codes": absent}).rowcount if absent else 0
    return {
        "units": len(wanted),
        "units_added": len(added),
        "units_changed": len(changed),
        "units_retired": retired,
    }


def _save_catalog(
    conn: Connection, catalog: _Catalog, current: Sequence[C], wanted: Sequence[C]
) -> dict[str, int]:
    """Agencies or procedures: upsert, then delete the absent rows nothing refers to."""
    added, changed, absent = _diff(current, wanted, _code)
    _upsert(conn, catalog.upsert, [*added, *changed])
    found = conn.execute(catalog.in_events, {"codes": absent}).fetchall() if absent else []
    referenced = {str(row[0]) for row in found}
    removed = 0
    for code in absent:
        if code in referenced:
            continue
        try:
            with conn.transaction():
                conn.execute(catalog.delete, {"code": code})
            removed += 1
        except psycopg.errors.ForeignKeyViolation:
            pass  # a row of another table refers to it: kept
    table = catalog.table
    return {
        table: len(wanted),
        f"{table}_added": len(added),
        f"{table}_changed": len(changed),
        f"{table}_removed": removed,
        f"{table}_kept": len(absent) - removed,
    }


def _code(record: Agency | Procedure) -> str:
    return record.code


def _save_holidays(conn: Connection, current: Sequence[Holiday], wanted: Sequence[Holiday]) -> dict[str, int]:
    added, changed, absent = _diff(current, wanted, lambda h: h.day)
    _upsert(conn, UPSERT_HOLIDAY, [*added, *changed])
    if absent:
        conn.execute(DELETE_HOLIDAYS, {"days": absent})
    return {
        "holidays": len(wanted),
        "holidays_added": len(added),
        "holidays_changed": len(changed),
        "holidays_removed": len(absent),
    }
