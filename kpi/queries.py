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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row

from kpi.model import Filters, KpiValue, Period
from kpi.registry import ratio
from kpi.workdays import WorkCalendar
from refdata.model import Procedure, ReferenceData, Unit

Connection = psycopg.Connection[tuple[object, ...]]

DUE_SOON = timedelta(hours=24)
CHANNELS = ("online", "in_person", "postal")
LEVEL_RANK = {"province": 0, "district": 1, "commune": 2}
Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")
Breakdown = Literal["agency", "procedure"]
BREAKDOWNS: tuple[Breakdown, ...] = ("agency", "procedure")
Grouping = Literal["unit", "child", "agency", "procedure"]

# Grouping and buckets are parameters of one definition of the population and its facts:
# %(by)s 'unit': every unit below %(unit)s (itself included) answers as %(unit)s; 'child': each
# answers as the child of %(unit)s it lies under; 'agency' / 'procedure': by that code of the
# application, within the subtree of %(unit)s. Buckets are the periods asked about, each with its
# start, end and evaluation time t (rule 2): one for ``values``, one per day/week/month for
# ``series``. An application joins each bucket it is received in, resolved in, or open at t of;
# ``near`` narrows the buckets to look at (a range of indices, found by binary search with
# ``width_bucket`` over the sorted starts and t's, from its receipt to its end) so that the join
# is on equality, and the conditions themselves decide. (An array, not a bare generate_series:
# the planner guesses 10 rows for it rather than 1000, and does not spend seconds on JIT.)
# Each query below adds only the pieces it reads (an unread CTE that reads another would make
# PostgreSQL materialise that one).
_POPULATION = """
WITH RECURSIVE tree (code, scope) AS (
    SELECT code, CASE WHEN %(by)s = 'child' THEN NULL ELSE code END FROM ref_units WHERE code = %(unit)s
    UNION ALL
    SELECT u.code, coalesce(t.scope, u.code) FROM ref_units u JOIN tree t ON u.parent_code = t.code
),
buckets (bucket, start, stop, t) AS (
    SELECT b.ordinal - 1, b.start, b.stop, b.t
      FROM unnest(%(starts)s::timestamptz[], %(stops)s::timestamptz[], %(ts)s::timestamptz[])
           WITH ORDINALITY AS b (start, stop, t, ordinal)
),
span AS (SELECT min(start) AS start, max(stop) AS stop, min(t) AS t FROM buckets),
chosen AS (
    SELECT CASE %(by)s WHEN 'agency' THEN a.agency_code WHEN 'procedure' THEN a.procedure_code
                       ELSE t.scope END AS scope,
           a.*, coalesce(p.result_is_document, false) AS document
      FROM span, applications a
      JOIN tree t ON t.code = a.unit_code AND t.scope IS NOT NULL
      LEFT JOIN ref_procedures p ON p.code = a.procedure_code
     WHERE (%(agency)s::text IS NULL OR a.agency_code = %(agency)s)
       AND (%(procedure)s::text IS NULL OR a.procedure_code = %(procedure)s)
       AND (%(sector)s::text IS NULL OR p.sector = %(sector)s)
       AND (%(channel)s::text IS NULL OR a.channel = %(channel)s)
       AND (   (a.received_at >= span.start AND a.received_at < span.stop)
            OR (a.end_kind = 'resolved' AND a.ended_at >= span.start AND a.ended_at < span.stop)
            OR (a.received_at < %(now)s AND (a.ended_at IS NULL OR a.ended_at >= span.t)))
),
facts AS (
    SELECT c.*, b.bucket,
           coalesce(c.received_at >= b.start AND c.received_at < b.stop, false) AS received_in,
           coalesce(c.end_kind = 'resolved' AND c.ended_at >= b.start AND c.ended_at < b.stop, false)
               AS resolved_in,
           coalesce(c.received_at < b.t AND (c.ended_at IS NULL OR c.ended_at >= b.t), false) AS open_t,
           coalesce(c.ended_at < b.t, false) AS ended_t,
           b.t,
           CASE WHEN isempty(c.supplement_periods) THEN c.due_at
                ELSE c.due_at + supplement_time(c.supplement_periods, least(b.t, c.ended_at))
           END AS deadline_t,
           CASE WHEN cardinality(c.supplement_requested_at) > 1
                THEN (SELECT count(*) FROM unnest(c.supplement_requested_at) r WHERE r < b.t) > 1
                ELSE false END AS many_requests_t
      FROM chosen c
     CROSS JOIN LATERAL unnest(array(SELECT generate_series(
           greatest(0, coalesce(least(width_bucket(c.received_at, %(starts)s::timestamptz[]) - 1,
                                      width_bucket(c.received_at, %(ts)s::timestamptz[])),
                                width_bucket(c.ended_at, %(starts)s::timestamptz[]) - 1)),
           coalesce(greatest(width_bucket(c.ended_at, %(starts)s::timestamptz[]),
                             width_bucket(c.ended_at, %(ts)s::timestamptz[])) - 1,
                    cardinality(%(starts)s::timestamptz[]) - 1)))) AS near (bucket)
      JOIN buckets b
        ON b.bucket = near.bucket
       AND (   (c.received_at >= b.start AND c.received_at < b.stop)
            OR (c.end_kind = 'resolved' AND c.ended_at >= b.start AND c.ended_at < b.stop)
            OR (c.received_at < b.t AND (c.ended_at IS NULL OR c.ended_at >= b.t)))
)"""


# Rule 3 at each bucket's t.
_JUDGED = """,
judged AS (
    SELECT f.*,
           (f.many_requests_t
            OR (f.ended_t AND f.ended_at > f.deadline_t)
            OR (NOT f.ended_t AND f.t > f.deadline_t)) AS late_t
      FROM facts f
)"""

# Rule 3 at now: computed once per group, whatever the buckets.
_AT_NOW = """,
open_at_now AS (
    SELECT c.*,
           supplement_time(c.supplement_periods, least(%(now)s, c.ended_at)) AS waited,
           c.due_at + supplement_time(c.supplement_periods, least(%(now)s, c.ended_at)) AS deadline_now
      FROM chosen c
     WHERE c.received_at < %(now)s AND (c.ended_at IS NULL OR c.ended_at >= %(now)s)
)"""

COUNTS = (
    _POPULATION  # noqa: S608 - literal pieces joined, never input
    + _JUDGED
    + _AT_NOW
    + """,
per_bucket AS (
    SELECT scope, bucket,
           count(*) FILTER (WHERE received_in) AS received,
           count(*) FILTER (WHERE received_in AND channel = 'online') AS received_online,
           count(*) FILTER (WHERE received_in AND channel = 'in_person') AS received_in_person,
           count(*) FILTER (WHERE received_in AND channel = 'postal') AS received_postal,
           count(*) FILTER (WHERE received_in AND channel = 'online' AND online_level = 'full')
               AS received_full_online,
           count(*) FILTER (WHERE received_in AND NOT late_t) AS received_on_time,
           count(*) FILTER (WHERE received_in AND application_digitized_at < t
                              AND (NOT (ended_t AND end_kind = 'resolved' AND result = 'approved'
                                        AND document)
                                   OR coalesce(result_digitized_at < t, false)))
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
           coalesce(array_agg(DISTINCT procedure_code) FILTER (WHERE received_in AND channel = 'online'),
                    '{}') AS online_procedures
      FROM judged
     GROUP BY scope, bucket
),
at_now AS (
    SELECT scope AS now_scope,
           count(*) FILTER (WHERE %(now)s > deadline_now) AS overdue_open,
           count(*) FILTER (WHERE %(now)s <= deadline_now AND deadline_now <= %(due_soon)s) AS due_soon_open
      FROM open_at_now
     GROUP BY scope
)
SELECT * FROM per_bucket FULL JOIN at_now ON now_scope = scope
"""
)

# Rule 8: the applications resolved in each bucket, with their supplement intervals cut at the end.
RESOLUTIONS = (
    _POPULATION  # noqa: S608 - literal pieces joined, never input
    + """
SELECT scope, bucket, received_at, ended_at,
       CASE WHEN isempty(supplement_periods) THEN '{}'
            ELSE array(SELECT array[lower(r), upper(r)]
                         FROM unnest(supplement_periods * tstzmultirange(tstzrange(NULL, ended_at))) r)
       END AS waits
  FROM facts
 WHERE resolved_in AND received_at IS NOT NULL
"""
)

# Rule 3 at now: the open applications overdue or due within 24 h, most overdue first.
ACTIONS = (
    _POPULATION
    + _AT_NOW
    + """
SELECT application_id, unit_code, agency_code, procedure_code, received_at, due_at,
       deadline_now AS deadline,
       CASE WHEN %(now)s > deadline_now THEN 'overdue' ELSE 'due_soon' END AS status,
       waited
  FROM open_at_now
 WHERE deadline_now <= %(due_soon)s
 ORDER BY deadline_now, application_id
 LIMIT %(limit)s
"""
)

CHILDREN = "SELECT code FROM ref_units WHERE parent_code = %(unit)s ORDER BY code"


@dataclass(frozen=True)
class Catalog:
    """What rule 4 and rule 8 need from the reference data."""

    units: Mapping[str, Unit]
    procedures: Iterable[Procedure]
    calendar: WorkCalendar

    @classmethod
    def of(cls, data: ReferenceData) -> Catalog:
        return cls({u.code: u for u in data.units}, data.procedures, WorkCalendar(data.holidays))


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
    answer = _answer(conn, catalog, unit_code, [period], now=now, tz=tz, filters=filters, by="unit")
    return answer[unit_code][0]


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
    answer = _answer(conn, catalog, unit_code, [period], now=now, tz=tz, filters=filters, by="child")
    return {scope: kpis[0] for scope, kpis in answer.items()}


def series(
    conn: Connection,
    catalog: Catalog,
    unit_code: str,
    period: Period,
    grain: Grain,
    *,
    now: datetime,
    tz: tzinfo,
    filters: Filters = Filters(),
) -> list[tuple[Period, dict[str, KpiValue]]]:
    """Every KPI of ``unit_code`` (with everything below it) for each bucket of ``period``.

    Each bucket is evaluated as ``values`` evaluates it as a period of its own (its own
    ``t = min(bucket end, now)``); ``overdue_open`` and ``due_soon_open`` are at now, so the
    same in every bucket. One query answers every bucket.
    """
    chosen = buckets(period, grain)
    if not chosen:
        return []
    answer = _answer(conn, catalog, unit_code, chosen, now=now, tz=tz, filters=filters, by="unit")
    return list(zip(chosen, answer[unit_code], strict=True))


def breakdown(
    conn: Connection,
    catalog: Catalog,
    unit_code: str,
    period: Period,
    by: Breakdown,
    *,
    now: datetime,
    tz: tzinfo,
    filters: Filters = Filters(),
) -> dict[str, dict[str, KpiValue]]:
    """Every KPI per agency or per procedure code within ``unit_code`` and everything below it.

    Each entry equals ``values`` with the filter of that agency or procedure added. The keys are
    the codes of the applications that count anywhere: received or resolved in the period, or
    open at its ``t`` or now. ``services_with_online_apps_rate`` follows the filters (see
    kpi/reference.py): per procedure, its denominator is 1 when the unit offers that procedure
    online (rule 4), else 0; per agency, it is every online procedure the unit offers, and its
    numerator those with an online application received from that agency.
    """
    if by not in BREAKDOWNS:
        msg = f"unknown breakdown {by!r}; expected one of {', '.join(BREAKDOWNS)}"
        raise ValueError(msg)
    answer = _answer(conn, catalog, unit_code, [period], now=now, tz=tz, filters=filters, by=by)
    return {key: kpis[0] for key, kpis in sorted(answer.items())}


@dataclass(frozen=True)
class Action:
    """An open application that needs attention now (rule 3)."""

    application_id: str
    unit_code: str
    agency_code: str
    procedure_code: str
    received_at: datetime
    due_at: datetime
    deadline: datetime  # due_at + supplement waiting so far
    status: Literal["overdue", "due_soon"]
    supplement_waiting: timedelta


def action_list(
    conn: Connection,
    unit_code: str,
    *,
    now: datetime,
    filters: Filters = Filters(),
    limit: int = 200,
) -> list[Action]:
    """The open applications of ``unit_code`` and below that are overdue or due within 24 h at now.

    Exactly those ``overdue_open`` and ``due_soon_open`` count (the same SQL), most overdue first
    (earliest effective deadline), at most ``limit``.
    """
    params = _params(unit_code, [(now, now, now)], now=now, filters=filters, by="unit")
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(ACTIONS, {**params, "limit": limit}).fetchall()
    return [
        Action(
            application_id=row["application_id"],
            unit_code=row["unit_code"],
            agency_code=row["agency_code"],
            procedure_code=row["procedure_code"],
            received_at=row["received_at"],
            due_at=row["due_at"],
            deadline=row["deadline"],
            status="overdue" if row["status"] == "overdue" else "due_soon",
            supplement_waiting=row["waited"],
        )
        for row in rows
    ]


def buckets(period: Period, grain: Grain) -> list[Period]:
    """The days, weeks (from Monday) or months of ``period``; the first and last cut to it."""
    if grain not in GRAINS:
        msg = f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}"
        raise ValueError(msg)
    found: list[Period] = []
    start = period.start
    while start < period.end:
        if grain == "day":
            following = start + timedelta(days=1)
        elif grain == "week":
            following = start + timedelta(days=7 - start.weekday())
        else:
            following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        found.append(Period(start, min(following, period.end)))
        start = following
    return found


def _params(
    unit_code: str,
    bounds: Sequence[tuple[datetime, datetime, datetime]],
    *,
    now: datetime,
    filters: Filters,
    by: Grouping,
) -> dict[str, Any]:
    return {
        "unit": unit_code,
        "by": by,
        "starts": [b[0] for b in bounds],
        "stops": [b[1] for b in bounds],
        "ts": [b[2] for b in bounds],
        "now": now,
        "due_soon": now + DUE_SOON,
        "agency": filters.agency_code,
        "procedure": filters.procedure_code,
        "sector": filters.sector,
        "channel": filters.channel,
    }


def _answer(
    conn: Connection,
    catalog: Catalog,
    unit_code: str,
    periods: Sequence[Period],
    *,
    now: datetime,
    tz: tzinfo,
    filters: Filters,
    by: Grouping,
) -> dict[str, list[dict[str, KpiValue]]]:
    """Every KPI of each group (scope) for each of ``periods``, in their order."""
    bounds = [(*p.bounds(tz), p.evaluated_at(tz, now)) for p in periods]
    params = _params(unit_code, bounds, now=now, filters=filters, by=by)
    counts: dict[tuple[str, int], dict[str, Any]] = {}
    at_now: dict[str, dict[str, Any]] = {}
    days: dict[tuple[str, int], list[int]] = defaultdict(list)
    with conn.cursor(row_factory=dict_row) as cur:
        for row in cur.execute(COUNTS, params):
            if row["scope"] is not None:
                counts[row["scope"], row["bucket"]] = row
            if row["now_scope"] is not None:
                at_now[row["now_scope"]] = row
        counted: dict[_Dates, int] = {}  # working days depend only on the local dates
        for row in cur.execute(RESOLUTIONS, params):
            dates = _local_dates(row, tz)
            if dates not in counted:
                received, resolved, waits = dates
                counted[dates] = catalog.calendar.working_days_between(received, resolved, waits)
            days[row["scope"], row["bucket"]].append(counted[dates])
    if by == "child":
        scopes = [str(r[0]) for r in conn.execute(CHILDREN, {"unit": unit_code})]
    elif by == "unit":
        scopes = [unit_code]
    else:
        scopes = sorted({scope for scope, _ in counts} | set(at_now))
    return {
        scope: [
            _kpis(
                {**counts.get((scope, i), {}), **_now_counts(at_now.get(scope, {}))},
                days.get((scope, i), []),
                _offered(catalog, scope, unit_code, filters, by),
            )
            for i in range(len(periods))
        ]
        for scope in scopes
    }


def _now_counts(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row.get(name, 0) for name in ("overdue_open", "due_soon_open")}


_Dates = tuple[date, date, tuple[tuple[date, date], ...]]


def _local_dates(row: Mapping[str, Any], tz: tzinfo) -> _Dates:
    """Rule 8 in local dates: received, resolved, and the supplement intervals."""

    def local(at: datetime) -> date:
        return at.astimezone(tz).date()

    waits = tuple((local(lower), local(upper)) for lower, upper in row["waits"])
    return local(row["received_at"]), local(row["ended_at"]), waits


def _offered(catalog: Catalog, scope: str, unit_code: str, filters: Filters, by: Grouping) -> frozenset[str]:
    """Rule 4: the online procedures handled at the unit's level or below it, under the filters."""
    if by == "agency":  # the agency filter does not restrict the offered procedures
        return _offered_by(catalog, unit_code, filters)
    if by == "procedure":
        return _offered_by(catalog, unit_code, replace(filters, procedure_code=scope))
    return _offered_by(catalog, scope, filters)


def _offered_by(catalog: Catalog, unit_code: str, filters: Filters) -> frozenset[str]:
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
