"""What the alert engine observes: each target's KPI for each unit it covers, read through the
same query module as the dashboard (``kpi.queries``).

A target naming a unit is read for that unit (with everything below it, as the dashboard shows
it); a target naming a level is read for every unit of that level in force today, one query per
parent (``children_values``: the provinces are the children of the country). Targets sharing a
window and an agency share their queries.

A partial read (``touched``: the units ingest changed, with their ancestors; ``due``: pairs
whose pending breach or hold is due) reads only the queries that answer for one of them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from fractions import Fraction

from alerts.machine import Observation, Rule
from alerts.targets import Target
from kpi import periods, queries, registry
from kpi.model import COUNTRY, Filters, KpiValue, Period
from refdata.model import Unit

Connection = queries.Connection
ROLLING = {"rolling_7_days": 7, "rolling_30_days": 30}


@dataclass(frozen=True)
class Reading:
    """One target's KPI for one unit."""

    target: Target
    unit_code: str
    kpi: KpiValue

    @property
    def observation(self) -> Observation:
        return observation(self.kpi)


def observation(value: KpiValue) -> Observation:
    """The value and the volume the minimum is compared with: the denominator, or the count."""
    volume = value.numerator if value.denominator is None else value.denominator
    return Observation(value.value, volume)


def rule(target: Target, hysteresis: Fraction) -> Rule:
    """``target`` in the KPI's own scale: a percentage threshold and margin become fractions."""
    scale = Fraction(1, 100) if registry.get(target.kpi).display == "percent" else Fraction(1)
    return Rule(
        comparison=target.comparison,
        threshold=Fraction(target.threshold) * scale,
        margin=hysteresis * scale,
        min_volume=target.min_volume,
    )


def period(window: str, now: datetime) -> Period:
    """A target's window as local days ``[start, end)`` at ``now`` (local time)."""
    if window in ROLLING:
        return periods.rolling(ROLLING[window], now)
    if window in periods.NAMES:
        return periods.named(window, now.date())
    msg = f"unknown window {window!r}"
    raise ValueError(msg)


def in_force(unit: Unit, today: date) -> bool:
    return unit.valid_from <= today and (unit.valid_to is None or unit.valid_to > today)


def covered(target: Target, units: Mapping[str, Unit], today: date) -> list[str]:
    """The units ``target`` is evaluated for."""
    if target.unit is not None:
        return [target.unit] if target.unit in units else []
    return sorted(c for c, u in units.items() if u.level == target.level and in_force(u, today))


def touched(changed: Iterable[str], units: Mapping[str, Unit]) -> frozenset[str]:
    """The changed units and every unit above them: those whose KPIs may have moved."""
    found: set[str] = set()
    for leaf in changed:
        code: str | None = leaf
        while code is not None and code in units and code not in found:
            found.add(code)
            code = units[code].parent_code
    return frozenset(found)


def read(
    conn: Connection,
    catalog: queries.Catalog,
    targets: Sequence[Target],
    *,
    now: datetime,
    tz: tzinfo,
    only: frozenset[str] | None = None,
    due: Collection[tuple[str, str]] = (),
) -> list[Reading]:
    """Every target's KPI for every unit it covers, at ``now``; with ``only`` (touched units),
    just the queries answering for one of those units or for a (target, unit) of ``due``."""

    def wanted(target: Target, codes: Iterable[str]) -> bool:
        return only is None or any(c in only or (target.name, c) in due for c in codes)

    local = now.astimezone(tz)
    units = catalog.units
    today = local.date()
    answers: dict[tuple[str, str | None, str, bool], dict[str, dict[str, KpiValue]]] = {}

    def ask(window: str, agency: str | None, code: str, children: bool) -> dict[str, dict[str, KpiValue]]:
        key = (window, agency, code, children)
        if key not in answers:
            when, filters = period(window, local), Filters(agency_code=agency)
            if children:
                answers[key] = queries.children_values(
                    conn, catalog, code, when, now=now, tz=tz, filters=filters
                )
            else:
                answers[key] = {
                    code: queries.values(conn, catalog, code, when, now=now, tz=tz, filters=filters)
                }
        return answers[key]

    found: list[Reading] = []
    for target in targets:
        codes = covered(target, units, today)
        if target.unit is not None:
            found += [
                Reading(target, c, ask(target.window, target.agency, c, False)[c][target.kpi])
                for c in codes
                if wanted(target, [c])
            ]
            continue
        for parent, children in _by_parent(codes, units).items():
            if not wanted(target, children):
                continue
            answer = ask(target.window, target.agency, parent, True)
            found += [Reading(target, c, answer[c][target.kpi]) for c in children if c in answer]
    return found


def _by_parent(codes: Iterable[str], units: Mapping[str, Unit]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for code in codes:
        grouped.setdefault(units[code].parent_code or COUNTRY, []).append(code)
    return grouped
