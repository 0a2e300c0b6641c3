"""KPI values from the store, exactly as DOMAIN.md §3 defines them (and kpi/reference.py computes).

``values`` answers for one unit with everything below it; ``children_values`` for each child
of a unit with everything below the child. Both read ``applications`` (the folded state of
every application) with the unit tree of ``ref_units`` and the catalog of ``ref_procedures``,
in one parametrised query: counts and numerators are SQL ``FILTER``s over the applications
received or resolved in the period, or open at ``t`` or now, most of them read from the rollups
(see below). One KPI needs a little Python at the edge: which online procedures a unit offers
(the catalog, rule 4).

Rules the SQL follows (see kpi/reference.py for the same choices in plain Python):

- "by t" is strictly before ``t``; late is strictly after the effective deadline;
- the effective deadline at ``x`` is ``due_at`` plus the supplement waiting time before
  ``least(x, ended_at)`` (``waited_before``, migration 0010), intervals cut at the end;
- an application is late at ``t`` with more than one supplement request before ``t``, or ended
  before ``t`` after its deadline, or open at ``t`` past it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row

from kpi.model import COUNTRY, Filters, KpiValue, Period
from kpi.registry import ratio
from refdata.model import Procedure, ReferenceData, Unit

Connection = psycopg.Connection[tuple[object, ...]]

DUE_SOON = timedelta(hours=24)
CHANNELS = ("online", "in_person", "postal")
AT_NOW = ("overdue_open", "due_soon_open")  # counted at now, whatever the period: the same in every bucket
LEVEL_RANK = {"province": 0, "district": 1, "commune": 2}
Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")
Breakdown = Literal["agency", "procedure"]
BREAKDOWNS: tuple[Breakdown, ...] = ("agency", "procedure")
Grouping = Literal["unit", "child", "agency", "procedure"]

# Grouping and buckets are parameters of one definition of the population: %(by)s 'unit': every
# unit below %(unit)s (itself included) answers as %(unit)s; 'child': each answers as the child of
# %(unit)s it lies under; 'agency' / 'procedure': by that code, within the subtree of %(unit)s.
# Buckets are the periods asked about, each with its start, end and evaluation time t (rule 2):
# one for ``values``, one per day/week/month for ``series``.
#
# What does not depend on t, and the final facts of applications that have ended, come from the
# rollups (migrations 0010, 0011): each bucket is read as pieces, whole years from rollup_yearly,
# whole months from rollup_monthly and the other days from rollup_daily (``_pieces``). When the
# data ends before the bucket does, as it does for every period up to today, the bucket may be
# read as if it ran on to the end of its month or year: fewer rows, same sums. Which reading
# applies is decided in the statement, by the last day of the rollups, in the same snapshot.
# The applications not settled by a bucket's t (open, or with
# something at or after t: ``settled_at``) are read one by one: their facts at t are added and
# their final facts, which the rollups counted, taken out. All in one statement, one snapshot.
# The country (%(unit)s = %(country)s) is the parent of the units that have none: the provinces.
_SCOPE = """
WITH RECURSIVE tree (code, scope) AS (
    SELECT code, CASE WHEN %(by)s = 'child' THEN NULL ELSE code END FROM ref_units WHERE code = %(unit)s
    UNION ALL
    SELECT code, CASE WHEN %(by)s = 'unit' THEN %(unit)s ELSE code END
      FROM ref_units WHERE %(unit)s = %(country)s AND parent_code IS NULL
    UNION ALL
    SELECT u.code, coalesce(t.scope, u.code) FROM ref_units u JOIN tree t ON u.parent_code = t.code
),
buckets (bucket, start, stop, t) AS (
    SELECT b.ordinal - 1, b.start, b.stop, b.t
      FROM unnest(%(starts)s::timestamptz[], %(stops)s::timestamptz[], %(ts)s::timestamptz[])
           WITH ORDINALITY AS b (start, stop, t, ordinal)
)"""

_FILTERS = """
       AND (%(agency)s::text IS NULL OR x.agency_code = %(agency)s)
       AND (%(procedure)s::text IS NULL OR x.procedure_code = %(procedure)s)
       AND (%(sector)s::text IS NULL OR p.sector = %(sector)s)
       AND (%(channel)s::text IS NULL OR x.channel = %(channel)s)"""

_GROUP = """CASE %(by)s WHEN 'agency' THEN x.agency_code WHEN 'procedure' THEN x.procedure_code
                   ELSE t.scope END"""

# An application's stored range, from its receipt to its settling (open: unbounded), is indexed
# (migration 0012): the applications a bucket reads are found by the overlap of that range with
# [t, stop], a superset of those received by t or in the bucket and not settled by t.
_SPAN = "tstzrange(x.received_at, x.settled_at, '[]')"
_APPS = (
    """
    SELECT """  # noqa: S608 - literal pieces joined, never input
    + _GROUP
    + """ AS scope,
           x.application_id, x.unit_code, x.agency_code, x.procedure_code, x.channel, x.received_at,
           x.due_at, x.ended_at, x.settled_at, x.end_kind, x.result, x.supplement_periods,
           x.supplement_requested_at, x.answered_waiting, x.answered_until, x.waiting_since,
           x.application_digitized_at, x.result_digitized_at, x.rating,
           coalesce(p.result_is_document, false) AS document
      FROM applications x
      JOIN tree t ON t.code = x.unit_code AND t.scope IS NOT NULL
      LEFT JOIN ref_procedures p ON p.code = x.procedure_code
     WHERE x.received_at IS NOT NULL"""
    + _FILTERS
)


def _overlapping(window: str) -> str:
    """The applications whose span overlaps ``window`` (an SQL range): what the index answers."""
    return _APPS + "\n       AND " + _SPAN + " && " + window


# Each bucket's applications not settled by its t: received by t or in the bucket.
_CHOSEN = (
    """,
chosen AS (
    SELECT b.*, a.*
      FROM buckets b, LATERAL ("""  # noqa: S608 - literal pieces joined, never input
    + _overlapping("tstzrange(b.t, greatest(b.t, b.stop), '[]')")
    + """) a
     WHERE ((a.received_at >= b.start AND a.received_at < b.stop) OR a.received_at < b.t)
       AND (a.ended_at IS NULL OR a.settled_at >= b.t)
)"""
)

# The bucket whose applications give the counts at now: the first whose t is now, if any.
_NOW_BUCKET = "(SELECT min(bucket) FROM buckets WHERE t = %(now)s)"
_FACTS = (
    ",\nfacts AS ("  # noqa: S608 - literal pieces joined, never input
    + """
    SELECT c.*,
           coalesce(c.received_at >= c.start AND c.received_at < c.stop, false) AS received_in,
           coalesce(c.received_at < c.t AND (c.ended_at IS NULL OR c.ended_at >= c.t), false) AS open_t,
           late_at(c.supplement_requested_at, c.due_at, c.ended_at, c.t, c.waited_t) AS late_t,
           c.bucket = """
    + _NOW_BUCKET
    + """ AS at_now,
           digitized_at(c.application_digitized_at, c.result_digitized_at, c.ended_at, c.end_kind, c.result,
                        c.t, c.document) AS digitized_t,
           -- the final facts, which the rollups counted for an ended application
           late_at(c.supplement_requested_at, c.due_at, c.ended_at, 'infinity',
                   waited_before(c.supplement_periods, c.answered_waiting, c.answered_until, c.waiting_since,
                                 c.ended_at)) AS late_final,
           digitized_at(c.application_digitized_at, c.result_digitized_at, c.ended_at, c.end_kind, c.result,
                        'infinity', c.document) AS digitized_final
      FROM (SELECT c.*,
                   waited_before(c.supplement_periods, c.answered_waiting, c.answered_until, c.waiting_since,
                                 least(c.t, c.ended_at)) AS waited_t
              FROM chosen c
            OFFSET 0) c
)"""
)


# Rule 3 at now, per application: its waiting so far, whether it is overdue or due within 24 h.
# (OFFSET 0 keeps the subquery whole, so that the waiting is computed once per application.)
def _open_at_now(source: str) -> str:
    return (
        """,
open_at_now AS (
    SELECT w.*, w.due_at + w.waited AS deadline_now,
           %(now)s - w.due_at > w.waited AS overdue,
           %(now)s - w.due_at <= w.waited AND %(due_soon)s - w.due_at >= w.waited AS due_soon
      FROM (SELECT c.*,
                   waited_before(c.supplement_periods, c.answered_waiting, c.answered_until, c.waiting_since,
                                 least(%(now)s, c.ended_at)) AS waited
              FROM ("""  # noqa: S608 - literal pieces joined, never input
        + source
        + """) c
             WHERE c.received_at < %(now)s AND (c.ended_at IS NULL OR c.ended_at >= %(now)s)
            OFFSET 0) w
)"""
    )


# Without one, the applications open at now are read for themselves.
_AT_NOW = _open_at_now(
    """SELECT a.* FROM ("""  # noqa: S608 - literal pieces joined, never input
    + _overlapping("tstzrange(%(now)s, %(now)s, '[]')")
    + """) a
                     WHERE NOT EXISTS (SELECT FROM buckets WHERE t = %(now)s)"""
)


COUNTS = (
    _SCOPE  # noqa: S608 - literal pieces joined, never input
    + """,
last_day AS (SELECT max(day) AS day FROM rollup_daily),
pieces (bucket, grain, first, upto) AS (
    SELECT p.bucket, p.grain, p.first, p.upto
      FROM last_day, unnest(%(piece_buckets)s::int[], %(piece_grains)s::text[], %(piece_firsts)s::date[],
                            %(piece_ends)s::date[], %(piece_edges)s::date[], %(piece_if_later)s::boolean[])
           AS p (bucket, grain, first, upto, edge, if_later)
     WHERE p.edge IS NULL OR coalesce(last_day.day >= p.edge, false) = p.if_later
),
rolled AS (
    SELECT p.bucket, r.* FROM pieces p JOIN rollup_daily r
        ON p.grain = 'day' AND r.day >= p.first AND r.day < p.upto
    UNION ALL
    SELECT p.bucket, r.* FROM pieces p JOIN rollup_monthly r
        ON p.grain = 'month' AND r.day >= p.first AND r.day < p.upto
    UNION ALL
    SELECT p.bucket, r.* FROM pieces p JOIN rollup_yearly r
        ON p.grain = 'year' AND r.day >= p.first AND r.day < p.upto
),
from_rollups AS (
    SELECT """
    + _GROUP
    + """ AS scope, x.bucket,
           sum(x.received) AS received,
           sum(x.received) FILTER (WHERE x.channel = 'online') AS received_online,
           sum(x.received) FILTER (WHERE x.channel = 'in_person') AS received_in_person,
           sum(x.received) FILTER (WHERE x.channel = 'postal') AS received_postal,
           sum(x.received_full_online) AS received_full_online,
           sum(x.settled_on_time) AS received_on_time,
           sum(x.settled_digitized) + coalesce(sum(x.settled_digitized_unless_document)
               FILTER (WHERE NOT coalesce(p.result_is_document, false)), 0) AS received_digitized,
           sum(x.received_reused) AS received_reused,
           sum(x.received_vneid) AS received_vneid,
           sum(x.received_with_fee) AS received_with_fee,
           sum(x.received_paid_online) AS received_paid_online,
           sum(x.settled_late_or_unsatisfied) AS received_late_or_unsatisfied,
           sum(x.resolved) AS resolved,
           sum(x.resolved) FILTER (WHERE x.channel = 'online') AS resolved_online,
           sum(x.resolved) FILTER (WHERE x.channel = 'in_person') AS resolved_in_person,
           sum(x.resolved) FILTER (WHERE x.channel = 'postal') AS resolved_postal,
           sum(x.resolved_approved) FILTER (WHERE p.result_is_document) AS resolved_document,
           sum(x.resolved_approved_e_result) FILTER (WHERE p.result_is_document)
               AS resolved_document_e_result,
           sum(x.processed) AS processed,
           sum(x.processing_days) AS processing_days,
           coalesce(array_agg(DISTINCT x.procedure_code)
                        FILTER (WHERE x.channel = 'online' AND x.received > 0), '{}') AS online_procedures
      FROM rolled x
      JOIN tree t ON t.code = x.unit_code AND t.scope IS NOT NULL
      LEFT JOIN ref_procedures p ON p.code = x.procedure_code
     WHERE true"""
    + _FILTERS
    + """
     GROUP BY 1, 2
)"""
    + _CHOSEN
    + _FACTS
    + _AT_NOW
    + """,
from_unsettled AS (
    SELECT scope, bucket,
           count(*) FILTER (WHERE received_in AND NOT late_t)
           - count(*) FILTER (WHERE received_in AND ended_at IS NOT NULL AND NOT late_final)
               AS adjust_received_on_time,
           count(*) FILTER (WHERE received_in AND digitized_t)
           - count(*) FILTER (WHERE received_in AND ended_at IS NOT NULL
                                AND digitized_final)
               AS adjust_received_digitized,
           count(*) FILTER (WHERE received_in AND (late_t OR coalesce(rating <= 2, false)))
           - count(*) FILTER (WHERE received_in AND ended_at IS NOT NULL
                                AND (late_final OR coalesce(rating <= 2, false)))
               AS adjust_received_late_or_unsatisfied,
           count(*) FILTER (WHERE open_t) AS open,
           count(*) FILTER (WHERE open_t AND channel = 'online') AS open_online,
           count(*) FILTER (WHERE open_t AND channel = 'in_person') AS open_in_person,
           count(*) FILTER (WHERE open_t AND channel = 'postal') AS open_postal,
           count(*) FILTER (WHERE open_t AND at_now AND %(now)s - due_at > waited_t) AS overdue_open,
           count(*) FILTER (WHERE open_t AND at_now AND %(now)s - due_at <= waited_t
                                  AND %(due_soon)s - due_at >= waited_t) AS due_soon_open
      FROM facts
     GROUP BY scope, bucket
),
at_now AS (
    SELECT scope AS now_scope, overdue_open, due_soon_open
      FROM from_unsettled WHERE bucket = """
    + _NOW_BUCKET
    + """
    UNION ALL
    SELECT scope,
           count(*) FILTER (WHERE overdue) AS overdue_open,
           count(*) FILTER (WHERE due_soon) AS due_soon_open
      FROM open_at_now
     GROUP BY scope
)
SELECT r.*, u.*, n.*, coalesce(r.scope, u.scope) AS scope, coalesce(r.bucket, u.bucket) AS bucket
  FROM from_rollups r
  FULL JOIN from_unsettled u ON u.scope = r.scope AND u.bucket = r.bucket
  FULL JOIN at_now n ON n.now_scope = coalesce(r.scope, u.scope)
"""
)


# Rule 3 at now: the open applications overdue or due within 24 h, most overdue first.
ACTIONS = (
    _SCOPE  # noqa: S608 - literal pieces joined, never input
    + _CHOSEN
    + _open_at_now("SELECT * FROM chosen")
    + """
SELECT application_id, unit_code, agency_code, procedure_code, received_at, due_at,
       deadline_now AS deadline,
       CASE WHEN overdue THEN 'overdue' ELSE 'due_soon' END AS status,
       waited
  FROM open_at_now
 WHERE overdue OR due_soon
 ORDER BY deadline_now, application_id
 LIMIT %(limit)s
"""
)

CHILDREN = """
SELECT code FROM ref_units
 WHERE parent_code = %(unit)s OR (%(unit)s = %(country)s AND parent_code IS NULL)
 ORDER BY code"""


@dataclass(frozen=True)
class Catalog:
    """What rule 4 needs from the reference data."""

    units: Mapping[str, Unit]
    procedures: Iterable[Procedure]

    @classmethod
    def of(cls, data: ReferenceData) -> Catalog:
        return cls({u.code: u for u in data.units}, data.procedures)


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
    found = bucket_values(conn, catalog, unit_code, chosen, now=now, tz=tz, filters=filters)
    return list(zip(chosen, found, strict=True))


def bucket_values(
    conn: Connection,
    catalog: Catalog,
    unit_code: str,
    periods: Sequence[Period],
    *,
    now: datetime,
    tz: tzinfo,
    filters: Filters = Filters(),
) -> list[dict[str, KpiValue]]:
    """``series`` for any periods (a series' buckets, or some of them), in their order."""
    if not periods:
        return []
    return _answer(conn, catalog, unit_code, periods, now=now, tz=tz, filters=filters, by="unit")[unit_code]


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
    with _quick(conn), conn.cursor(row_factory=dict_row) as cur:
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
            following = _next_month(start)
        found.append(Period(start, min(following, period.end)))
        start = following
    return found


@contextmanager
def _quick(conn: Connection) -> Iterator[None]:
    """A transaction set for these queries: no JIT (compiling would cost more than running them);
    a plan made for the parameters at hand even once psycopg has prepared the statement (a
    generic plan, blind to how many buckets and which unit, is several times slower); and room to
    aggregate in memory (the planner cannot tell how few groups there are, and would sort)."""
    with conn.transaction():
        conn.execute("SET LOCAL jit = off")
        conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        conn.execute("SET LOCAL work_mem = '64MB'")
        yield


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
        "country": COUNTRY,
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
    params = _params(unit_code, bounds, now=now, filters=filters, by=by) | _pieces(periods)
    counts: dict[tuple[str, int], dict[str, int | list[str]]] = {}
    at_now: dict[str, dict[str, Any]] = {}
    with _quick(conn), conn.cursor(row_factory=dict_row) as cur:
        for row in cur.execute(COUNTS, params):
            if row["scope"] is not None:
                counts[row["scope"], row["bucket"]] = _settle(row)
            if row["now_scope"] is not None:
                at_now[row["now_scope"]] = row
    if by == "child":
        scopes = [str(r[0]) for r in conn.execute(CHILDREN, {"unit": unit_code, "country": COUNTRY})]
    elif by == "unit":
        scopes = [unit_code]
    else:  # the codes that count anywhere: received or resolved in a bucket, open at its t or now
        counting = {scope for (scope, _), c in counts.items() if c["received"] or c["resolved"] or c["open"]}
        scopes = sorted(counting | set(at_now))
    return {
        scope: [
            _kpis(
                {**counts.get((scope, i), {}), **_now_counts(at_now.get(scope, {}))},
                _offered(catalog, scope, unit_code, filters, by),
            )
            for i in range(len(periods))
        ]
        for scope in scopes
    }


def _settle(row: Mapping[str, Any]) -> dict[str, int | list[str]]:
    """A group's counts: the rollups' plus the adjustments for the applications not settled at t."""
    counts: dict[str, int | list[str]] = {"online_procedures": list(row["online_procedures"] or ())}
    for name, value in row.items():
        if name.startswith("adjust_"):
            base = name.removeprefix("adjust_")
            counts[base] = int(row[base] or 0) + int(value or 0)
        elif name not in counts and name not in ("scope", "bucket", "now_scope"):
            counts.setdefault(name, int(value or 0))
    return counts


def _pieces(periods: Sequence[Period]) -> dict[str, list[Any]]:
    """Each period as rollup ranges, and, when they are fewer rows, as ranges to the end of its
    month or year, each set marked for the statement to choose: the first if there is data from
    the period's end on, the second if there is none."""
    found: list[tuple[int, RollupGrain, date, date, date | None, bool]] = []
    for bucket, period in enumerate(periods):
        exact = _cover(period.start, period.end)
        wider = min(
            (_cover(period.start, end) for end in _ceilings(period.end) if end > period.end),
            key=_rows,
            default=exact,
        )
        if _rows(wider) < _rows(exact):
            found += [(bucket, *piece, period.end, True) for piece in exact]
            found += [(bucket, *piece, period.end, False) for piece in wider]
        else:
            found += [(bucket, *piece, None, False) for piece in exact]
    columns = list(zip(*found, strict=True)) or [()] * 6
    names = ("piece_buckets", "piece_grains", "piece_firsts", "piece_ends", "piece_edges", "piece_if_later")
    return {name: list(column) for name, column in zip(names, columns, strict=True)}


RollupGrain = Literal["day", "month", "year"]
Piece = tuple[RollupGrain, date, date]
# Rows per day, month or year of rollup, relative: a month has about twice the keys of a day,
# a year few more than a month (measured on the simulated province).
_ROWS_PER = {"day": 1, "month": 2, "year": 2}


def _cover(start: date, end: date) -> list[Piece]:
    """[start, end) as ranges of whole years, whole months and days, greedily the largest."""
    found: list[Piece] = []
    day = start
    while day < end:
        grain: RollupGrain
        if (day.month, day.day) == (1, 1) and _next_year(day) <= end:
            grain, following = "year", _next_year(day)
        elif day.day == 1 and _next_month(day) <= end:
            grain, following = "month", _next_month(day)
        else:
            grain, following = "day", day + timedelta(days=1)
        if found and found[-1][0] == grain and found[-1][2] == day:
            found[-1] = (grain, found[-1][1], following)
        else:
            found.append((grain, day, following))
        day = following
    return found


def _ceilings(end: date) -> tuple[date, date]:
    """The first day of the month and of the year at or after ``end``."""
    last = end - timedelta(days=1)
    return _next_month(last), _next_year(last)


def _rows(pieces: Sequence[Piece]) -> int:
    def units(grain: RollupGrain, first: date, upto: date) -> int:
        if grain == "day":
            return (upto - first).days
        months = (upto.year - first.year) * 12 + upto.month - first.month
        return months if grain == "month" else months // 12

    return sum(_ROWS_PER[grain] * units(grain, first, upto) for grain, first, upto in pieces)


def _next_year(day: date) -> date:
    return date(day.year + 1, 1, 1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _now_counts(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row.get(name, 0) for name in AT_NOW}


def _offered(catalog: Catalog, scope: str, unit_code: str, filters: Filters, by: Grouping) -> frozenset[str]:
    """Rule 4: the online procedures handled at the unit's level or below it, under the filters."""
    if by == "agency":  # the agency filter does not restrict the offered procedures
        return _offered_by(catalog, unit_code, filters)
    if by == "procedure":
        return _offered_by(catalog, unit_code, replace(filters, procedure_code=scope))
    return _offered_by(catalog, scope, filters)


def _offered_by(catalog: Catalog, unit_code: str, filters: Filters) -> frozenset[str]:
    rank = -1 if unit_code == COUNTRY else LEVEL_RANK[catalog.units[unit_code].level]
    return frozenset(
        p.code
        for p in catalog.procedures
        if p.online_level in ("full", "partial")
        and LEVEL_RANK[p.level] >= rank
        and filters.procedure_code in (None, p.code)
        and filters.sector in (None, p.sector)
    )


def _kpis(counts: Mapping[str, Any], offered: frozenset[str]) -> dict[str, KpiValue]:
    def n(name: str) -> int:
        return int(counts.get(name) or 0)

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
        of("avg_processing_days", n("processing_days"), n("processed")),
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
