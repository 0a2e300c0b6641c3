"""KPI values from the store, exactly as DOMAIN.md §3 defines them (and kpi/reference.py computes).

``values`` answers for one unit with everything below it; ``children_values`` for each child
of a unit with everything below the child. Both read ``applications`` (the folded state of
every application) with the unit tree of ``ref_units`` and the catalog of ``ref_procedures``,
in one parametrised query: counts and numerators are SQL ``FILTER``s over the applications
received or resolved in the period, or open at ``t`` or now. Two KPIs need a little Python at
the edge: which online procedures a unit offers (the catalog, rule 4) and working days (the
holiday calendar, rule 8).

Rules the SQL follows (see kpi/reference.py for the same choices in plain Python):

- "by t" is strictly before ``t``; late is strictly after the effective deadline;
- the effective deadline at ``x`` is ``due_at`` plus the supplement waiting time before
  ``least(x, ended_at)`` (``supplement_time``, migration 0007), intervals cut at the end;
- an application is late at ``t`` with more than one supplement request before ``t``, or ended
  before ``t`` after its deadline, or open at ``t`` past it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import psycopg
from psycopg.rows import dict_row

from kpi.model import Filters, KpiValue, Period
from kpi.registry import ratio
from kpi.workdays import WorkCalendar
from refdata.model import Procedure, Unit

Connection = psycopg.Connection[tuple[object, ...]]

DUE_SOON = timedelta(hours=24)
CHANNELS = ("online", "in_person", "postal")
LEVEL_RANK = {"province": 0, "district": 1, "commune": 2}

# %(by_child)s false: every unit below %(unit)s (itself included) answers as %(unit)s;
# true: each answers as the child of %(unit)s it lies under.
_SCOPE = """
WITH RECURSIVE tree (code, scope) AS (
    SELECT code, CASE WHEN %(by_child)s THEN NULL ELSE code END FROM ref_units WHERE code = %(unit)s
    UNION ALL
    SELECT u.code, coalesce(t.scope, u.code) FROM ref_units u JOIN tree t ON u.parent_code = t.code
),
chosen AS (
    SELECT t.scope, a.*, coalesce(p.result_is_document, false) AS document
      FROM applications a
      JOIN tree t ON t.code = a.unit_code AND t.scope IS NOT NULL
      LEFT JOIN ref_procedures p ON p.code = a.procedure_code
     WHERE (%(agency)s::text IS NULL OR a.agency_code = %(agency)s)
       AND (%(procedure)s::text IS NULL OR a.procedure_code = %(procedure)s)
       AND (%(sector)s::text IS NULL OR p.sector = %(sector)s)
       AND (%(channel)s::text IS NULL OR a.channel = %(channel)s)
       AND (   (a.received_at >= %(start)s AND a.received_at < %(end)s)
            OR (a.end_kind = 'resolved' AND a.ended_at >= %(start)s AND a.ended_at < %(end)s)
            OR (a.received_at < %(now)s AND (a.ended_at IS NULL OR a.ended_at >= %(t)s)))
),
facts AS (
    SELECT c.*,
           coalesce(c.received_at >= %(start)s AND c.received_at < %(end)s, false) AS received_in,
           coalesce(c.end_kind = 'resolved' AND c.ended_at >= %(start)s AND c.ended_at < %(end)s, false)
               AS resolved_in,
           coalesce(c.received_at < %(t)s AND (c.ended_at IS NULL OR c.ended_at >= %(t)s), false) AS open_t,
           coalesce(c.received_at < %(now)s AND (c.ended_at IS NULL OR c.ended_at >= %(now)s), false)
               AS open_now,
           coalesce(c.ended_at < %(t)s, false) AS ended_t,
           c.due_at + supplement_time(c.supplement_periods, least(%(t)s, c.ended_at)) AS deadline_t,
           c.due_at + supplement_time(c.supplement_periods, least(%(now)s, c.ended_at)) AS deadline_now,
           (SELECT count(*) FROM unnest(c.supplement_requested_at) r WHERE r < %(t)s) AS requests_t
      FROM chosen c
),
judged AS (
    SELECT f.*,
           (f.requests_t > 1
            OR (f.ended_t AND f.ended_at > f.deadline_t)
            OR (NOT f.ended_t AND %(t)s > f.deadline_t)) AS late_t
      FROM facts f
)"""

COUNTS = (
    _SCOPE
    + """
SELECT scope,
       count(*) FILTER (WHERE received_in) AS received,
       count(*) FILTER (WHERE received_in AND channel = 'online') AS received_online,
       count(*) FILTER (WHERE received_in AND channel = 'in_person') AS received_in_person,
       count(*) FILTER (WHERE received_in AND channel = 'postal') AS received_postal,
       count(*) FILTER (WHERE received_in AND channel = 'online' AND online_level = 'full')
           AS received_full_online,
       count(*) FILTER (WHERE received_in AND NOT late_t) AS received_on_time,
       count(*) FILTER (WHERE received_in AND application_digitized_at < %(t)s
                          AND (NOT (ended_t AND end_kind = 'resolved' AND result = 'approved' AND document)
                               OR coalesce(result_digitized_at < %(t)s, false)))
           AS received_digitized,
       count(*) FILTER (WHERE received_in AND reused_data) AS received_reused,
       count(*) FILTER (WHERE received_in AND vneid_authenticated) AS received_vneid,
       count(*) FILTER (WHERE received_in AND paid_vnd > 0) AS received_with_fee,
       count(*) FILTER (WHERE received_in AND paid_vnd > 0 AND paid_online) AS received_paid_online,
       count(*) FILTER (WHERE received_in AND (late_t OR coalesce(rating <= 2, false)))
           AS received_late_or_unsatisfied,
       count(*) FILTER (WHERE resolved_in) AS resolved,
       count(*) FILTER (WHERE resolved_in AND channel = 'online') AS resolved_online,
       count(*) FILTER (WHERE resolved_in AND channel = 'in_person') AS resolved_in_person,
       count(*) FILTER (WHERE resolved_in AND channel = 'postal') AS resolved_postal,
       count(*) FILTER (WHERE resolved_in AND document AND result = 'approved') AS resolved_document,
       count(*) FILTER (WHERE resolved_in AND document AND result = 'approved' AND e_result)
           AS resolved_document_e_result,
       count(*) FILTER (WHERE open_t) AS open,
       count(*) FILTER (WHERE open_t AND channel = 'online') AS open_online,
       count(*) FILTER (WHERE open_t AND channel = 'in_person') AS open_in_person,
       count(*) FILTER (WHERE open_t AND channel = 'postal') AS open_postal,
       count(*) FILTER (WHERE open_now AND %(now)s > deadline_now) AS overdue_open,
       count(*) FILTER (WHERE open_now AND %(now)s <= deadline_now AND deadline_now <= %(due_soon)s)
           AS due_soon_open,
       coalesce(array_agg(DISTINCT procedure_code) FILTER (WHERE received_in AND channel = 'online'),
                '{}') AS online_procedures
  FROM judged
 GROUP BY scope
"""
)

# Rule 8: the applications resolved in the period, with their supplement intervals cut at the end.
RESOLUTIONS = (
    _SCOPE  # noqa: S608 - literal pieces joined, never input
    + """
SELECT scope, received_at, ended_at,
       array(SELECT array[lower(r), upper(r)]
               FROM unnest(supplement_periods * tstzmultirange(tstzrange(NULL, ended_at))) r) AS waits
  FROM judged
 WHERE resolved_in AND received_at IS NOT NULL
"""
)

CHILDREN = "SELECT code FROM ref_units WHERE parent_code = %(unit)s ORDER BY code"


@dataclass(frozen=True)
class Catalog:
    """What rule 4 and rule 8 need from the reference data."""

    units: Mapping[str, Unit]
    procedures: Iterable[Procedure]
    calendar: WorkCalendar


def values(
    conn: Connection,
    catalog: Catalog,
    unit_code: str,
    period: Period,
    *,
    now: datetime,
    tz: tzinfo,
    filters: Filters = Filters(),
) -> dict[str, KpiValue]:
    """Every KPI of the registry for ``unit_code`` and everything below it, over ``period``."""
    return _answer(conn, catalog, unit_code, period, now=now, tz=tz, filters=filters, by_child=False)[
        unit_code
    ]


def children_values(
    conn: Connection,
    catalog: Catalog,
    unit_code: str,
    period: Period,
    *,
    now: datetime,
    tz: tzinfo,
    filters: Filters = Filters(),
) -> dict[str, dict[str, KpiValue]]:
    """Every KPI for each child of ``unit_code`` (with everything below it), by child code."""
    return _answer(conn, catalog, unit_code, period, now=now, tz=tz, filters=filters, by_child=True)


def _answer(
    conn: Connection,
    catalog: Catalog,
    unit_code: str,
    period: Period,
    *,
    now: datetime,
    tz: tzinfo,
    filters: Filters,
    by_child: bool,
) -> dict[str, dict[str, KpiValue]]:
    start, end = period.bounds(tz)
    t = period.evaluated_at(tz, now)
    params: dict[str, Any] = {
        "unit": unit_code,
        "by_child": by_child,
        "start": start,
        "end": end,
        "t": t,
        "now": now,
        "due_soon": now + DUE_SOON,
        "agency": filters.agency_code,
        "procedure": filters.procedure_code,
        "sector": filters.sector,
        "channel": filters.channel,
    }
    scopes = [str(r[0]) for r in conn.execute(CHILDREN, {"unit": unit_code})] if by_child else [unit_code]
    with conn.cursor(row_factory=dict_row) as cur:
        counts = {row["scope"]: row for row in cur.execute(COUNTS, params)}
        days: dict[str, list[int]] = defaultdict(list)
        for row in cur.execute(RESOLUTIONS, params):
            days[row["scope"]].append(_working_days(row, catalog.calendar, tz))
    return {
        scope: _kpis(counts.get(scope, {}), days.get(scope, []), _offered(catalog, scope, filters))
        for scope in scopes
    }


def _working_days(row: Mapping[str, Any], calendar: WorkCalendar, tz: tzinfo) -> int:
    def local(at: datetime) -> date:
        return at.astimezone(tz).date()

    waits = [(local(lower), local(upper)) for lower, upper in row["waits"]]
    return calendar.working_days_between(local(row["received_at"]), local(row["ended_at"]), waits)


def _offered(catalog: Catalog, unit_code: str, filters: Filters) -> frozenset[str]:
    """Rule 4: the online procedures handled at the unit's level or below it."""
    rank = LEVEL_RANK[catalog.units[unit_code].level]
    return frozenset(
        p.code
        for p in catalog.procedures
        if p.online_level in ("full", "partial")
        and LEVEL_RANK[p.level] >= rank
        and filters.procedure_code in (None, p.code)
        and filters.sector in (None, p.sector)
    )


def _kpis(counts: Mapping[str, Any], days: list[int], offered: frozenset[str]) -> dict[str, KpiValue]:
    def n(name: str) -> int:
        return int(counts.get(name, 0))

    def of(key: str, numerator: int, denominator: int) -> KpiValue:
        return KpiValue(key, numerator, denominator, ratio(numerator, denominator))

    def count(key: str, name: str | None = None) -> KpiValue:
        value = n(name or key)
        return KpiValue(key, value, None, value)

    received, resolved = n("received"), n("resolved")
    used = offered & set(counts.get("online_procedures", ()))
    kpis = [
        of("online_submission_rate", n("received_online"), received),
        of("full_online_rate", n("received_full_online"), received),
        of("online_resolution_rate", n("resolved_online"), resolved),
        of("services_with_online_apps_rate", len(used), len(offered)),
        of("on_time_rate", n("received_on_time"), received),
        count("overdue_open"),
        count("due_soon_open"),
        of("avg_processing_days", sum(days), len(days)),
        of("digitization_rate", n("received_digitized"), received),
        of("e_result_rate", n("resolved_document_e_result"), n("resolved_document")),
        of("data_reuse_rate", n("received_reused"), received),
        of("vneid_rate", n("received_vneid"), received),
        of("online_payment_rate", n("received_paid_online"), n("received_with_fee")),
        of("satisfaction_rate", received - n("received_late_or_unsatisfied"), received),
        count("received"),
        *(count(f"received_{c}") for c in CHANNELS),
        count("resolved"),
        *(count(f"resolved_{c}") for c in CHANNELS),
        count("open"),
        *(count(f"open_{c}") for c in CHANNELS),
    ]
    return {k.key: k for k in kpis}
