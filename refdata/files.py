"""Reading the reference data from a folder of CSV files, every problem reported by file and line.

Each file is UTF-8 (a byte-order mark is allowed) with a header row naming its columns in any
order. One record per line; fields are trimmed; blank lines and lines starting with ``#`` are
skipped. Booleans are ``true`` or ``false``; dates are ``YYYY-MM-DD``.

``units.csv``
    ``code``         official code, digits only: province 2, district 3, commune 5 (sample units too)
    ``name``         Vietnamese name, with diacritics
    ``level``        ``province``, ``district`` or ``commune``
    ``parent_code``  empty for a province; a district's parent is a province; a commune's is a
                     district or, in a geography without districts (from 1/7/2025), a province
    ``valid_from``   first day in force
    ``valid_to``     first day no longer in force (after ``valid_from``), or empty while in force
    ``is_sample``    ``true`` for a unit generated for demonstration, not an official one

``agencies.csv``
    ``code``         1 to 32 of ``A-Z a-z 0-9 . _ / -``, e.g. ``P01.STP``
    ``name``
    ``kind``         ``department``, ``service_centre``, ``commune_committee``,
                     ``district_committee`` or ``vertical``
    ``unit_code``    the unit the agency belongs to, a code of ``units.csv``

``procedures.csv``
    ``code``         1 to 32 of ``A-Z a-z 0-9 . _ / -`` (mã thủ tục)
    ``name``, ``sector`` (lĩnh vực)
    ``online_level`` ``full`` (toàn trình), ``partial`` (một phần) or ``none``
    ``level``        level of government that handles it: ``province``, ``district`` or ``commune``
    ``has_fee``, ``result_is_document``
    ``max_days``     maximum processing time in working days, 0 to 3650
    ``essential``    ``true`` for one of the 25 essential services of Decision 06/QĐ-TTg

``holidays.csv``
    ``day``, ``name``
    ``working``      ``true`` for an official make-up working day (a weekend day worked),
                     ``false`` for a day off

``read_dir`` collects every problem of the four files before raising one ``RefdataError``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TypeVar

from refdata.errors import RefdataError
from refdata.model import (
    Agency,
    AgencyKind,
    Holiday,
    OnlineLevel,
    Procedure,
    ReferenceData,
    Unit,
    UnitLevel,
)

UNITS = "units.csv"
AGENCIES = "agencies.csv"
PROCEDURES = "procedures.csv"
HOLIDAYS = "holidays.csv"
FILES = (UNITS, AGENCIES, PROCEDURES, HOLIDAYS)

UNIT_COLUMNS = ("code", "name", "level", "parent_code", "valid_from", "valid_to", "is_sample")
AGENCY_COLUMNS = ("code", "name", "kind", "unit_code")
PROCEDURE_COLUMNS = (
    "code",
    "name",
    "sector",
    "online_level",
    "level",
    "has_fee",
    "result_is_document",
    "max_days",
    "essential",
)
HOLIDAY_COLUMNS = ("day", "name", "working")

LEVELS: tuple[UnitLevel, ...] = ("province", "district", "commune")
ONLINE_LEVELS: tuple[OnlineLevel, ...] = ("full", "partial", "none")
AGENCY_KINDS: tuple[AgencyKind, ...] = (
    "department",
    "service_centre",
    "commune_committee",
    "district_committee",
    "vertical",
)
CODE_DIGITS: dict[UnitLevel, int] = {"province": 2, "district": 3, "commune": 5}
PARENT_LEVELS: dict[UnitLevel, tuple[UnitLevel, ...]] = {
    "province": (),
    "district": ("province",),
    "commune": ("district", "province"),
}
MAX_DAYS = 3650

_CODE = re.compile(r"[A-Za-z0-9._/-]{1,32}")
_DIGITS = re.compile(r"[0-9]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BOOLS = {"true": True, "false": False}

L = TypeVar("L", bound=str)
Problem = tuple[int, int, str]  # file index, line, text


def default_dir() -> Path:
    """The folder of the default set shipped with the package (see ``refdata/default``)."""
    return Path(__file__).resolve().parent / "default"


def read_dir(path: Path) -> ReferenceData:
    """Read and validate the four files in ``path``; raise RefdataError listing every problem."""
    problems: list[Problem] = []
    units, unit_lines = _read_units(path, problems)
    agencies = _read_agencies(path, problems, known_units=unit_lines)
    procedures = _read_procedures(path, problems)
    holidays = _read_holidays(path, problems)
    if problems:
        problems.sort(key=lambda p: (p[0], p[1]))
        summary = f"{path}: {len(problems)} problem(s) in the reference data:"
        raise RefdataError(summary, [text for _file, _line, text in problems])
    return ReferenceData(
        units=tuple(units), agencies=tuple(agencies), procedures=tuple(procedures), holidays=tuple(holidays)
    )


class _Row:
    """One record of a file: its fields by column, and typed access that records problems."""

    def __init__(self, file: str, line: int, fields: dict[str, str], problems: list[Problem]) -> None:
        self.file = file
        self.line = line
        self.fields = fields
        self.failed = False
        self._problems = problems

    def problem(self, what: str) -> None:
        self.failed = True
        self._problems.append((FILES.index(self.file), self.line, f"{self.file}:{self.line}: {what}"))

    def text(self, column: str) -> str:
        value = self.fields[column]
        if not value:
            self.problem(f"{column} is empty")
        return value

    def optional(self, column: str) -> str | None:
        return self.fields[column] or None

    def code(self, column: str) -> str:
        value = self.fields[column]
        if not _CODE.fullmatch(value):
            self.problem(f"{column} {value!r} is not 1-32 of the characters A-Z a-z 0-9 . _ / -")
        return value

    def choice(self, column: str, allowed: tuple[L, ...]) -> L:
        value = self.fields[column]
        for option in allowed:
            if value == option:
                return option
        self.problem(f"{column} {value!r} is not one of {', '.join(allowed)}")
        return allowed[0]

    def day(self, column: str) -> date:
        value = self.fields[column]
        try:
            if not _DATE.fullmatch(value):
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            self.problem(f"{column} {value!r} is not a date YYYY-MM-DD")
            return date.min

    def flag(self, column: str) -> bool:
        value = self.fields[column].lower()
        if value not in _BOOLS:
            self.problem(f"{column} {self.fields[column]!r} is not true or false")
            return False
        return _BOOLS[value]

    def integer(self, column: str, low: int, high: int) -> int:
        value = self.fields[column]
        if not re.fullmatch(r"-?[0-9]+", value) or not low <= int(value) <= high:
            self.problem(f"{column} {value!r} is not a whole number in {low}..{high}")
            return low
        return int(value)


def _records(path: Path, name: str, columns: tuple[str, ...], problems: list[Problem]) -> Iterator[_Row]:
    """The records of one file; problems of the file as a whole are recorded, not raised."""
    index = FILES.index(name)
    try:
        text = (path / name).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        problems.append((index, 0, f"{name}: file not found in {path}"))
        return
    except UnicodeDecodeError as exc:
        problems.append((index, 0, f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return
    header: list[str] | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            values = [v.strip() for v in next(csv.reader([line], strict=True))]
        except csv.Error as exc:
            problems.append((index, number, f"{name}:{number}: not a CSV record: {exc}"))
            continue
        if header is None:
            header = values
            missing = [c for c in columns if c not in header]
            unknown = [c for c in header if c not in columns]
            if missing or unknown or len(set(header)) != len(header):
                what = f"the header must name the columns {', '.join(columns)}"
                what += f"; missing: {', '.join(missing)}" if missing else ""
                what += f"; unknown: {', '.join(unknown)}" if unknown else ""
                problems.append((index, number, f"{name}:{number}: {what}"))
                return
            continue
        if len(values) != len(header):
            problems.append((index, number, f"{name}:{number}: {len(values)} fields, expected {len(header)}"))
            continue
        yield _Row(name, number, dict(zip(header, values, strict=True)), problems)
    if header is None:
        problems.append((index, 0, f"{name}: no header row"))


def _first_time(row: _Row, code: str, seen: dict[str, int], what: str = "code") -> bool:
    """Record ``code`` as seen on this row; a problem when an earlier row had it."""
    if code in seen:
        row.problem(f"duplicate {what} {code!r} (first on line {seen[code]})")
        return False
    seen[code] = row.line
    return True


def _read_units(path: Path, problems: list[Problem]) -> tuple[list[Unit], dict[str, int]]:
    units: list[tuple[_Row, Unit]] = []
    seen: dict[str, int] = {}
    for row in _records(path, UNITS, UNIT_COLUMNS, problems):
        code = row.fields["code"]
        level = row.choice("level", LEVELS)
        level_known = not row.failed
        if not _DIGITS.fullmatch(code):
            row.problem(f"code {code!r} is not digits")
        elif level_known and len(code) != CODE_DIGITS[level]:
            row.problem(f"code {code!r} of a {level} must have {CODE_DIGITS[level]} digits")
        _first_time(row, code, seen)
        parent = row.optional("parent_code")
        if level_known and level == "province" and parent is not None:
            row.problem(f"a province has no parent_code, got {parent!r}")
        elif level_known and level != "province" and parent is None:
            row.problem(f"a {level} needs a parent_code")
        unit = Unit(
            code=code,
            name=row.text("name"),
            level=level,
            parent_code=parent,
            valid_from=row.day("valid_from"),
            valid_to=row.day("valid_to") if row.fields["valid_to"] else None,
            is_sample=row.flag("is_sample"),
        )
        if unit.valid_to is not None and not row.failed and unit.valid_to <= unit.valid_from:
            row.problem(f"valid_to {unit.valid_to} is not after valid_from {unit.valid_from}")
        units.append((row, unit))
    levels = {unit.code: unit.level for row, unit in units if not row.failed}
    for row, unit in units:
        if unit.parent_code is None or unit.level == "province":
            continue
        if unit.parent_code not in seen:
            row.problem(f"parent_code {unit.parent_code!r} is not a unit")
        elif unit.parent_code in levels and levels[unit.parent_code] not in PARENT_LEVELS[unit.level]:
            allowed = " or ".join(PARENT_LEVELS[unit.level])
            row.problem(
                f"parent_code {unit.parent_code!r} is a {levels[unit.parent_code]}; "
                f"a {unit.level}'s parent is a {allowed}"
            )
    return [unit for row, unit in units if not row.failed], seen


def _read_agencies(path: Path, problems: list[Problem], *, known_units: dict[str, int]) -> list[Agency]:
    agencies: list[Agency] = []
    seen: dict[str, int] = {}
    for row in _records(path, AGENCIES, AGENCY_COLUMNS, problems):
        agency = Agency(
            code=row.code("code"),
            name=row.text("name"),
            kind=row.choice("kind", AGENCY_KINDS),
            unit_code=row.fields["unit_code"],
        )
        _first_time(row, agency.code, seen)
        if agency.unit_code not in known_units:
            row.problem(f"unit_code {agency.unit_code!r} is not a unit")
        if not row.failed:
            agencies.append(agency)
    return agencies


def _read_procedures(path: Path, problems: list[Problem]) -> list[Procedure]:
    procedures: list[Procedure] = []
    seen: dict[str, int] = {}
    for row in _records(path, PROCEDURES, PROCEDURE_COLUMNS, problems):
        procedure = Procedure(
            code=row.code("code"),
            name=row.text("name"),
            sector=row.text("sector"),
            online_level=row.choice("online_level", ONLINE_LEVELS),
            level=row.choice("level", LEVELS),
            has_fee=row.flag("has_fee"),
            result_is_document=row.flag("result_is_document"),
            max_days=row.integer("max_days", 0, MAX_DAYS),
            essential=row.flag("essential"),
        )
        _first_time(row, procedure.code, seen)
        if not row.failed:
            procedures.append(procedure)
    return procedures


def _read_holidays(path: Path, problems: list[Problem]) -> list[Holiday]:
    holidays: list[Holiday] = []
    seen: dict[str, int] = {}
    for row in _records(path, HOLIDAYS, HOLIDAY_COLUMNS, problems):
        holiday = Holiday(day=row.day("day"), name=row.text("name"), working=row.flag("working"))
        if row.failed:
            continue
        _first_time(row, holiday.day.isoformat(), seen, what="day")
        if holiday.working and holiday.day.weekday() < 5:
            row.problem(
                f"working day {holiday.day} is a {holiday.day:%A}: a make-up working day is a weekend day"
            )
        if not row.failed:
            holidays.append(holiday)
    return holidays
