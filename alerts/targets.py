"""Targets (Directive 02/CT-TTg): KPI thresholds per unit or per level, read from YAML or CSV.

A target says: for KPI ``kpi``, in unit ``unit`` (or in every unit of ``level``), optionally
for one agency, the value over ``window`` must be ``comparison`` ``threshold``; below
``min_volume`` (the KPI's denominator, or the count itself) it is "insufficient data", not a
breach; ``severity`` grades the alert. Ratios are given as percentages (``50`` for 50 %).

YAML: a list of mappings with those keys. CSV: a header with those column names. Every problem
of a file is reported with its line before anything is saved (``TargetsError``).

One function checks a row, whether it comes from a file or from the dashboard's form:
``validate`` returns the target, or every problem of the row by field (``Problem``: the field,
a code a screen translates, and the English text a file's report uses).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import yaml

from ioc.errors import IocError
from kpi import registry

Comparison = Literal[">=", "<="]
Severity = Literal["info", "warning", "critical"]
LEVELS = ("province", "district", "commune")
WINDOWS = ("today", "week", "month", "quarter", "year", "rolling_7_days", "rolling_30_days")
SEVERITIES = ("info", "warning", "critical")
COMPARISONS = (">=", "<=")
FIELDS = (
    "name",
    "kpi",
    "unit",
    "level",
    "agency",
    "comparison",
    "threshold",
    "window",
    "min_volume",
    "severity",
)
NAME_MAX = 200  # characters of a target's name


class TargetsError(IocError):
    """A targets file that cannot be loaded; the message lists every problem with its line."""


@dataclass(frozen=True)
class Target:
    name: str
    kpi: str
    unit: str | None  # one unit (and everything below it)…
    level: str | None  # …or every unit of a level
    agency: str | None
    comparison: Comparison
    threshold: Decimal  # percent for ratios, days for averages, a number for counts
    window: str
    min_volume: int
    severity: Severity


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field of a row (``field`` empty: the row as a whole).

    ``code`` names the problem for a screen to say in its language, with ``values`` filled in;
    ``str()`` is the English text of a file's report (``threshold: a percentage from 0 to 100…``).
    """

    field: str
    code: str
    text: str
    values: dict[str, str] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.field}: {self.text}" if self.field else self.text


@dataclass(frozen=True)
class Checked:
    """A row checked: its target when it has no problem, else its problems in the order found."""

    target: Target | None
    problems: tuple[Problem, ...]

    def by_field(self) -> dict[str, list[Problem]]:
        found: dict[str, list[Problem]] = {}
        for problem in self.problems:
            found.setdefault(problem.field, []).append(problem)
        return found


def read(path: Path, *, units: dict[str, str], agencies: Collection[str]) -> list[Target]:
    """The targets of a ``.yaml``/``.yml`` or ``.csv`` file, checked against ``units`` (code →
    level) and ``agencies``; a row's first problem is reported with its line."""
    text = path.read_text(encoding="utf-8-sig")
    rows = _csv_rows(text) if path.suffix.lower() == ".csv" else _yaml_rows(text, path)
    targets, problems = [], []
    for line, row in rows:
        checked = validate(row, units=units, agencies=agencies)
        if checked.target is not None:
            targets.append(checked.target)
        else:
            problems.append(f"{path.name}:{line}: {checked.problems[0]}")
    names = [t.name for t in targets]
    problems += [
        f"{path.name}: the name {n!r} is used twice" for n in sorted({n for n in names if names.count(n) > 1})
    ]
    if problems:
        raise TargetsError("\n".join(problems))
    if not targets:
        msg = f"{path.name}: no targets"
        raise TargetsError(msg)
    return targets


def _csv_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    return [
        (reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k})
        for row in reader
        if any((v or "").strip() for v in row.values())
    ]


def _yaml_rows(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"{path.name}: not YAML: {exc}"
        raise TargetsError(msg) from None
    if not isinstance(data, list) or node is None:
        msg = f"{path.name}: expected a list of targets"
        raise TargetsError(msg)
    return [
        (item.start_mark.line + 1, row if isinstance(row, dict) else {"": row})
        for item, row in zip(node.value, data, strict=True)
    ]


def validate(row: Mapping[str, Any], *, units: Mapping[str, str], agencies: Collection[str]) -> Checked:
    """Check one row (field name → value, as a file or a form gives it; empty means not given)
    against ``units`` (code → level) and ``agencies``: its target, or every problem by field."""
    unknown = set(row) - set(FIELDS)
    if unknown:
        names = ", ".join(sorted(map(str, unknown)))
        text = f"unknown field(s) {names}; expected {', '.join(FIELDS)}"
        return Checked(None, (Problem("", "unknown_fields", text, {"fields": names}),))
    given = {k: ("" if v is None else str(v).strip()) for k, v in row.items()}
    rules = _Rules(given)
    kpi_key = given.get("kpi", "")
    kpi = _kpi(kpi_key, rules)
    unit, level = _scope(given, units, rules)
    agency = given.get("agency") or None
    if agency is not None and agency not in agencies:
        rules.fail("agency", "unknown_agency", f"unknown agency code {agency!r}", got=agency)
    default: Comparison = "<=" if kpi is not None and kpi.direction == "lower_is_better" else ">="
    comparison = rules.choice("comparison", COMPARISONS, default)
    threshold = rules.number("threshold")
    if threshold is not None and kpi is not None and kpi.display == "percent" and not 0 <= threshold <= 100:
        text = f"a percentage from 0 to 100, got {threshold}"
        rules.fail("threshold", "percent_range", text, got=str(threshold))
    min_volume = rules.number("min_volume", "0")
    if min_volume is not None and (min_volume != int(min_volume) or min_volume < 0):
        raw = given.get("min_volume")
        rules.fail("min_volume", "whole_number", f"expected a whole number, got {raw!r}", got=str(raw))
    window = rules.choice("window", WINDOWS, "month")
    severity = rules.choice("severity", SEVERITIES, "warning")
    name = given.get("name", "")
    if len(name) > NAME_MAX:
        text = f"at most {NAME_MAX} characters, got {len(name)}"
        rules.fail("name", "too_long", text, most=str(NAME_MAX))
    if rules.problems or threshold is None or min_volume is None:
        return Checked(None, tuple(rules.problems))
    scope = f"{unit or level}{'/' + agency if agency else ''}"
    name = name or f"{kpi_key} {comparison} {threshold} ({scope}, {window})"
    target = Target(
        name,
        kpi_key,
        unit,
        level,
        agency,
        comparison,  # type: ignore[arg-type]  # checked against COMPARISONS
        threshold,
        window,
        int(min_volume),
        severity,  # type: ignore[arg-type]  # checked against SEVERITIES
    )
    return Checked(target, ())


class _Rules:
    """The problems found so far in one row, and the checks that add to them."""

    def __init__(self, given: dict[str, str]) -> None:
        self.given = given
        self.problems: list[Problem] = []

    def fail(self, field: str, code: str, text: str, **values: str) -> None:
        self.problems.append(Problem(field, code, text, values))

    def choice(self, field: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.given.get(field) or default
        if value not in allowed:
            text = f"expected one of {', '.join(allowed)}, got {value!r}"
            self.fail(field, "choice", text, allowed=", ".join(allowed), got=value)
        return value

    def number(self, field: str, default: str = "") -> Decimal | None:
        raw = self.given.get(field) or default
        try:
            value = Decimal(raw)
        except InvalidOperation:
            self.fail(field, "not_number", f"expected a number, got {raw!r}", got=raw)
            return None
        if not value.is_finite():
            self.fail(field, "not_finite", f"expected a finite number, got {raw!r}", got=raw)
            return None
        return value


def _kpi(key: str, rules: _Rules) -> registry.Kpi | None:
    try:
        return registry.get(key)
    except KeyError:
        rules.fail("kpi", "unknown_kpi", f"unknown KPI {key!r}", got=key)
        return None


def _scope(given: dict[str, str], units: Mapping[str, str], rules: _Rules) -> tuple[str | None, str | None]:
    unit, level = given.get("unit") or None, given.get("level") or None
    if (unit is None) == (level is None):
        text = "give either unit (one unit) or level (every unit of that level), not both"
        rules.fail("", "scope", text)
        return unit, level
    if unit is not None and unit not in units:
        rules.fail("unit", "unknown_unit", f"unknown unit code {unit!r}", got=unit)
    if level is not None and level not in LEVELS:
        allowed = ", ".join(LEVELS)
        rules.fail("level", "choice", f"expected one of {allowed}, got {level!r}", allowed=allowed, got=level)
    return unit, level
