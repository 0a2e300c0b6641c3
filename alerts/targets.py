"""Targets (Directive 02/CT-TTg): KPI thresholds per unit or per level, read from YAML or CSV.

A target says: for KPI ``kpi``, in unit ``unit`` (or in every unit of ``level``), optionally
for one agency, the value over ``window`` must be ``comparison`` ``threshold``; below
``min_volume`` (the KPI's denominator, or the count itself) it is "insufficient data", not a
breach; ``severity`` grades the alert. Ratios are given as percentages (``50`` for 50 %).

YAML: a list of mappings with those keys. CSV: a header with those column names. Every problem
of a file is reported with its line before anything is saved (``TargetsError``).
"""

from __future__ import annotations

import csv
import io
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


def read(path: Path, *, units: dict[str, str], agencies: set[str]) -> list[Target]:
    """The targets of a ``.yaml``/``.yml`` or ``.csv`` file, checked against ``units`` (code →
    level) and ``agencies``."""
    text = path.read_text(encoding="utf-8-sig")
    rows = _csv_rows(text) if path.suffix.lower() == ".csv" else _yaml_rows(text, path)
    targets, problems = [], []
    for line, row in rows:
        try:
            targets.append(_target(row, units, agencies))
        except ValueError as exc:
            problems.append(f"{path.name}:{line}: {exc}")
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


def _target(row: dict[str, Any], units: dict[str, str], agencies: set[str]) -> Target:
    unknown = set(row) - set(FIELDS)
    if unknown:
        msg = f"unknown field(s) {', '.join(sorted(map(str, unknown)))}; expected {', '.join(FIELDS)}"
        raise ValueError(msg)
    text = {k: ("" if v is None else str(v).strip()) for k, v in row.items()}
    kpi_key = text.get("kpi", "")
    try:
        kpi = registry.get(kpi_key)
    except KeyError:
        msg = f"kpi: unknown KPI {kpi_key!r}"
        raise ValueError(msg) from None
    unit, level = _scope(text, units)
    agency = text.get("agency") or None
    if agency is not None and agency not in agencies:
        msg = f"agency: unknown agency code {agency!r}"
        raise ValueError(msg)
    comparison: Comparison = ">=" if kpi.direction != "lower_is_better" else "<="
    comparison = _choice(text, "comparison", (">=", "<="), comparison)  # type: ignore[assignment]
    threshold = _number(text, "threshold")
    if kpi.display == "percent" and not 0 <= threshold <= 100:
        msg = f"threshold: a percentage from 0 to 100, got {threshold}"
        raise ValueError(msg)
    min_volume = _number(text, "min_volume", "0")
    if min_volume != int(min_volume) or min_volume < 0:
        msg = f"min_volume: expected a whole number, got {text.get('min_volume')!r}"
        raise ValueError(msg)
    window = _choice(text, "window", WINDOWS, "month")
    severity: Severity = _choice(text, "severity", SEVERITIES, "warning")  # type: ignore[assignment]
    scope = f"{unit or level}{'/' + agency if agency else ''}"
    name = text.get("name") or f"{kpi_key} {comparison} {threshold} ({scope}, {window})"
    return Target(
        name, kpi_key, unit, level, agency, comparison, threshold, window, int(min_volume), severity
    )


def _scope(text: dict[str, str], units: dict[str, str]) -> tuple[str | None, str | None]:
    unit, level = text.get("unit") or None, text.get("level") or None
    if (unit is None) == (level is None):
        msg = "give either unit (one unit) or level (every unit of that level), not both"
        raise ValueError(msg)
    if unit is not None and unit not in units:
        msg = f"unit: unknown unit code {unit!r}"
        raise ValueError(msg)
    if level is not None and level not in LEVELS:
        msg = f"level: expected one of {', '.join(LEVELS)}, got {level!r}"
        raise ValueError(msg)
    return unit, level


def _choice(text: dict[str, str], field: str, allowed: tuple[str, ...], default: str) -> str:
    value = text.get(field) or default
    if value not in allowed:
        msg = f"{field}: expected one of {', '.join(allowed)}, got {value!r}"
        raise ValueError(msg)
    return value


def _number(text: dict[str, str], field: str, default: str = "") -> Decimal:
    raw = text.get(field) or default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        msg = f"{field}: expected a number, got {raw!r}"
        raise ValueError(msg) from None
    if not value.is_finite():
        msg = f"{field}: expected a finite number, got {raw!r}"
        raise ValueError(msg)
    return value
