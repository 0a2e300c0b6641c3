"""Daily rollups (per local day, unit, agency and procedure), computed from ``applications``.

One query, ``COMPUTE``, gives the rollup rows of a set of keys from the current
``applications``. Ingest runs it for the keys a batch touched (old and new keys of
every application it changed) and replaces those rows; run for every key it is the
from-scratch computation the rollups must always equal.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import psycopg

RollupKey = tuple[date, str, str, str]  # day, unit_code, agency_code, procedure_code

COUNTERS = (
    "received",
    "received_online",
    "received_full_online",
    "received_vneid",
    "received_reused",
    "received_digitized",
    "received_with_fee",
    "received_paid_online",
    "received_unsatisfied",
    "resolved",
    "resolved_online",
    "resolved_approved",
    "resolved_refused",
    "resolved_not_accepted",
    "resolved_stopped",
    "resolved_e_result",
    "withdrawn",
)

_KEYS = """
keys AS (
    SELECT DISTINCT day, unit_code, agency_code, procedure_code
      FROM unnest(%(days)s::date[], %(units)s::text[], %(agencies)s::text[], %(procedures)s::text[])
           AS k(day, unit_code, agency_code, procedure_code)
)"""

# The queries share their ``keys`` CTE: literal pieces joined, never input.
COMPUTE = (
    "WITH"  # noqa: S608
    + _KEYS
    + """,
contributions AS (
    SELECT a.received_day AS day, a.unit_code, a.agency_code, a.procedure_code,
           1 AS received,
           coalesce(a.channel = 'online', false)::int AS received_online,
           coalesce(a.channel = 'online' AND a.online_level = 'full', false)::int AS received_full_online,
           coalesce(a.vneid_authenticated, false)::int AS received_vneid,
           coalesce(a.reused_data, false)::int AS received_reused,
           (a.application_digitized_at IS NOT NULL)::int AS received_digitized,
           (a.paid_vnd > 0)::int AS received_with_fee,
           (a.paid_vnd > 0 AND a.paid_online)::int AS received_paid_online,
           coalesce(a.rating <= 2, false)::int AS received_unsatisfied,
           0 AS resolved, 0 AS resolved_online, 0 AS resolved_approved, 0 AS resolved_refused,
           0 AS resolved_not_accepted, 0 AS resolved_stopped, 0 AS resolved_e_result, 0 AS withdrawn
      FROM applications a
      JOIN keys k ON (a.received_day, a.unit_code, a.agency_code, a.procedure_code)
                   = (k.day, k.unit_code, k.agency_code, k.procedure_code)
    UNION ALL
    SELECT a.resolved_day, a.unit_code, a.agency_code, a.procedure_code,
           0, 0, 0, 0, 0, 0, 0, 0, 0,
           1,
           coalesce(a.channel = 'online', false)::int,
           (a.result = 'approved')::int,
           (a.result = 'refused')::int,
           (a.result = 'not_accepted')::int,
           (a.result = 'stopped')::int,
           coalesce(a.e_result, false)::int,
           0
      FROM applications a
      JOIN keys k ON (a.resolved_day, a.unit_code, a.agency_code, a.procedure_code)
                   = (k.day, k.unit_code, k.agency_code, k.procedure_code)
    UNION ALL
    SELECT a.withdrawn_day, a.unit_code, a.agency_code, a.procedure_code,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           1
      FROM applications a
      JOIN keys k ON (a.withdrawn_day, a.unit_code, a.agency_code, a.procedure_code)
                   = (k.day, k.unit_code, k.agency_code, k.procedure_code)
)
SELECT day, unit_code, agency_code, procedure_code,
       sum(received)::int, sum(received_online)::int, sum(received_full_online)::int,
       sum(received_vneid)::int, sum(received_reused)::int, sum(received_digitized)::int,
       sum(received_with_fee)::int, sum(received_paid_online)::int, sum(received_unsatisfied)::int,
       sum(resolved)::int, sum(resolved_online)::int, sum(resolved_approved)::int,
       sum(resolved_refused)::int, sum(resolved_not_accepted)::int, sum(resolved_stopped)::int,
       sum(resolved_e_result)::int, sum(withdrawn)::int
  FROM contributions
 GROUP BY day, unit_code, agency_code, procedure_code
"""
)

DELETE = (
    "WITH"
    + _KEYS
    + """
DELETE FROM rollup_daily r USING keys k
 WHERE (r.day, r.unit_code, r.agency_code, r.procedure_code)
     = (k.day, k.unit_code, k.agency_code, k.procedure_code)
"""
)

REPLACE = (
    """
INSERT INTO rollup_daily (
    day, unit_code, agency_code, procedure_code,
    received, received_online, received_full_online, received_vneid, received_reused,
    received_digitized, received_with_fee, received_paid_online, received_unsatisfied,
    resolved, resolved_online, resolved_approved, resolved_refused, resolved_not_accepted,
    resolved_stopped, resolved_e_result, withdrawn)
"""
    + COMPUTE
)

ALL_KEYS = """
SELECT received_day, unit_code, agency_code, procedure_code FROM applications WHERE received_day IS NOT NULL
UNION
SELECT resolved_day, unit_code, agency_code, procedure_code FROM applications WHERE resolved_day IS NOT NULL
UNION
SELECT withdrawn_day, unit_code, agency_code, procedure_code FROM applications WHERE withdrawn_day IS NOT NULL
"""


def _params(keys: Iterable[RollupKey]) -> dict[str, list[object]]:
    ordered = sorted(set(keys))
    return {
        "days": [k[0] for k in ordered],
        "units": [k[1] for k in ordered],
        "agencies": [k[2] for k in ordered],
        "procedures": [k[3] for k in ordered],
    }


def refresh(conn: psycopg.Connection[tuple[object, ...]], keys: Iterable[RollupKey]) -> int:
    """Replace the rollup rows of ``keys`` by their computation from ``applications``.

    Call inside the batch's transaction, after locking the keys; returns rows written.
    """
    params = _params(keys)
    if not params["days"]:
        return 0
    conn.execute(DELETE, params)
    return conn.execute(REPLACE, params).rowcount


def compute_all(conn: psycopg.Connection[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Every rollup row computed from scratch, ordered by key (the invariant's reference)."""
    keys = [(r[0], r[1], r[2], r[3]) for r in conn.execute(ALL_KEYS).fetchall()]
    rows = conn.execute(COMPUTE, _params(keys)).fetchall()  # type: ignore[arg-type]
    return sorted(rows, key=lambda r: tuple(str(v) for v in r[:4]))
